/**
 * Every kernel this library puts on tfjs's wasm backend: the list of the
 * kernel families (`families/`, one file each, where every kernel is its
 * engine call, its adapter and its spec: name, inputs, the module drivers it
 * runs, our native kernel and what runs where ours is off or declines a call
 * — tfjs's own kernel, a composed one of `composed_kernels.ts`, or nothing:
 * a fused kernel then does not exist, and its callers compose it from
 * tfjs's operations). The list drives both registration
 * ({@linkcode registerWasmKernels}, once the backend starts) and dispatch
 * ({@linkcode useOurKernels}), so adding a kernel is one spec in its
 * family's file.
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
import type { SharedHeap } from "./native/workspace.ts";
import { markHalfPixelResizeGrad } from "./resize_gradient.ts";
import { type TfjsKernel, withExplicitSamePadding } from "./composed_kernels.ts";
import { nativeKernelThreads, startEngine } from "./native_adapters.ts";
import type { WasmHeap, WasmKernel } from "./kernel_spec.ts";
import { CONVOLUTION_KERNELS } from "./families/convolution.ts";
import { ELEMENTWISE_KERNELS } from "./families/elementwise.ts";
import { ROW_KERNELS } from "./families/rows.ts";
import { NORMALISATION_KERNELS } from "./families/normalisation.ts";
import { RESAMPLING_KERNELS } from "./families/resampling.ts";
import { COMPOSED_ONLY_KERNELS } from "./families/composed.ts";

export type { Fallback, WasmKernel } from "./kernel_spec.ts";

/**
 * The table: every kernel {@linkcode registerWasmKernels} and
 * {@linkcode useOurKernels} put on the wasm backend, family by family.
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
  ...CONVOLUTION_KERNELS,
  ...ELEMENTWISE_KERNELS,
  ...ROW_KERNELS,
  ...NORMALISATION_KERNELS,
  ...RESAMPLING_KERNELS,
  ...COMPOSED_ONLY_KERNELS,
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
