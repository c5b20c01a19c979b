/**
 * The wasm backend's hot kernels on our own code (`native/`): Conv2D and its
 * filter and input gradients, dilated or not (implicit GEMM with fused
 * multiply-add, on a thread pool of our own; XNNPACK, which tfjs uses,
 * multiplies and adds separately and has no gradient kernels), Softmax and
 * the fused kernels of `fused.ts` (softmax's row by row, on the same pool),
 * which this module registers on wasm while our kernels are on, and Exp,
 * LeakyRelu, Greater, Select, Sum and Mean over leading axes, MaxPoolGrad and
 * ResizeBilinearGrad (vectorised or simply direct; tfjs's are scalar loops,
 * its Sum and Mean transpose first, and its ResizeBilinearGrad ignores
 * half-pixel centres).
 *
 * When tfjs runs its threaded build, whose heap is a shared memory, the
 * kernels read and write tensors where they lie in that heap; otherwise they
 * copy operands into a memory of their own and results back.
 *
 * Calls the kernels do not take (more than {@linkcode MAX_FILTER_TAPS} filter
 * taps, another data format or dtype, small elementwise calls) go to tfjs's
 * kernels.
 *
 * Which tfjs kernel each stands in for, and what runs where it declines, is
 * the table of `wasm_registry.ts`.
 *
 * @example Starting the engine on a 2-thread pool
 * ```ts ignore
 * import { startEngine } from "./native_adapters.ts";
 * startEngine(2);
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  type Activation,
  MAX_FILTER_TAPS,
  MAX_SOFTMAX_CLASSES,
  type NativeConvGeometry,
  NativeKernels,
  type PoolGeometry,
} from "./native/engine.ts";
import type { Operand, SharedHeap } from "./native/workspace.ts";
import { convInfo } from "./conv_backprop.ts";
import {
  ADAM,
  BATCH_NORM,
  BATCH_NORM_GRAD,
  CONV_BIAS_ACTIVATION,
  DEPTHWISE_BIAS_ACTIVATION,
  LEAKY_RELU_GRAD,
  RELU6_GRAD,
  RELU_GRAD,
  SOFTMAX_GRAD,
  SPARSE_SOFTMAX_CROSS_ENTROPY,
  SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD,
} from "./fused.ts";
import { resizeRatio } from "./resize_gradient.ts";

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

/** The members of tfjs's wasm backend these kernels use. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: string): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

let engine: NativeKernels | undefined;

/**
 * Starts the engine our kernels run on, with `threads` threads (1–8; the
 * calling thread is one), working in `heap` (tfjs's, when shared) or in a
 * memory of their own; 0 threads stops it. Only the engine: `useOurKernels`
 * (`wasm_registry.ts`) also registers and unregisters the kernels that exist
 * only while it runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nativeKernelThreads, startEngine } from "./native_adapters.ts";
 * const before = nativeKernelThreads();
 * startEngine(0);
 * assert.deepEqual(nativeKernelThreads(), 0);
 * if (before > 0) startEngine(before);
 * ```
 */
export function startEngine(threads: number, heap?: SharedHeap): void {
  if (threads === 0) {
    engine = undefined;
  } else if (engine?.threads !== threads || engine.sharesHeap !== (heap !== undefined)) {
    engine = new NativeKernels(threads, heap);
  }
}

/**
 * Threads our kernels run on, 0 when they are off.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nativeKernelThreads } from "./native_adapters.ts";
 * assert.deepEqual(nativeKernelThreads() >= 0, true);
 * ```
 */
export function nativeKernelThreads(): number {
  return engine?.threads ?? 0;
}

/**
 * Jobs our kernels have split over more than the calling thread since they
 * were last switched on (0 when off).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nativeKernelSharedJobs } from "./native_adapters.ts";
 * assert.deepEqual(nativeKernelSharedJobs() >= 0, true);
 * ```
 */
export function nativeKernelSharedJobs(): number {
  return engine?.sharedJobs ?? 0;
}

/**
 * Our kernels' setting: threads (0 when off) and tfjs's heap when they work
 * in it (no copies), as `useOurKernels` (`wasm_registry.ts`) takes them.
 *
 * @example
 * ```ts
 * import { nativeKernelSetting } from "./native_adapters.ts";
 * const { threads, heap } = nativeKernelSetting();
 * console.log(threads >= 0, heap === undefined || heap.memory instanceof WebAssembly.Memory);
 * ```
 */
export function nativeKernelSetting(): { threads: number; heap?: SharedHeap } {
  return { threads: engine?.threads ?? 0, heap: engine?.heap };
}

function nativeGeometry(
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: Attrs,
  depthwise = false,
): NativeConvGeometry | undefined {
  if (((attrs.dataFormat as string | undefined) ?? "NHWC") !== "NHWC") return undefined;
  // Depthwise kernels take a channel multiplier of 1 only.
  if (depthwise && (filterShape.length !== 4 || filterShape[3] !== 1)) return undefined;
  const info = convInfo(inputShape, filterShape, attrs, depthwise);
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

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A tensor as an operand: where it lies in tfjs's heap, or its values. */
function operand(heap: WasmHeap, run: NativeKernels, info: Info): Operand {
  if (run.sharesHeap) return { at: heap.dataIdMap.get(info.dataId)!.memoryOffset };
  return heap.typedArrayFromHeap(info) as Float32Array | Uint8Array;
}

/**
 * A new tfjs tensor computed by `compute`: written in place when the engine
 * shares tfjs's heap, else copied from the engine's result.
 */
function output(
  heap: WasmHeap,
  run: NativeKernels,
  shape: number[],
  dtype: "float32" | "bool",
  compute: (out?: number) => Float32Array | Uint8Array,
): Info {
  const out = heap.makeOutput(shape, dtype);
  // Operands are taken after makeOutput, which may grow (and so detach)
  // tfjs's heap.
  if (run.sharesHeap) compute(heap.dataIdMap.get(out.dataId)!.memoryOffset);
  else heap.typedArrayFromHeap(out).set(compute());
  return out;
}

/**
 * New float32 tfjs tensors of `shapes` computed together by `compute`, as
 * {@linkcode output} makes one: `compute` gets their offsets when the engine
 * shares tfjs's heap (and writes in place), else nothing (and its results
 * are copied in).
 */
function outputs(
  heap: WasmHeap,
  run: NativeKernels,
  shapes: number[][],
  compute: (at?: number[]) => Float32Array[],
): Info[] {
  const outs = shapes.map((shape) => heap.makeOutput(shape, "float32"));
  // Offsets are taken after every makeOutput (any may grow the heap).
  if (run.sharesHeap) {
    compute(outs.map((o) => heap.dataIdMap.get(o.dataId)!.memoryOffset));
  } else {
    compute().forEach((values, i) => heap.typedArrayFromHeap(outs[i]).set(values));
  }
  return outs;
}

/** A convolution's forward pass, or one of its two gradients. */
type ConvRole = "forward" | "inputGrad" | "filterGrad";

/**
 * Conv2D, DepthwiseConv2dNative (channel multiplier 1) or one of their
 * gradients on our kernels: the result, or `undefined` when they are off or
 * do not take this call. The forward pass reads x and filter, the input
 * gradient dy and filter (x's shape from `inputShape`), the filter gradient
 * x and dy (the filter's shape from `filterShape`).
 */
function convolution(role: ConvRole, depthwise: boolean): OurKernel {
  return (heap, inputs, attrs) => {
    const run = engine;
    const [a, b] = role === "forward"
      ? [inputs.x, inputs.filter]
      : role === "inputGrad"
      ? [inputs.dy, inputs.filter]
      : [inputs.x, inputs.dy];
    if (!run || a.dtype !== "float32" || b.dtype !== "float32") return undefined;
    const inputShape = role === "inputGrad" ? attrs.inputShape as number[] : a.shape;
    const filterShape = role === "filterGrad" ? attrs.filterShape as number[] : b.shape;
    const g = nativeGeometry(inputShape, filterShape, attrs, depthwise);
    if (!g) return undefined;
    const shape = role === "forward"
      ? [g.batch, g.outHeight, g.outWidth, g.outChannels]
      : [...(role === "inputGrad" ? inputShape : filterShape)];
    return output(heap, run, shape, "float32", (out) => {
      const [first, second] = [operand(heap, run, a), operand(heap, run, b)];
      switch (role) {
        case "forward":
          return depthwise
            ? run.depthwise(first, second, g, out)
            : run.conv2d(first, second, g, out);
        case "inputGrad":
          return depthwise
            ? run.depthwiseInputGrad(first, second, g, out)
            : run.conv2dInputGrad(first, second, g, out);
        case "filterGrad":
          return depthwise
            ? run.depthwiseFilterGrad(first, second, g, out)
            : run.conv2dFilterGrad(first, second, g, out);
      }
    });
  };
}

/** Below this many elements tfjs's own elementwise kernels are as quick. */
const ELEMENTWISE_MIN = 4096;

function elementwise(x: Info): NativeKernels | undefined {
  return engine && x.dtype === "float32" && size(x.shape) >= ELEMENTWISE_MIN ? engine : undefined;
}

/** Exp on our kernels, or `undefined` when they are off or do not take this call. */
function ourExp(heap: WasmHeap, x: Info): Info | undefined {
  const run = elementwise(x);
  if (!run) return undefined;
  return output(
    heap,
    run,
    [...x.shape],
    "float32",
    (out) => run.exp(operand(heap, run, x), size(x.shape), out),
  );
}

/** LeakyRelu on our kernels, or `undefined` as for `ourExp`. */
function ourLeakyRelu(heap: WasmHeap, x: Info, attrs: Attrs): Info | undefined {
  const run = elementwise(x);
  if (!run) return undefined;
  const alpha = attrs.alpha as number;
  return output(
    heap,
    run,
    [...x.shape],
    "float32",
    (out) => run.leakyRelu(operand(heap, run, x), size(x.shape), alpha, out),
  );
}

const sameShape = (a: Info, b: Info) =>
  a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/**
 * Greater on our kernels for a float32 tensor against one of its shape or a
 * scalar, or `undefined` as for `ourExp`.
 */
function ourGreater(heap: WasmHeap, a: Info, b: Info): Info | undefined {
  const run = elementwise(a);
  if (!run || b.dtype !== "float32") return undefined;
  const scalar = size(b.shape) === 1;
  if (!sameShape(a, b) && !scalar) return undefined;
  return output(
    heap,
    run,
    [...a.shape],
    "bool",
    (out) => run.greater(operand(heap, run, a), operand(heap, run, b), size(a.shape), scalar, out),
  );
}

/** Select on our kernels when all three have one shape, or `undefined` as for `ourExp`. */
function ourSelect(heap: WasmHeap, condition: Info, t: Info, e: Info): Info | undefined {
  const run = elementwise(t);
  if (!run || e.dtype !== "float32" || condition.dtype !== "bool") return undefined;
  if (!sameShape(condition, t) || !sameShape(e, t)) return undefined;
  return output(
    heap,
    run,
    [...t.shape],
    "float32",
    (out) =>
      run.select(
        operand(heap, run, condition),
        operand(heap, run, t),
        operand(heap, run, e),
        size(t.shape),
        out,
      ),
  );
}

/**
 * Sum over leading axes (as a bias gradient sums over batch, rows and
 * columns) on our kernels, or `undefined` as for `ourExp`. tfjs's
 * wasm Sum transposes the reduced axes to the end first.
 */
function ourSum(heap: WasmHeap, x: Info, attrs: Attrs): Info | undefined {
  return sumOrMean(heap, x, attrs, false);
}

/** Mean over leading axes on our kernels (batch norm's statistics), or `undefined` as for `ourExp`. */
function ourMean(heap: WasmHeap, x: Info, attrs: Attrs): Info | undefined {
  return sumOrMean(heap, x, attrs, true);
}

function sumOrMean(heap: WasmHeap, x: Info, attrs: Attrs, mean: boolean): Info | undefined {
  const run = elementwise(x);
  if (!run) return undefined;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape)
    .sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((axis, i) => axis !== i)) return undefined;
  const rows = size(x.shape.slice(0, axes.length));
  const kept = x.shape.slice(axes.length);
  const shape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
  return output(
    heap,
    run,
    shape,
    "float32",
    (out) => run.sumRows(operand(heap, run, x), rows, size(kept), mean, out),
  );
}

/**
 * ResizeBilinearGrad on our kernels, half-pixel centres included (tfjs's
 * ignores them), or `undefined` when they are off or do not take this call.
 */
function ourResizeBilinearGrad(
  heap: WasmHeap,
  dy: Info,
  images: Info,
  attrs: Attrs,
): Info | undefined {
  const run = engine;
  if (!run || dy.dtype !== "float32") return undefined;
  const [, ih, iw] = images.shape;
  const [, oh, ow] = dy.shape;
  const alignCorners = attrs.alignCorners as boolean;
  const ratio = [resizeRatio(ih, oh, alignCorners), resizeRatio(iw, ow, alignCorners)] as const;
  return output(heap, run, [...images.shape], "float32", (out) =>
    run.resizeBilinearGrad(
      operand(heap, run, dy),
      dy.shape,
      ih,
      iw,
      ratio,
      Boolean(attrs.halfPixelCenters),
      out,
    ));
}

/** MaxPoolGrad on our kernels (NHWC), or `undefined` as for `convolution`. */
function ourMaxPoolGrad(
  heap: WasmHeap,
  dy: Info,
  input: Info,
  attrs: Attrs,
): Info | undefined {
  const run = engine;
  if (!run || dy.dtype !== "float32" || input.dtype !== "float32") return undefined;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
  );
  const g: PoolGeometry = {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    channels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterSize: [info.effectiveFilterHeight, info.effectiveFilterWidth],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    padBefore: [info.padInfo.top, info.padInfo.left],
  };
  return output(
    heap,
    run,
    [...input.shape],
    "float32",
    (out) => run.maxPoolGrad(operand(heap, run, input), operand(heap, run, dy), g, out),
  );
}

/** Rows and classes of a float32 tensor for the row-wise kernels, or `undefined`. */
function rowsOf(x: Info): [number, number] | undefined {
  const classes = x.shape[x.shape.length - 1];
  if (x.dtype !== "float32" || x.shape.length === 0 || classes > MAX_SOFTMAX_CLASSES) {
    return undefined;
  }
  return [size(x.shape) / classes, classes];
}

/** Softmax over the last axis on our kernels, or `undefined` as for `convolution`. */
function ourSoftmax(heap: WasmHeap, logits: Info): Info | undefined {
  const run = engine, shape = rowsOf(logits);
  if (!run || !shape || size(logits.shape) === 0) return undefined;
  return output(
    heap,
    run,
    [...logits.shape],
    "float32",
    (out) => run.softmaxRows(operand(heap, run, logits), ...shape, out),
  );
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: Attrs };

/** The engine and row shape for a fused kernel's call; throws where it cannot run. */
function fusedCall(name: string, z: Info): [NativeKernels, number, number] {
  const shape = rowsOf(z);
  if (!engine) throw new Error(`${name}: our wasm kernels are off`);
  if (!shape) {
    throw new Error(
      `${name}: takes float32 logits with at most ${MAX_SOFTMAX_CLASSES} classes, got ` +
        `${z.dtype} [${z.shape}]`,
    );
  }
  return [engine, ...shape];
}

function softmaxGradKernel({ inputs, backend }: KernelArgs): Info {
  const heap = backend as WasmHeap, { p, dp } = inputs as Record<string, Info>;
  const [run, rows, classes] = fusedCall(SOFTMAX_GRAD, p);
  return output(heap, run, [...p.shape], "float32", (out) =>
    run.softmaxRowsGrad(
      operand(heap, run, p),
      operand(heap, run, dp),
      rows,
      classes,
      out,
    ));
}

function sparseCrossEntropyKernel({ inputs, backend }: KernelArgs): Info[] {
  const heap = backend as WasmHeap, { logits, labels } = inputs as Record<string, Info>;
  const [run, rows, classes] = fusedCall(SPARSE_SOFTMAX_CROSS_ENTROPY, logits);
  const rowShape = logits.shape.slice(0, -1);
  return outputs(heap, run, [rowShape, [...rowShape, 2]], (at) => {
    const z = operand(heap, run, logits), ids = operand(heap, run, labels);
    const result = run.sparseSoftmaxCrossEntropy(
      z,
      ids,
      rows,
      classes,
      at && { loss: at[0], stats: at[1] },
    );
    return [result.loss, result.stats];
  });
}

function sparseCrossEntropyGradKernel({ inputs, backend }: KernelArgs): Info {
  const heap = backend as WasmHeap;
  const { logits, labels, stats, dloss } = inputs as Record<string, Info>;
  const [run, rows, classes] = fusedCall(SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD, logits);
  return output(heap, run, [...logits.shape], "float32", (out) =>
    run.sparseSoftmaxCrossEntropyGrad(
      operand(heap, run, logits),
      operand(heap, run, labels),
      operand(heap, run, stats),
      operand(heap, run, dloss),
      rows,
      classes,
      out,
    ));
}

/**
 * The fused convolution (`depthwise` false) or depthwise convolution kernel:
 * act(conv(x, filter) + bias) in one pass, our kernels only (there is no
 * fallback to decline to).
 */
function biasActivationKernel(name: string, depthwise: boolean) {
  const activations: readonly Activation[] = depthwise
    ? ["linear", "relu", "relu6"]
    : ["linear", "relu", "leakyrelu", "relu6"];
  return ({ inputs, backend, attrs = {} }: KernelArgs): Info => {
    const heap = backend as WasmHeap, { x, filter, bias } = inputs as Record<string, Info>;
    const run = engine;
    if (!run) throw new Error(`${name}: our wasm kernels are off`);
    const g = x.dtype === "float32" && filter.dtype === "float32" && bias.dtype === "float32"
      ? nativeGeometry(x.shape, filter.shape, { ...attrs, dataFormat: "NHWC" }, depthwise)
      : undefined;
    const activation = attrs.activation as Activation;
    if (!g || size(bias.shape) !== g.outChannels || !activations.includes(activation)) {
      throw new Error(
        `${name}: takes float32 x, filter ${depthwise ? "[kh, kw, C, 1] " : ""}(at most ` +
          `${MAX_FILTER_TAPS} taps), a bias per output channel and activation ` +
          `${activations.join(", ")}; got ${x.dtype} [${x.shape}], ${filter.dtype} ` +
          `[${filter.shape}], ${bias.dtype} [${bias.shape}], ${activation}`,
      );
    }
    const epilogue = {
      bias: operand(heap, run, bias),
      activation,
      alpha: (attrs.alpha as number | undefined) ?? 0,
    };
    return output(
      heap,
      run,
      [g.batch, g.outHeight, g.outWidth, g.outChannels],
      "float32",
      (out) => {
        const [xo, fo] = [operand(heap, run, x), operand(heap, run, filter)];
        return depthwise
          ? run.depthwise(xo, fo, g, out, epilogue)
          : run.conv2d(xo, fo, g, out, epilogue);
      },
    );
  };
}

function relu6GradKernel({ inputs, backend }: KernelArgs): Info {
  const heap = backend as WasmHeap, { y, dy } = inputs as Record<string, Info>;
  const run = float32Inputs(RELU6_GRAD, [y, dy]);
  return output(
    heap,
    run,
    [...y.shape],
    "float32",
    (out) => run.relu6Grad(operand(heap, run, y), operand(heap, run, dy), size(y.shape), out),
  );
}

function adamKernel({ inputs, backend, attrs = {} }: KernelArgs): Info[] {
  const heap = backend as WasmHeap;
  const { g, m, v, correction1, correction2 } = inputs as Record<string, Info>;
  const all = [g, m, v, correction1, correction2];
  const run = float32Inputs(ADAM, all);
  if (!sameShape(g, m) || !sameShape(g, v)) {
    throw new Error(
      `${ADAM}: takes float32 g, m, v of one shape and two float32 corrections; got ` +
        all.map((t) => `${t.dtype} [${t.shape}]`).join(", "),
    );
  }
  const betas = { b1: attrs.b1 as number, b2: attrs.b2 as number, eps: attrs.eps as number };
  return outputs(heap, run, [0, 1, 2].map(() => [...g.shape]), (at) => {
    const [go, mo, vo, c1, c2] = all.map((t) => operand(heap, run, t));
    const out = at && { update: at[0], mu: at[1], nu: at[2] };
    const result = run.adam(go, mo, vo, c1, c2, size(g.shape), betas, out);
    return [result.update, result.mu, result.nu];
  });
}

function float32Inputs(name: string, inputs: Info[]): NativeKernels {
  const run = engine;
  if (!run) throw new Error(`${name}: our wasm kernels are off`);
  if (inputs.some((t) => t.dtype !== "float32")) {
    throw new Error(`${name}: takes float32 inputs, got ${inputs.map((t) => t.dtype).join(", ")}`);
  }
  return run;
}

function batchNormKernel({ inputs, backend, attrs = {} }: KernelArgs): Info[] {
  const heap = backend as WasmHeap, { x, gamma, beta } = inputs as Record<string, Info>;
  const run = float32Inputs(BATCH_NORM, [x, gamma, beta]);
  const cols = x.shape[x.shape.length - 1], rows = size(x.shape) / cols;
  return outputs(heap, run, [[...x.shape], [...x.shape], [cols]], (at) => {
    const [xo, go, bo] = [x, gamma, beta].map((t) => operand(heap, run, t));
    const out = at && { y: at[0], xhat: at[1], rstd: at[2] };
    const result = run.batchNorm(xo, go, bo, rows, cols, attrs.eps as number, out);
    return [result.y, result.xhat, result.rstd];
  });
}

function batchNormGradKernel({ inputs, backend }: KernelArgs): Info[] {
  const heap = backend as WasmHeap, { dy, xhat, rstd, gamma } = inputs as Record<string, Info>;
  const run = float32Inputs(BATCH_NORM_GRAD, [dy, xhat, rstd, gamma]);
  const cols = dy.shape[dy.shape.length - 1], rows = size(dy.shape) / cols;
  return outputs(heap, run, [[...dy.shape], [cols], [cols]], (at) => {
    const [d, h, r, g] = [dy, xhat, rstd, gamma].map((t) => operand(heap, run, t));
    const out = at && { dx: at[0], dgamma: at[1], dbeta: at[2] };
    const result = run.batchNormGrad(d, h, r, g, rows, cols, out);
    return [result.dx, result.dgamma, result.dbeta];
  });
}

function activationGradKernel(
  name: string,
  nanPropagates: boolean,
): (args: KernelArgs) => Info {
  return ({ inputs, backend, attrs }) => {
    const heap = backend as WasmHeap, { x, dy } = inputs as Record<string, Info>;
    const run = float32Inputs(name, [x, dy]);
    const alpha = (attrs?.alpha as number | undefined) ?? 0;
    return output(heap, run, [...x.shape], "float32", (out) =>
      run.activationGrad(
        operand(heap, run, x),
        operand(heap, run, dy),
        size(x.shape),
        alpha,
        nanPropagates,
        out,
      ));
  };
}

/**
 * One of our kernels: its result, or `undefined` when ours are off or do not
 * take the call (what the kernel's table entry names as its fallback then
 * runs).
 */
export type OurKernel = (
  heap: WasmHeap,
  inputs: Record<string, Info>,
  attrs: Attrs,
) => Info | Info[] | undefined;

/** A fused kernel (they throw where they cannot run: there is nothing to fall back to). */
function fused(kernel: (args: KernelArgs) => Info | Info[]): OurKernel {
  return (heap, inputs, attrs) => kernel({ inputs, backend: heap, attrs });
}

/**
 * Our kernels by the kernel name each computes: tfjs's, or the fused names of
 * `fused.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NATIVE_KERNELS } from "./native_adapters.ts";
 * assert.deepEqual("Conv2DBackpropFilter" in NATIVE_KERNELS, true);
 * ```
 */
export const NATIVE_KERNELS = {
  Conv2D: convolution("forward", false),
  Conv2DBackpropFilter: convolution("filterGrad", false),
  Conv2DBackpropInput: convolution("inputGrad", false),
  DepthwiseConv2dNative: convolution("forward", true),
  DepthwiseConv2dNativeBackpropInput: convolution("inputGrad", true),
  DepthwiseConv2dNativeBackpropFilter: convolution("filterGrad", true),
  Exp: (heap, { x }) => ourExp(heap, x),
  LeakyRelu: (heap, { x }, attrs) => ourLeakyRelu(heap, x, attrs),
  Greater: (heap, { a, b }) => ourGreater(heap, a, b),
  Select: (heap, { condition, t, e }) => ourSelect(heap, condition, t, e),
  Sum: (heap, { x }, attrs) => ourSum(heap, x, attrs),
  Mean: (heap, { x }, attrs) => ourMean(heap, x, attrs),
  MaxPoolGrad: (heap, { dy, input }, attrs) => ourMaxPoolGrad(heap, dy, input, attrs),
  Softmax: (heap, { logits }) => ourSoftmax(heap, logits),
  ResizeBilinearGrad: (heap, { dy, images }, attrs) =>
    ourResizeBilinearGrad(heap, dy, images, attrs),
  [SOFTMAX_GRAD]: fused(softmaxGradKernel),
  [ADAM]: fused(adamKernel),
  [BATCH_NORM]: fused(batchNormKernel),
  [BATCH_NORM_GRAD]: fused(batchNormGradKernel),
  [CONV_BIAS_ACTIVATION]: fused(biasActivationKernel(CONV_BIAS_ACTIVATION, false)),
  [DEPTHWISE_BIAS_ACTIVATION]: fused(biasActivationKernel(DEPTHWISE_BIAS_ACTIVATION, true)),
  [RELU6_GRAD]: fused(relu6GradKernel),
  [RELU_GRAD]: fused(activationGradKernel(RELU_GRAD, true)),
  [LEAKY_RELU_GRAD]: fused(activationGradKernel(LEAKY_RELU_GRAD, false)),
  [SPARSE_SOFTMAX_CROSS_ENTROPY]: fused(sparseCrossEntropyKernel),
  [SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD]: fused(sparseCrossEntropyGradKernel),
} as const satisfies Record<string, OurKernel>;
