/**
 * What one kernel on tfjs's wasm backend is: a {@linkcode WasmKernel} spec
 * (its name, inputs, the module drivers it runs, our native kernel for it
 * and its fallback), written beside the kernel's code in its family's file
 * (`families/`); `wasm_registry.ts` lists the families and registers them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { WasmKernel } from "./kernel_spec.ts";
 * const identity: WasmKernel = { name: "Identity", inputs: ["x"], drivers: [], fallback: "tfjs" };
 * assert.equal(identity.native, undefined);
 * ```
 *
 * @module
 */
import type { tf } from "../tf.ts";
import type { ComposedKernel } from "./composed_kernels.ts";

/** The members of tfjs's wasm backend our kernels use. */
export interface WasmHeap {
  /** A new tensor of tfjs's, its values in tfjs's heap. */
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  /** A tensor's values where they lie in tfjs's heap. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** Where each tensor lies in tfjs's heap. */
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

/** A kernel's arguments as tfjs hands them to a kernel function. */
export type KernelArgs = {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: Record<string, unknown>;
};

/**
 * One of our native kernels: its result, or `undefined` when ours are off or
 * do not take the call (what its spec names as its fallback then runs).
 */
export type OurKernel = (
  heap: WasmHeap,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown>,
) => tf.TensorInfo | tf.TensorInfo[] | undefined;

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
