/**
 * What our kernels on tfjs's wasm backend share: the engine they run on
 * (started and stopped here) and the helpers that adapt tfjs's tensors to
 * its operands and its results to tfjs's tensors. The kernels themselves,
 * each with its adapter and its entry of the wasm backend's table, are one
 * file per family in `families/` (convolutions, elementwise, rows,
 * normalisation, resampling); `wasm_registry.ts` lists them.
 *
 * When tfjs runs its threaded build, whose heap is a shared memory, the
 * kernels read and write tensors where they lie in that heap; otherwise they
 * copy operands into a memory of their own and results back.
 *
 * @example Starting the engine on a 2-thread pool
 * ```ts ignore
 * import { startEngine } from "./native_adapters.ts";
 * startEngine(2);
 * ```
 *
 * @module
 */
import type { tf } from "../tf.ts";
import { NativeKernels } from "./native/engine.ts";
import type { Operand, SharedHeap } from "./native/workspace.ts";
import type { KernelArgs, OurKernel, WasmHeap } from "./kernel_spec.ts";

type Info = tf.TensorInfo;

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

/**
 * The engine our kernels run on, or `undefined` while they are off.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { activeEngine, nativeKernelThreads } from "./native_adapters.ts";
 * assert.equal(activeEngine()?.threads ?? 0, nativeKernelThreads());
 * ```
 */
export function activeEngine(): NativeKernels | undefined {
  return engine;
}

/** The number of values of a shape. */
export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A tensor as an operand: where it lies in tfjs's heap, or its values. */
export function operand(heap: WasmHeap, run: NativeKernels, info: Info): Operand {
  if (run.sharesHeap) return { at: heap.dataIdMap.get(info.dataId)!.memoryOffset };
  return heap.typedArrayFromHeap(info) as Float32Array | Uint8Array;
}

/**
 * A new tfjs tensor computed by `compute`: written in place when the engine
 * shares tfjs's heap, else copied from the engine's result.
 */
export function output(
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
export function outputs(
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

/** The engine for a fused kernel whose inputs must all be float32; throws where it cannot run. */
export function float32Inputs(name: string, inputs: Info[]): NativeKernels {
  const run = engine;
  if (!run) throw new Error(`${name}: our wasm kernels are off`);
  if (inputs.some((t) => t.dtype !== "float32")) {
    throw new Error(`${name}: takes float32 inputs, got ${inputs.map((t) => t.dtype).join(", ")}`);
  }
  return run;
}

/** Below this many elements tfjs's own elementwise kernels are as quick. */
const ELEMENTWISE_MIN = 4096;

/**
 * The engine for an elementwise call on `x`, or `undefined` where tfjs's
 * kernel is as quick (a small or non-float32 tensor) or ours are off.
 */
export function elementwiseEngine(x: Info): NativeKernels | undefined {
  return engine && x.dtype === "float32" && size(x.shape) >= ELEMENTWISE_MIN ? engine : undefined;
}

/** Whether two tensors have one shape. */
export const sameShape = (a: Info, b: Info): boolean =>
  a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/** A fused kernel as one of ours (they throw where they cannot run: there is nothing to fall back to). */
export function fused(kernel: (args: KernelArgs) => Info | Info[]): OurKernel {
  return (heap, inputs, attrs) => kernel({ inputs, backend: heap, attrs });
}
