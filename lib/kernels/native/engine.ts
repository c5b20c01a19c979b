/**
 * The engine our wasm kernels run on: the kernel module (`*.c`, built into
 * `kernels_wasm.ts`) instantiated over one shared WebAssembly memory, a pool
 * of threads (`thread_pool.ts`) and a workspace (`workspace.ts`). The
 * kernels themselves are functions of the engine, one file per family
 * (`lib/kernels/families/`): each lays out its operands in the engine's
 * workspace and runs its driver with {@linkcode NativeKernels.run} (or its
 * elementwise and row-wise forms).
 *
 * Given tfjs's heap ({@linkcode SharedHeap}: the threaded wasm build's shared
 * memory and its allocator), the kernels work in it: operands are offsets of
 * tensors where they lie, stacks and workspace come from tfjs's `malloc`.
 * Without, they have a memory of their own, and operands are copied in and
 * results out. Threads are workers (`node:worker_threads` under Deno, Web
 * Workers in a browser), each with its own
 * instance of the module and its own stack in that memory; the calling
 * thread takes its share of every job and waits for the others (polling
 * briefly, then with `Atomics.wait`), so a kernel call stays synchronous, as
 * tfjs's kernels must be.
 *
 * @example Convolving a 1×4×4×1 image with a 3×3 box filter
 * ```ts
 * import assert from "node:assert/strict";
 * import { NativeKernels } from "./engine.ts";
 * import { conv2d } from "../families/convolution.ts";
 * const engine = new NativeKernels(1);
 * const y = conv2d(engine, new Float32Array(16).fill(1), new Float32Array(9).fill(1), {
 *   batch: 1, inHeight: 4, inWidth: 4, inChannels: 1, outHeight: 4, outWidth: 4,
 *   outChannels: 1, filterHeight: 3, filterWidth: 3, strides: [1, 1],
 *   dilations: [1, 1], padBefore: [1, 1],
 * });
 * assert.deepEqual(y[5], 9);
 * ```
 *
 * @module
 */
import { kernelModule } from "./kernel_module.ts";
import { checkThreads, type JobOptions, MAX_THREADS, STACK, ThreadPool } from "./thread_pool.ts";
import { align, MAX_PAGES, type Operand, PAGE, type SharedHeap, Workspace } from "./workspace.ts";

/** The shape of one NHWC convolution with an HWIO filter. */
export interface NativeConvGeometry {
  readonly batch: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outChannels: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strides: readonly [number, number];
  readonly dilations: readonly [number, number];
  /** Zero padding before the first row and column. */
  readonly padBefore: readonly [number, number];
}

// exp_f32's constants (ExpConstants in elementwise.c): clamp range, log₂e,
// the rounding constant 1.5·2²³, ln 2 in two parts, Cephes' expf polynomial,
// 1, and the exponent bias.
export const EXP_CONSTANTS: Float32Array = new Float32Array([
  -104,
  89,
  1.44269504088896341,
  12582912,
  0.693359375,
  -2.12194440e-4,
  1.9875691500e-4,
  1.3981999507e-3,
  8.3334519073e-3,
  4.1665795894e-2,
  1.6666665459e-1,
  5.0000001201e-1,
  1,
  127,
]);

/** The shape of one NHWC 2-D pooling. */
export interface PoolGeometry {
  readonly batch: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly channels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly filterSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly dilations: readonly [number, number];
  /** Padding before the first row and column. */
  readonly padBefore: readonly [number, number];
}

/**
 * What a convolution kernel (`conv2d`, `depthwise` of
 * `families/convolution.ts`) applies to its outputs: a bias per
 * output channel, then an activation (leaky relu: x < 0 ? α·x : x).
 */
export interface ConvEpilogue {
  readonly bias?: Operand;
  readonly activation?: Activation;
  readonly alpha?: number;
}

/** The activations the kernels apply, in the order of `ACTIVATION_*` in export.h. */
export const ACTIVATIONS = ["linear", "relu", "leakyrelu", "relu6"] as const;

/** An activation a convolution kernel applies to its outputs (relu6: min(max(x, 0), 6)). */
export type Activation = typeof ACTIVATIONS[number];

/** Filter taps the kernels take at most (`MAX_TAPS` in export.h; the engine checks the module agrees). */
export const MAX_FILTER_TAPS = 64;

/** Classes (the last axis) the row-wise softmax kernels take at most (`MAX_CLASSES` in export.h; checked likewise). */
export const MAX_SOFTMAX_CLASSES = 256;

/**
 * The constants shared with the C kernels (`export.h`), each exported by the
 * module as `constant_<name>()`: read from the module, never repeated here.
 */
const KERNEL_CONSTANTS = [
  "MR",
  "NR",
  "KC",
  "MAX_TAPS",
  "ELEMENT_BLOCK",
  "COLUMN_BLOCK",
  "NORM_BLOCK",
  "ROW_BLOCK",
  "MAX_CLASSES",
  "DW_CHANNEL_BLOCK",
] as const;
/** The module's constants by name. */
export type KernelConstants = Readonly<Record<typeof KERNEL_CONSTANTS[number], number>>;

/**
 * A driver: a function the module exports by name (`EXPORT` in export.h) that
 * runs work items [begin, end) of a job.
 */
export type Driver = string;

/** The kernel module's exports: its functions by name, and its stack globals. */
export type KernelExports = Record<string, (...args: number[]) => number> & {
  __heap_base: WebAssembly.Global;
  __stack_pointer: WebAssembly.Global;
};

/**
 * Whether this JavaScript engine runs the kernels (they need WebAssembly
 * SIMD, relaxed SIMD and shared memory).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nativeKernelsSupported } from "./engine.ts";
 * assert.deepEqual(typeof nativeKernelsSupported(), "boolean");
 * ```
 */
export function nativeKernelsSupported(): boolean {
  try {
    kernelModule();
    return typeof SharedArrayBuffer === "function";
  } catch {
    return false;
  }
}

/** A pool of threads running the kernels (see the module doc). */
export class NativeKernels {
  /** Threads a job is split over, the calling thread included. */
  readonly threads: number;
  /** Whether operands and results live in tfjs's heap (no copies). */
  readonly sharesHeap: boolean;
  /** tfjs's heap, when the kernels work in it. */
  readonly heap: SharedHeap | undefined;
  /** The memory the kernels work in (tfjs's heap, or their own). */
  readonly memory: WebAssembly.Memory;
  /** The kernel module's exports on the calling thread: drivers and packing helpers. */
  readonly exports: KernelExports;
  /** Where a kernel call lays out its operands, results and scratch (one job at a time). */
  readonly space: Workspace;
  /** The module's constants (tile sizes, work-item blocks, limits). */
  readonly constants: KernelConstants;
  readonly #pool: ThreadPool;

  /**
   * Kernels on `threads` threads (1–8), in a memory of their own or, given
   * `heap`, in tfjs's. Starts nothing yet: workers start on the first job
   * that needs them.
   */
  constructor(threads: number, heap?: SharedHeap) {
    checkThreads(threads);
    this.threads = threads;
    this.heap = heap;
    this.sharesHeap = heap !== undefined;
    this.memory = heap?.memory ??
      new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
    // The module has no data segments and no start function: instantiating
    // it writes nothing into the memory (tested).
    const instance = new WebAssembly.Instance(kernelModule(), { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
    const exports = instance.exports as Record<string, unknown>;
    this.constants = Object.fromEntries(
      KERNEL_CONSTANTS.map((name) => [
        name,
        (exports[`constant_${name.toLowerCase()}`] as () => number)(),
      ]),
    ) as KernelConstants;
    // The two limits other modules check before calling in must be the module's own.
    if (
      this.constants.MAX_TAPS !== MAX_FILTER_TAPS ||
      this.constants.MAX_CLASSES !== MAX_SOFTMAX_CLASSES
    ) {
      throw new Error(
        `the kernel module's limits (${this.constants.MAX_TAPS} taps, ${this.constants.MAX_CLASSES} classes) ` +
          `differ from engine.ts's (${MAX_FILTER_TAPS}, ${MAX_SOFTMAX_CLASSES}): rebuild it`,
      );
    }
    // Thread i's stack is [stacks + i·STACK, + STACK); thread 0's is this instance's.
    let stacks: number;
    if (heap) {
      // The module's own stack would be at the bottom of tfjs's memory.
      stacks = align(heap.malloc(MAX_THREADS * STACK + 16), 16);
      this.exports.__stack_pointer.value = stacks + STACK;
    } else {
      // The module's stack ends at __heap_base; the workers' follow it.
      stacks = (this.exports.__heap_base.value as number) - STACK;
    }
    this.#pool = new ThreadPool(threads, this.memory, stacks);
    this.space = new Workspace(this.memory, heap, align(stacks + MAX_THREADS * STACK, PAGE));
  }

  /** Jobs so far that were split over more than the calling thread. */
  get sharedJobs(): number {
    return this.#pool.sharedJobs;
  }

  /** A convolution's epilogue laid out as conv.c reads it: bias offset (0: none), activation, α. */
  epilogue(e: ConvEpilogue): number {
    const bias = e.bias === undefined ? 0 : this.space.place(e.bias);
    const at = this.space.alloc(3);
    const activation = ACTIVATIONS.indexOf(e.activation ?? "linear");
    new Int32Array(this.memory.buffer, at, 2).set([bias, activation]);
    new Float32Array(this.memory.buffer, at + 8, 1)[0] = e.alpha ?? 0;
    return at;
  }

  /** A convolution's geometry laid out as the C kernels read it (15 integers). */
  geometry(g: NativeConvGeometry): number {
    const at = this.space.alloc(16);
    new Int32Array(this.memory.buffer, at, 15).set([
      g.batch,
      g.inHeight,
      g.inWidth,
      g.inChannels,
      g.outHeight,
      g.outWidth,
      g.outChannels,
      g.filterHeight,
      g.filterWidth,
      g.strides[0],
      g.strides[1],
      g.dilations[0],
      g.dilations[1],
      g.padBefore[0],
      g.padBefore[1],
    ]);
    return at;
  }

  /** Runs an elementwise driver over blocks of `size` elements, split over the pool. */
  runElements(driver: Driver, args: number[], size: number): void {
    // Waking a worker pays off from about 2¹⁸ elements (a memory-bound pass).
    this.run(driver, args, Math.ceil(size / this.constants.ELEMENT_BLOCK), { work: 8 * size });
  }

  /** Runs a row-wise driver over blocks of rows, split over the pool. */
  runRows(driver: Driver, args: number[], rows: number, classes: number): void {
    if (!Number.isInteger(classes) || classes < 1 || classes > MAX_SOFTMAX_CLASSES) {
      throw new Error(`row kernels take 1–${MAX_SOFTMAX_CLASSES} classes, got ${classes}`);
    }
    // A row costs about as much as 30 multiply-adds per value (exp).
    this.run(driver, args, Math.ceil(rows / this.constants.ROW_BLOCK), {
      work: 32 * rows * classes,
    });
  }

  /**
   * Starts the pool's workers now and settles once they wait for jobs (see
   * `ThreadPool.start`): needed before the first job in a browser.
   */
  async startThreads(): Promise<void> {
    await this.#pool.start();
  }

  /** Runs a driver over `items` work items on the pool (see `ThreadPool.run`). */
  run(driver: Driver, args: number[], items: number, options: JobOptions): void {
    this.#pool.run(driver, this.exports[driver], args, items, options);
  }
}
