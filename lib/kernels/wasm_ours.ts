/**
 * The wasm backend's convolutions on our own kernels (`native/conv.c`:
 * implicit GEMM with fused multiply-add, on a thread pool of our own):
 * Conv2D, and its filter and input gradients, dilated or not. XNNPACK, which
 * tfjs uses, multiplies and adds separately and has no gradient kernels; ours
 * run the forward convolution 1.5–2× and the gradients 2–4× faster on the
 * machines we measured (docs/speed.md).
 *
 * Shapes the kernels do not take (more than {@linkcode MAX_FILTER_TAPS}
 * filter taps, another data format or dtype) go to the kernels registered
 * before ours.
 *
 * @example Switching them on for a 2-thread pool
 * ```ts ignore
 * import { useOurKernels } from "./wasm_ours.ts";
 * useOurKernels(2);
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";
import { MAX_FILTER_TAPS, type NativeConvGeometry, NativeKernels } from "./native/engine.ts";
import { pair } from "./conv_backprop.ts";
import { markHalfPixelResizeGrad, resizeRatio } from "./resize_gradient.ts";

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

/** The members of tfjs's wasm backend these kernels use. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: string): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
}

let engine: NativeKernels | undefined;

/**
 * Routes the wasm backend's convolutions to our kernels on `threads` threads
 * (1–8; the calling thread is one), or back to tfjs's with 0.
 *
 * @example
 * ```ts ignore
 * import { useOurKernels } from "./wasm_ours.ts";
 * useOurKernels(0); // XNNPACK and the forward-convolution gradients
 * ```
 */
export function useOurKernels(threads: number): void {
  if (threads === 0) {
    engine = undefined;
  } else if (engine?.threads !== threads) {
    engine = new NativeKernels(threads);
  }
  markHalfPixelResizeGrad("wasm", engine !== undefined);
}

/**
 * Threads our convolution kernels run on, 0 when they are off.
 *
 * @example
 * ```ts
 * import { ourKernelThreads } from "./wasm_ours.ts";
 * console.log(ourKernelThreads() >= 0); // true
 * ```
 */
export function ourKernelThreads(): number {
  return engine?.threads ?? 0;
}

function nativeGeometry(
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: Attrs,
): NativeConvGeometry | undefined {
  if (((attrs.dataFormat as string | undefined) ?? "NHWC") !== "NHWC") return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    pair(attrs.strides),
    pair(attrs.dilations),
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
  );
  if (info.filterHeight * info.filterWidth > MAX_FILTER_TAPS) return undefined;
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    padBefore: [info.padInfo.top, info.padInfo.left],
  };
}

function floats(heap: WasmHeap, info: Info): Float32Array {
  return heap.typedArrayFromHeap(info) as Float32Array;
}

function output(heap: WasmHeap, shape: number[], compute: () => Float32Array): Info {
  const out = heap.makeOutput(shape, "float32");
  // The engine's result is a view into its own memory; tfjs's heap view is
  // taken after makeOutput, which may grow (and so detach) that heap.
  floats(heap, out).set(compute());
  return out;
}

/**
 * Conv2D on our kernels, or `undefined` when they are off or do not take
 * this call.
 */
export function ourConv2D(
  heap: WasmHeap,
  x: Info,
  filter: Info,
  attrs: Attrs,
): Info | undefined {
  if (!engine || x.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  const g = nativeGeometry(x.shape, filter.shape, attrs);
  if (!g) return undefined;
  const run = engine;
  return output(
    heap,
    [g.batch, g.outHeight, g.outWidth, g.outChannels],
    () => run.conv2d(floats(heap, x), floats(heap, filter), g),
  );
}

/** Conv2DBackpropFilter on our kernels, or `undefined` as for {@linkcode ourConv2D}. */
export function ourConv2DFilterGrad(
  heap: WasmHeap,
  x: Info,
  dy: Info,
  attrs: Attrs,
): Info | undefined {
  if (!engine || x.dtype !== "float32" || dy.dtype !== "float32") return undefined;
  const filterShape = attrs.filterShape as number[];
  const g = nativeGeometry(x.shape, filterShape, attrs);
  if (!g) return undefined;
  const run = engine;
  return output(
    heap,
    [...filterShape],
    () => run.conv2dFilterGrad(floats(heap, x), floats(heap, dy), g),
  );
}

/** Conv2DBackpropInput on our kernels, or `undefined` as for {@linkcode ourConv2D}. */
export function ourConv2DInputGrad(
  heap: WasmHeap,
  dy: Info,
  filter: Info,
  attrs: Attrs,
): Info | undefined {
  if (!engine || dy.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  const inputShape = attrs.inputShape as number[];
  const g = nativeGeometry(inputShape, filter.shape, attrs);
  if (!g) return undefined;
  const run = engine;
  return output(
    heap,
    [...inputShape],
    () => run.conv2dInputGrad(floats(heap, dy), floats(heap, filter), g),
  );
}

/** Below this many elements tfjs's own elementwise kernels are as quick. */
const ELEMENTWISE_MIN = 4096;

const size = (info: Info) => info.shape.reduce((a, b) => a * b, 1);

function elementwise(x: Info): NativeKernels | undefined {
  return engine && x.dtype === "float32" && size(x) >= ELEMENTWISE_MIN ? engine : undefined;
}

/** Exp on our kernels, or `undefined` when they are off or do not take this call. */
export function ourExp(heap: WasmHeap, x: Info): Info | undefined {
  const run = elementwise(x);
  if (!run) return undefined;
  return output(heap, [...x.shape], () => run.exp(floats(heap, x)));
}

/** LeakyRelu on our kernels, or `undefined` as for {@linkcode ourExp}. */
export function ourLeakyRelu(heap: WasmHeap, x: Info, attrs: Attrs): Info | undefined {
  const run = elementwise(x);
  if (!run) return undefined;
  const alpha = attrs.alpha as number;
  return output(heap, [...x.shape], () => run.leakyRelu(floats(heap, x), alpha));
}

/**
 * Greater on our kernels for a float32 tensor against one of its shape or a
 * scalar, or `undefined` as for {@linkcode ourExp}.
 */
export function ourGreater(heap: WasmHeap, a: Info, b: Info): Info | undefined {
  const run = elementwise(a);
  if (!run || b.dtype !== "float32") return undefined;
  const sameShape = b.shape.length === a.shape.length && b.shape.every((d, i) => d === a.shape[i]);
  if (!sameShape && size(b) !== 1) return undefined;
  const out = heap.makeOutput([...a.shape], "bool");
  heap.typedArrayFromHeap(out).set(run.greater(floats(heap, a), floats(heap, b)));
  return out;
}

/** Select on our kernels when all three have one shape, or `undefined` as for {@linkcode ourExp}. */
export function ourSelect(heap: WasmHeap, condition: Info, t: Info, e: Info): Info | undefined {
  const run = elementwise(t);
  if (!run || e.dtype !== "float32" || condition.dtype !== "bool") return undefined;
  const same = (x: Info) =>
    x.shape.length === t.shape.length && x.shape.every((d, i) => d === t.shape[i]);
  if (!same(condition) || !same(e)) return undefined;
  return output(heap, [...t.shape], () =>
    run.select(
      heap.typedArrayFromHeap(condition) as Uint8Array,
      floats(heap, t),
      floats(heap, e),
    ));
}

/**
 * Sum over leading axes (as a bias gradient sums over batch, rows and
 * columns) on our kernels, or `undefined` as for {@linkcode ourExp}. tfjs's
 * wasm Sum transposes the reduced axes to the end first.
 */
export function ourSum(heap: WasmHeap, x: Info, attrs: Attrs): Info | undefined {
  const run = elementwise(x);
  if (!run) return undefined;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) =>
    a - b
  );
  if (axes.length === 0 || axes.some((axis, i) => axis !== i)) return undefined;
  const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
  const kept = x.shape.slice(axes.length);
  const cols = kept.reduce((a, b) => a * b, 1);
  const shape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
  return output(heap, shape, () => run.sumRows(floats(heap, x), rows, cols));
}

/**
 * ResizeBilinearGrad on our kernels, half-pixel centres included (tfjs's
 * ignores them), or `undefined` when they are off or do not take this call.
 */
export function ourResizeBilinearGrad(
  heap: WasmHeap,
  dy: Info,
  images: Info,
  attrs: Attrs,
): Info | undefined {
  if (!engine || dy.dtype !== "float32") return undefined;
  const run = engine;
  const [, ih, iw] = images.shape;
  const [, oh, ow] = dy.shape;
  const alignCorners = attrs.alignCorners as boolean;
  const ratio = [resizeRatio(ih, oh, alignCorners), resizeRatio(iw, ow, alignCorners)] as const;
  return output(heap, [...images.shape], () =>
    run.resizeBilinearGrad(
      floats(heap, dy),
      dy.shape,
      ih,
      iw,
      ratio,
      Boolean(attrs.halfPixelCenters),
    ));
}
