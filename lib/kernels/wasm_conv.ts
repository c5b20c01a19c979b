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
 * import { useNativeConvolutions } from "./wasm_conv.ts";
 * useNativeConvolutions(2);
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";
import { MAX_FILTER_TAPS, type NativeConvGeometry, NativeKernels } from "./native/engine.ts";
import { pair } from "./conv_backprop.ts";

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
 * import { useNativeConvolutions } from "./wasm_conv.ts";
 * useNativeConvolutions(0); // XNNPACK and the forward-convolution gradients
 * ```
 */
export function useNativeConvolutions(threads: number): void {
  if (threads === 0) {
    engine = undefined;
    return;
  }
  if (engine?.threads !== threads) engine = new NativeKernels(threads);
}

/**
 * Threads our convolution kernels run on, 0 when they are off.
 *
 * @example
 * ```ts
 * import { nativeConvolutionThreads } from "./wasm_conv.ts";
 * console.log(nativeConvolutionThreads() >= 0); // true
 * ```
 */
export function nativeConvolutionThreads(): number {
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
export function nativeConv2D(
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

/** Conv2DBackpropFilter on our kernels, or `undefined` as for {@linkcode nativeConv2D}. */
export function nativeConv2DFilterGrad(
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

/** Conv2DBackpropInput on our kernels, or `undefined` as for {@linkcode nativeConv2D}. */
export function nativeConv2DInputGrad(
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
