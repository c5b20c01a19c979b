/**
 * Every kernel this library puts on tfjs's wasm backend, one entry each: the
 * kernel's name, its inputs, our native kernel for it
 * (`native_adapters.ts`), and what runs where ours is off or declines a call
 * (tfjs's own kernel, a composed one of `composed_kernels.ts`, or nothing: a
 * fused kernel then does not exist, and its callers compose it from tfjs's
 * operations). The table drives both registration ({@linkcode registerWasmKernels},
 * once the backend starts) and dispatch ({@linkcode useOurKernels}), so adding
 * a kernel is one entry here.
 *
 * @example Which kernels run our native code first
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASM_KERNELS } from "./wasm_registry.ts";
 * const native = WASM_KERNELS.filter((k) => k.native).map((k) => k.name);
 * assert.deepEqual(native.includes("Conv2DBackpropInput"), true);
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";
import { markDilationAwareBackend } from "./dilated_gradients.ts";
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
import type { SharedHeap } from "./native/workspace.ts";
import { markHalfPixelResizeGrad } from "./resize_gradient.ts";
import {
  COMPOSED_KERNELS,
  type ComposedKernel,
  type TfjsKernel,
  withExplicitSamePadding,
} from "./composed_kernels.ts";
import {
  NATIVE_KERNELS,
  nativeKernelThreads,
  type OurKernel,
  startEngine,
  type WasmHeap,
} from "./native_adapters.ts";

/**
 * What runs where our native kernel is off or declines a call: `"tfjs"`,
 * tfjs's own kernel of that name; `"none"`, nothing (the kernel is
 * registered only while ours are on); or a composed kernel.
 */
export type Fallback = "tfjs" | "none" | ComposedKernel;

/** One kernel on the wasm backend. */
export interface WasmKernel {
  /** The kernel's name: tfjs's, or a fused kernel's of `fused.ts`. */
  readonly name: string;
  /** Its inputs by name, as the kernel receives them. */
  readonly inputs: readonly string[];
  /**
   * The exports of our kernel module (`native/*.c`) its native kernel runs:
   * the driver that splits the work, and the packing helpers it calls.
   */
  readonly drivers: readonly string[];
  /** Our native kernel, tried first while our kernels are on. */
  readonly native?: OurKernel;
  /** What runs otherwise. */
  readonly fallback: Fallback;
  /**
   * tfjs's kernel gets "same" padding as explicit amounts (XNNPACK pads
   * strided "same" convolutions unlike TensorFlow): a convolution's or a
   * depthwise convolution's.
   */
  readonly explicitSamePadding?: "conv2d" | "depthwise";
}

/**
 * The table: every kernel {@linkcode registerWasmKernels} and
 * {@linkcode useOurKernels} put on the wasm backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASM_KERNELS } from "./wasm_registry.ts";
 * const adam = WASM_KERNELS.find((k) => k.name === "UdaAdam");
 * assert.deepEqual(adam?.fallback, "none");
 * ```
 */
export const WASM_KERNELS: readonly WasmKernel[] = [
  {
    name: "Conv2D",
    drivers: ["conv_forward", "pack_panels"],
    inputs: ["x", "filter"],
    native: NATIVE_KERNELS.Conv2D,
    fallback: "tfjs",
    explicitSamePadding: "conv2d",
  },
  {
    name: "FusedConv2D",
    drivers: [],
    inputs: ["x", "filter", "bias", "preluActivationWeights"],
    fallback: "tfjs",
    explicitSamePadding: "conv2d",
  },
  {
    name: "DepthwiseConv2dNative",
    drivers: ["depthwise_forward"],
    inputs: ["x", "filter"],
    native: NATIVE_KERNELS.DepthwiseConv2dNative,
    fallback: "tfjs",
    explicitSamePadding: "depthwise",
  },
  {
    name: "FusedDepthwiseConv2D",
    drivers: [],
    inputs: ["x", "filter", "bias", "preluActivationWeights"],
    fallback: "tfjs",
    explicitSamePadding: "depthwise",
  },
  {
    name: "Conv2DBackpropFilter",
    drivers: ["conv_filter_grad", "pack_columns", "filter_grad_items", "transpose"],
    inputs: ["x", "dy"],
    native: NATIVE_KERNELS.Conv2DBackpropFilter,
    fallback: COMPOSED_KERNELS.Conv2DBackpropFilter,
  },
  {
    name: "Conv2DBackpropInput",
    drivers: ["conv_input_grad", "pack_transposed_filter", "input_grad_tiles"],
    inputs: ["dy", "filter"],
    native: NATIVE_KERNELS.Conv2DBackpropInput,
    fallback: COMPOSED_KERNELS.Conv2DBackpropInput,
  },
  {
    name: "DepthwiseConv2dNativeBackpropFilter",
    drivers: ["depthwise_filter_grad"],
    inputs: ["x", "dy"],
    native: NATIVE_KERNELS.DepthwiseConv2dNativeBackpropFilter,
    fallback: COMPOSED_KERNELS.DepthwiseConv2dNativeBackpropFilter,
  },
  {
    name: "DepthwiseConv2dNativeBackpropInput",
    drivers: ["depthwise_input_grad"],
    inputs: ["dy", "filter"],
    native: NATIVE_KERNELS.DepthwiseConv2dNativeBackpropInput,
    fallback: COMPOSED_KERNELS.DepthwiseConv2dNativeBackpropInput,
  },
  {
    name: "Exp",
    drivers: ["exp_blocks"],
    inputs: ["x"],
    native: NATIVE_KERNELS.Exp,
    fallback: "tfjs",
  },
  {
    name: "LeakyRelu",
    drivers: ["leaky_relu_blocks"],
    inputs: ["x"],
    native: NATIVE_KERNELS.LeakyRelu,
    fallback: "tfjs",
  },
  {
    name: "Greater",
    drivers: ["greater_blocks"],
    inputs: ["a", "b"],
    native: NATIVE_KERNELS.Greater,
    fallback: "tfjs",
  },
  {
    name: "Select",
    drivers: ["select_blocks"],
    inputs: ["condition", "t", "e"],
    native: NATIVE_KERNELS.Select,
    fallback: "tfjs",
  },
  {
    name: "Sum",
    drivers: ["sum_rows_blocks"],
    inputs: ["x"],
    native: NATIVE_KERNELS.Sum,
    fallback: "tfjs",
  },
  {
    name: "Mean",
    drivers: ["sum_rows_blocks"],
    inputs: ["x"],
    native: NATIVE_KERNELS.Mean,
    fallback: "tfjs",
  },
  {
    name: "MaxPoolGrad",
    drivers: ["max_pool_grad_images"],
    inputs: ["dy", "input", "output"],
    native: NATIVE_KERNELS.MaxPoolGrad,
    fallback: "tfjs",
  },
  {
    name: "ResizeBilinearGrad",
    drivers: ["resize_bilinear_grad_images"],
    inputs: ["dy", "images"],
    native: NATIVE_KERNELS.ResizeBilinearGrad,
    fallback: "tfjs",
  },
  {
    name: "Softmax",
    drivers: ["softmax_rows"],
    inputs: ["logits"],
    native: NATIVE_KERNELS.Softmax,
    fallback: "tfjs",
  },
  {
    name: "UnsortedSegmentSum",
    drivers: [],
    inputs: ["x", "segmentIds"],
    fallback: COMPOSED_KERNELS.UnsortedSegmentSum,
  },
  {
    name: "OneHot",
    drivers: [],
    inputs: ["indices"],
    fallback: COMPOSED_KERNELS.OneHot,
  },
  {
    name: "Reverse",
    drivers: [],
    inputs: ["x"],
    fallback: COMPOSED_KERNELS.Reverse,
  },
  {
    name: "Slice",
    drivers: [],
    inputs: ["x"],
    fallback: COMPOSED_KERNELS.Slice,
  },
  {
    name: "SplitV",
    drivers: [],
    inputs: ["x"],
    fallback: COMPOSED_KERNELS.SplitV,
  },
  {
    name: "Identity",
    drivers: [],
    inputs: ["x"],
    fallback: COMPOSED_KERNELS.Identity,
  },
  {
    name: SOFTMAX_GRAD,
    drivers: ["softmax_rows_grad"],
    inputs: ["p", "dp"],
    native: NATIVE_KERNELS[SOFTMAX_GRAD],
    fallback: "none",
  },
  {
    name: ADAM,
    drivers: ["adam_blocks"],
    inputs: ["g", "m", "v", "correction1", "correction2"],
    native: NATIVE_KERNELS[ADAM],
    fallback: "none",
  },
  {
    name: BATCH_NORM,
    drivers: ["batch_norm_blocks"],
    inputs: ["x", "gamma", "beta"],
    native: NATIVE_KERNELS[BATCH_NORM],
    fallback: "none",
  },
  {
    name: BATCH_NORM_GRAD,
    drivers: ["batch_norm_grad_blocks"],
    inputs: ["dy", "xhat", "rstd", "gamma"],
    native: NATIVE_KERNELS[BATCH_NORM_GRAD],
    fallback: "none",
  },
  {
    name: CONV_BIAS_ACTIVATION,
    drivers: ["conv_forward", "pack_panels"],
    inputs: ["x", "filter", "bias"],
    native: NATIVE_KERNELS[CONV_BIAS_ACTIVATION],
    fallback: "none",
  },
  {
    name: DEPTHWISE_BIAS_ACTIVATION,
    drivers: ["depthwise_forward"],
    inputs: ["x", "filter", "bias"],
    native: NATIVE_KERNELS[DEPTHWISE_BIAS_ACTIVATION],
    fallback: "none",
  },
  {
    name: RELU6_GRAD,
    drivers: ["relu6_grad_blocks"],
    inputs: ["y", "dy"],
    native: NATIVE_KERNELS[RELU6_GRAD],
    fallback: "none",
  },
  {
    name: RELU_GRAD,
    drivers: ["activation_grad_blocks"],
    inputs: ["x", "dy"],
    native: NATIVE_KERNELS[RELU_GRAD],
    fallback: "none",
  },
  {
    name: LEAKY_RELU_GRAD,
    drivers: ["activation_grad_blocks"],
    inputs: ["x", "dy"],
    native: NATIVE_KERNELS[LEAKY_RELU_GRAD],
    fallback: "none",
  },
  {
    name: SPARSE_SOFTMAX_CROSS_ENTROPY,
    drivers: ["sparse_xent_rows"],
    inputs: ["logits", "labels"],
    native: NATIVE_KERNELS[SPARSE_SOFTMAX_CROSS_ENTROPY],
    fallback: "none",
  },
  {
    name: SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD,
    drivers: ["sparse_xent_rows_grad"],
    inputs: ["logits", "labels", "stats", "dloss"],
    native: NATIVE_KERNELS[SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD],
    fallback: "none",
  },
];

/**
 * The kernel names {@linkcode registerWasmKernels} provides or wraps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASM_KERNEL_NAMES } from "./wasm_registry.ts";
 * assert.deepEqual(WASM_KERNEL_NAMES.includes("Conv2DBackpropFilter"), true);
 * ```
 */
export const WASM_KERNEL_NAMES: readonly string[] = WASM_KERNELS
  .filter((k) => k.fallback !== "none")
  .map((k) => k.name);

/** tfjs's own wasm kernels, as they were before ours replaced them. */
const tfjsKernels = new Map<string, tf.KernelConfig>();
/** The kernel functions this module registered (never kept as tfjs's). */
const ours = new WeakSet<tf.KernelFunc>();

/** The function registered for `kernel`: native first, then its fallback. */
function dispatch(kernel: WasmKernel, tfjsConfig: tf.KernelConfig | undefined): tf.KernelFunc {
  const { name, native, fallback } = kernel;
  let tfjs = tfjsConfig && (tfjsConfig.kernelFunc as unknown as TfjsKernel);
  if (tfjs && kernel.explicitSamePadding) {
    tfjs = withExplicitSamePadding(tfjs, kernel.explicitSamePadding === "depthwise");
  }
  const otherwise: TfjsKernel = fallback === "none"
    ? () => {
      throw new Error(`${name}(${kernel.inputs.join(", ")}): our wasm kernels are off`);
    }
    : fallback === "tfjs"
    ? tfjs ?? (() => {
      throw new Error(`wasm backend: kernel ${name} is not registered`);
    })
    : (args) => fallback(args, tfjs);
  const func: TfjsKernel = native
    ? (args) =>
      native(
        args.backend as WasmHeap,
        args.inputs as Record<string, tf.TensorInfo>,
        args.attrs ?? {},
      ) ??
        otherwise(args)
    : otherwise;
  const kernelFunc = func as unknown as tf.KernelFunc;
  ours.add(kernelFunc);
  return kernelFunc;
}

function register(kernel: WasmKernel): void {
  const current = tf.getKernel(kernel.name, "wasm");
  // tfjs's kernel is kept once, and only tfjs's (a second registration finds ours).
  if (current && !ours.has(current.kernelFunc) && !tfjsKernels.has(kernel.name)) {
    tfjsKernels.set(kernel.name, current);
  }
  const tfjs = tfjsKernels.get(kernel.name);
  if (kernel.fallback === "tfjs" && !tfjs) {
    throw new Error(`wasm backend: kernel ${kernel.name} is not registered`);
  }
  if (current) tf.unregisterKernel(kernel.name, "wasm");
  tf.registerKernel({
    kernelName: kernel.name,
    backendName: "wasm",
    kernelFunc: dispatch(kernel, tfjs),
    // tfjs's kernel binds its wasm function here, at backend start: ours
    // falls back to it.
    setupFunc: tfjs?.setupFunc,
  });
}

/**
 * Registers the table's kernels that exist whether or not our native kernels
 * run (every entry but the fused ones), replacing tfjs's and keeping them as
 * fallbacks (idempotent). Call once the wasm backend is loaded, before the
 * first computation that needs them; `useBackend` does.
 *
 * @example
 * ```ts ignore
 * import { registerWasmKernels } from "./wasm_registry.ts";
 * registerWasmKernels();
 * ```
 */
export function registerWasmKernels(): void {
  markDilationAwareBackend("wasm");
  for (const kernel of WASM_KERNELS) if (kernel.fallback !== "none") register(kernel);
}

/**
 * Routes the wasm backend's kernels to ours on `threads` threads (1–8; the
 * calling thread is one), working in `heap` (tfjs's, when shared) or in a
 * memory of their own, and registers the fused kernels, which exist only
 * while ours run; 0 threads: back to the fallbacks, fused kernels removed.
 *
 * @example
 * ```ts ignore
 * import { useOurKernels } from "./wasm_registry.ts";
 * useOurKernels(0); // XNNPACK and the composed gradients
 * ```
 */
export function useOurKernels(threads: number, heap?: SharedHeap): void {
  startEngine(threads, heap);
  const on = nativeKernelThreads() > 0;
  markHalfPixelResizeGrad("wasm", on);
  for (const kernel of WASM_KERNELS) {
    if (kernel.fallback !== "none") continue;
    const registered = tf.getKernel(kernel.name, "wasm") !== undefined;
    if (on && !registered) register(kernel);
    if (!on && registered) tf.unregisterKernel(kernel.name, "wasm");
  }
}
