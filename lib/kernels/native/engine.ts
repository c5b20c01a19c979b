/**
 * Runs our wasm kernels: the convolutions of `conv.c` (implicit GEMM, fused
 * multiply-add) on a pool of threads over one shared WebAssembly memory, and
 * the elementwise kernels and reductions of `elementwise.c` on the calling
 * thread.
 *
 * The module has its own memory, separate from tfjs's heap: inputs are copied
 * in and results out (a memcpy each, small beside the arithmetic). Threads are
 * `node:worker_threads` workers, each with its own instance of the module and
 * its own stack in the shared memory; the calling thread takes the first share
 * of every job and waits for the others with `Atomics.wait`, so a kernel call
 * stays synchronous, as tfjs's kernels must be.
 *
 * @example Convolving a 1×4×4×1 image with a 3×3 box filter
 * ```ts
 * import { NativeKernels } from "./engine.ts";
 * const engine = new NativeKernels(1);
 * const y = engine.conv2d(new Float32Array(16).fill(1), new Float32Array(9).fill(1), {
 *   batch: 1, inHeight: 4, inWidth: 4, inChannels: 1, outHeight: 4, outWidth: 4,
 *   outChannels: 1, filterHeight: 3, filterWidth: 3, strides: [1, 1],
 *   dilations: [1, 1], padBefore: [1, 1],
 * });
 * console.log(y[5]); // 9
 * ```
 *
 * @module
 */
import * as workerThreads from "node:worker_threads";
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";

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
const EXP_CONSTANTS = new Float32Array([
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

/** Filter taps the kernels take at most (`MAX_TAPS` in conv.c). */
export const MAX_FILTER_TAPS = 64;

const MR = 6, NR = 8, KC = 512;
const PAGE = 65536, STACK = 65536, MAX_THREADS = 8;
// conv.c is linked with --max-memory=2 GiB.
const MAX_PAGES = 32768;

const FUNCTIONS = ["conv_forward", "conv_input_grad", "conv_filter_grad"] as const;
type Driver = typeof FUNCTIONS[number];

// Control words shared with the workers.
const SEQ = 0,
  DONE = 1,
  FN = 2,
  SHARERS = 3,
  ITEMS = 4,
  NARGS = 5,
  SCRATCH = 6,
  SCRATCH_STRIDE = 7,
  FAILED = 8,
  ARGS = 9;

const WORKER_SOURCE = `
import { workerData } from "node:worker_threads";
const { module, memory, control, id, stackTop, names } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
instance.exports.__stack_pointer.value = stackTop;
const fns = names.map((name) => instance.exports[name]);
const ctrl = new Int32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${SEQ}, seen);
  seen = Atomics.load(ctrl, ${SEQ});
  try {
    const sharers = ctrl[${SHARERS}], items = ctrl[${ITEMS}];
    if (id < sharers) {
      const begin = Math.floor((id * items) / sharers), end = Math.floor(((id + 1) * items) / sharers);
      const args = Array.from(ctrl.subarray(${ARGS}, ${ARGS} + ctrl[${NARGS}]));
      if (begin < end) fns[ctrl[${FN}]](...args, ctrl[${SCRATCH}] + id * ctrl[${SCRATCH_STRIDE}], begin, end);
    }
  } catch {
    Atomics.store(ctrl, ${FAILED}, 1);
  }
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;
// node:worker_threads in Deno takes file: and data: URLs only, and this module
// may have been imported over https.
const WORKER_URL = new URL(`data:text/javascript;base64,${btoa(WORKER_SOURCE)}`);

let compiled: WebAssembly.Module | undefined;
function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(
    Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0)),
  );
  return compiled;
}

// Below this many multiply-adds a job runs on the calling thread alone: waking
// a worker costs tens of microseconds.
const THREADED_WORK = 1 << 21;

type ConvExports = Record<string, (...args: number[]) => number> & {
  __heap_base: WebAssembly.Global;
};

/** A pool of threads running the convolution kernels (see the module doc). */
export class NativeKernels {
  /** Threads a job is split over, the calling thread included. */
  readonly threads: number;
  readonly #memory: WebAssembly.Memory;
  readonly #exports: ConvExports;
  readonly #control = new Int32Array(new SharedArrayBuffer(4 * 32));
  readonly #heapStart: number;
  #workers: workerThreads.Worker[] = [];
  #top = 0;
  #sharedJobs = 0;

  /** Starts nothing yet: workers start on the first job that needs them. */
  constructor(threads: number) {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
      throw new Error(`convolution threads must be an integer 1–${MAX_THREADS}, got ${threads}`);
    }
    this.threads = threads;
    this.#memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(wasmModule(), { env: { memory: this.#memory } });
    this.#exports = instance.exports as unknown as ConvExports;
    // Worker stacks sit above the module's own (which ends at __heap_base).
    const base = this.#exports.__heap_base.value as number;
    this.#heapStart = align(base + (MAX_THREADS - 1) * STACK, PAGE);
  }

  /**
   * y [N, Hₒ, Wₒ, Cₒ] = conv(x [N, H, W, Cᵢ], w [kh, kw, Cᵢ, Cₒ]). The result
   * is a view into the engine's memory, valid until its next call.
   */
  conv2d(x: Float32Array, w: Float32Array, g: NativeConvGeometry): Float32Array {
    const positions = g.batch * g.outHeight * g.outWidth;
    const depth = g.filterHeight * g.filterWidth * g.inChannels;
    const panels = Math.ceil(g.outChannels / NR);
    this.#reset();
    const geo = this.#geometry(g);
    const zero = this.#zeros(g.inChannels);
    const xAt = this.#input(x);
    const wAt = this.#input(w);
    const packed = this.#alloc(panels * NR * depth);
    const y = this.#alloc(positions * g.outChannels);
    const scratch = this.#alloc(NR * this.threads);
    this.#call("pack_panels", wAt, depth, g.outChannels, g.outChannels, 1, packed);
    this.#run("conv_forward", [geo, xAt, packed, y, zero], Math.ceil(positions / MR), {
      scratch,
      stride: 4 * NR,
      work: positions * depth * g.outChannels,
    });
    return this.#view(y, positions * g.outChannels);
  }

  /** dx [N, H, W, Cᵢ] from dy [N, Hₒ, Wₒ, Cₒ] and w; a view as for {@linkcode conv2d}. */
  conv2dInputGrad(dy: Float32Array, w: Float32Array, g: NativeConvGeometry): Float32Array {
    const taps = g.filterHeight * g.filterWidth;
    const size = g.batch * g.inHeight * g.inWidth * g.inChannels;
    this.#reset();
    const geo = this.#geometry(g);
    const zero = this.#zeros(g.outChannels);
    const dyAt = this.#input(dy);
    const wAt = this.#input(w);
    const packed = this.#alloc(Math.ceil(g.inChannels / NR) * NR * taps * g.outChannels);
    const dx = this.#alloc(size);
    const scratch = this.#alloc(NR * this.threads);
    this.#call("pack_transposed_filter", wAt, taps, g.inChannels, g.outChannels, packed);
    const tiles = this.#call("input_grad_tiles", geo);
    const work = g.batch * g.outHeight * g.outWidth * taps * g.inChannels * g.outChannels;
    this.#run("conv_input_grad", [geo, dyAt, packed, dx, zero], tiles, {
      scratch,
      stride: 4 * NR,
      work,
    });
    return this.#view(dx, size);
  }

  /** dw [kh, kw, Cᵢ, Cₒ] from x and dy; a view as for {@linkcode conv2d}. */
  conv2dFilterGrad(x: Float32Array, dy: Float32Array, g: NativeConvGeometry): Float32Array {
    const positions = g.batch * g.outHeight * g.outWidth;
    const taps = g.filterHeight * g.filterWidth;
    const depth = taps * g.inChannels;
    const items = taps * Math.ceil(g.inChannels / NR);
    this.#reset();
    const geo = this.#geometry(g);
    const xAt = this.#input(x);
    const dyAt = this.#input(dy);
    const dyPacked = this.#alloc(Math.ceil(g.outChannels / MR) * MR * positions);
    const dwt = this.#alloc(g.outChannels * depth);
    const dw = this.#alloc(g.outChannels * depth);
    const scratch = this.#alloc(KC * NR * Math.min(this.threads, items));
    this.#call("pack_columns", dyAt, positions, g.outChannels, dyPacked);
    this.#run("conv_filter_grad", [geo, dyPacked, xAt, dwt, 0], items, {
      scratch,
      stride: 4 * KC * NR,
      work: positions * depth * g.outChannels,
    });
    this.#call("transpose", dwt, g.outChannels, depth, dw);
    return this.#view(dw, g.outChannels * depth);
  }

  /** exp(x), elementwise; a view as for {@linkcode conv2d}. */
  exp(x: Float32Array): Float32Array {
    this.#reset();
    const xAt = this.#input(x), y = this.#alloc(x.length);
    const constants = this.#input(EXP_CONSTANTS);
    this.#call("exp_f32", xAt, y, x.length, constants);
    return this.#view(y, x.length);
  }

  /** x where x ≥ 0, else α·x; a view as for {@linkcode conv2d}. */
  leakyRelu(x: Float32Array, alpha: number): Float32Array {
    this.#reset();
    const xAt = this.#input(x), y = this.#alloc(x.length);
    this.#call("leaky_relu_f32", xAt, y, x.length, alpha);
    return this.#view(y, x.length);
  }

  /**
   * a > b elementwise as 0/1 bytes; `b` has a's length or is one value. A
   * view as for {@linkcode conv2d}.
   */
  greater(a: Float32Array, b: Float32Array): Uint8Array {
    this.#reset();
    const aAt = this.#input(a), bAt = this.#input(b), y = this.#alloc(a.length / 4);
    this.#call("greater_f32", aAt, bAt, b.length === 1 ? 0 : 1, y, a.length);
    return new Uint8Array(this.#memory.buffer, y, a.length);
  }

  /** condition ? a : b elementwise (all of one length); a view as for {@linkcode conv2d}. */
  select(condition: Uint8Array, a: Float32Array, b: Float32Array): Float32Array {
    this.#reset();
    const cAt = this.#alloc(condition.length / 4);
    new Uint8Array(this.#memory.buffer, cAt, condition.length).set(condition);
    const aAt = this.#input(a), bAt = this.#input(b), y = this.#alloc(a.length);
    this.#call("select_f32", cAt, aAt, bAt, y, a.length);
    return this.#view(y, a.length);
  }

  /**
   * Column sums of a row-major [rows, cols] matrix (a sum over leading
   * axes), accumulated in double precision; a view as for {@linkcode conv2d}.
   */
  sumRows(x: Float32Array, rows: number, cols: number): Float32Array {
    this.#reset();
    const xAt = this.#input(x), acc = this.#alloc(2 * cols), y = this.#alloc(cols);
    this.#call("sum_rows_f32", xAt, rows, cols, acc, y);
    return this.#view(y, cols);
  }

  /**
   * The gradient of a bilinear resize from [batch, inHeight, inWidth, c] to
   * dy's [batch, outHeight, outWidth, c], sampling as tfjs's forward kernels
   * do (`ratio` per axis, half-pixel centres or not); a view as for
   * {@linkcode conv2d}.
   */
  resizeBilinearGrad(
    dy: Float32Array,
    dyShape: readonly number[],
    inHeight: number,
    inWidth: number,
    ratio: readonly [number, number],
    halfPixelCenters: boolean,
  ): Float32Array {
    const [batch, outHeight, outWidth, channels] = dyShape;
    const size = batch * inHeight * inWidth * channels;
    this.#reset();
    const dyAt = this.#input(dy), dx = this.#alloc(size);
    this.#exports.resize_bilinear_grad(
      dyAt,
      batch,
      outHeight,
      outWidth,
      channels,
      inHeight,
      inWidth,
      ratio[0],
      ratio[1],
      halfPixelCenters ? 1 : 0,
      dx,
    );
    return this.#view(dx, size);
  }

  /** Jobs so far that were split over more than the calling thread. */
  get sharedJobs(): number {
    return this.#sharedJobs;
  }

  #call(name: string, ...args: number[]): number {
    return this.#exports[name](...args);
  }

  #reset(): void {
    this.#top = this.#heapStart;
  }

  /** Reserves `floats` floats (64-byte aligned) and returns their byte offset. */
  #alloc(floats: number): number {
    const at = this.#top;
    this.#top = align(at + 4 * floats, 64);
    const needed = Math.ceil(this.#top / PAGE) - this.#memory.buffer.byteLength / PAGE;
    if (needed > 0) {
      if (this.#top > MAX_PAGES * PAGE) {
        throw new Error(
          `convolution needs ${(this.#top / 2 ** 20).toFixed(0)} MiB of workspace, over the ` +
            `${MAX_PAGES * PAGE / 2 ** 30} GiB the kernels are built for`,
        );
      }
      this.#memory.grow(needed);
    }
    return at;
  }

  #input(values: Float32Array): number {
    const at = this.#alloc(values.length);
    this.#view(at, values.length).set(values);
    return at;
  }

  #zeros(floats: number): number {
    const at = this.#alloc(floats);
    this.#view(at, floats).fill(0);
    return at;
  }

  #geometry(g: NativeConvGeometry): number {
    const at = this.#alloc(16);
    new Int32Array(this.#memory.buffer, at, 15).set([
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

  #view(at: number, floats: number): Float32Array {
    return new Float32Array(this.#memory.buffer, at, floats);
  }

  /** Runs a driver over `items` work items, split over the pool. */
  #run(
    driver: Driver,
    args: number[],
    items: number,
    options: { scratch: number; stride: number; work: number },
  ): void {
    const sharers = options.work < THREADED_WORK ? 1 : Math.min(this.threads, items);
    if (sharers > 1) this.#startWorkers();
    const ctrl = this.#control;
    if (sharers > 1) {
      this.#sharedJobs++;
      ctrl[FN] = FUNCTIONS.indexOf(driver);
      ctrl[SHARERS] = sharers;
      ctrl[ITEMS] = items;
      ctrl[NARGS] = args.length;
      ctrl[SCRATCH] = options.scratch;
      ctrl[SCRATCH_STRIDE] = options.stride;
      ctrl.set(args, ARGS);
      Atomics.store(ctrl, DONE, 0);
      Atomics.add(ctrl, SEQ, 1);
      Atomics.notify(ctrl, SEQ);
    }
    const end = Math.floor(items / sharers);
    if (end > 0) this.#exports[driver](...args, options.scratch, 0, end);
    if (sharers > 1) {
      for (let done; (done = Atomics.load(ctrl, DONE)) < this.#workers.length;) {
        if (Atomics.wait(ctrl, DONE, done, 60_000) === "timed-out") {
          throw new Error("a convolution thread did not answer within 60 s");
        }
      }
      if (Atomics.exchange(ctrl, FAILED, 0)) throw new Error("a convolution thread failed");
    }
  }

  #startWorkers(): void {
    if (this.#workers.length > 0) return;
    const base = this.#exports.__heap_base.value as number;
    for (let id = 1; id < this.threads; id++) {
      const worker = new workerThreads.Worker(WORKER_URL, {
        workerData: {
          module: wasmModule(),
          memory: this.#memory,
          control: this.#control.buffer,
          id,
          stackTop: base + id * STACK,
          names: FUNCTIONS,
        },
      });
      // Idle workers must not keep a finished program alive.
      worker.unref();
      this.#workers.push(worker);
    }
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
