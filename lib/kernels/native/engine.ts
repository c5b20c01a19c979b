/**
 * Runs our wasm kernels: the convolutions of `conv.c` (implicit GEMM, fused
 * multiply-add) and the row-wise softmax kernels of `softmax.c` on a pool of
 * threads over one shared WebAssembly memory, and the elementwise kernels
 * and reductions of `elementwise.c` on the calling thread.
 *
 * Given tfjs's heap ({@linkcode SharedHeap}: the threaded wasm build's shared
 * memory and its allocator), the kernels work in it: operands are offsets of
 * tensors where they lie, stacks and workspace come from tfjs's `malloc`.
 * Without, they have a memory of their own, and operands are copied in and
 * results out. Threads are `node:worker_threads` workers, each with its own
 * instance of the module and its own stack in that memory; the calling
 * thread takes its share of every job and waits for the others (polling
 * briefly, then with `Atomics.wait`), so a kernel call stays synchronous, as
 * tfjs's kernels must be.
 *
 * @example Convolving a 1×4×4×1 image with a 3×3 box filter
 * ```ts
 * import assert from "node:assert/strict";
 * import { NativeKernels } from "./engine.ts";
 * const engine = new NativeKernels(1);
 * const y = engine.conv2d(new Float32Array(16).fill(1), new Float32Array(9).fill(1), {
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
 * What {@linkcode NativeKernels.conv2d} applies to its outputs: a bias per
 * output channel, then an activation (leaky relu: x < 0 ? α·x : x).
 */
export interface ConvEpilogue {
  readonly bias?: Operand;
  readonly activation?: Activation;
  readonly alpha?: number;
}

/** The activations the kernels apply, in the order of `ACTIVATION_*` in export.h. */
const ACTIVATIONS = ["linear", "relu", "leakyrelu", "relu6"] as const;

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
type KernelConstants = Readonly<Record<typeof KERNEL_CONSTANTS[number], number>>;

/**
 * A driver: a function the module exports by name (`EXPORT` in export.h) that
 * runs work items [begin, end) of a job.
 */
type Driver = string;

// A depthwise multiply-add loads both its operands (nothing stays in
// registers across output channels, as in a convolution's tile): it counts
// as four of a convolution's against THREADED_WORK.
const DEPTHWISE_COST = 4;

type KernelExports = Record<string, (...args: number[]) => number> & {
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
  readonly #memory: WebAssembly.Memory;
  readonly #exports: KernelExports;
  readonly #pool: ThreadPool;
  readonly #space: Workspace;
  // The module's constants (tile sizes, work-item blocks, limits).
  readonly #k: KernelConstants;

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
    this.#memory = heap?.memory ??
      new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
    // The module has no data segments and no start function: instantiating
    // it writes nothing into the memory (tested).
    const instance = new WebAssembly.Instance(kernelModule(), { env: { memory: this.#memory } });
    this.#exports = instance.exports as unknown as KernelExports;
    const exports = instance.exports as Record<string, unknown>;
    this.#k = Object.fromEntries(
      KERNEL_CONSTANTS.map((name) => [
        name,
        (exports[`constant_${name.toLowerCase()}`] as () => number)(),
      ]),
    ) as KernelConstants;
    // The two limits other modules check before calling in must be the module's own.
    if (this.#k.MAX_TAPS !== MAX_FILTER_TAPS || this.#k.MAX_CLASSES !== MAX_SOFTMAX_CLASSES) {
      throw new Error(
        `the kernel module's limits (${this.#k.MAX_TAPS} taps, ${this.#k.MAX_CLASSES} classes) ` +
          `differ from engine.ts's (${MAX_FILTER_TAPS}, ${MAX_SOFTMAX_CLASSES}): rebuild it`,
      );
    }
    // Thread i's stack is [stacks + i·STACK, + STACK); thread 0's is this instance's.
    let stacks: number;
    if (heap) {
      // The module's own stack would be at the bottom of tfjs's memory.
      stacks = align(heap.malloc(MAX_THREADS * STACK + 16), 16);
      this.#exports.__stack_pointer.value = stacks + STACK;
    } else {
      // The module's stack ends at __heap_base; the workers' follow it.
      stacks = (this.#exports.__heap_base.value as number) - STACK;
    }
    this.#pool = new ThreadPool(threads, this.#memory, stacks);
    this.#space = new Workspace(this.#memory, heap, align(stacks + MAX_THREADS * STACK, PAGE));
  }

  /**
   * y [N, Hₒ, Wₒ, Cₒ] = conv(x [N, H, W, Cᵢ], w [kh, kw, Cᵢ, Cₒ]), then the
   * `epilogue` (bias, activation) if given, written at `out` or into the
   * engine's memory; returns a view of it, valid until the engine's next
   * call.
   */
  conv2d(
    x: Operand,
    w: Operand,
    g: NativeConvGeometry,
    out?: number,
    epilogue?: ConvEpilogue,
  ): Float32Array {
    const positions = g.batch * g.outHeight * g.outWidth;
    const depth = g.filterHeight * g.filterWidth * g.inChannels;
    const panels = Math.ceil(g.outChannels / this.#k.NR);
    return this.#space.job(() => {
      const geo = this.#geometry(g);
      const zero = this.#space.zeros(g.inChannels);
      const xAt = this.#space.place(x), wAt = this.#space.place(w);
      const packed = this.#space.alloc(panels * this.#k.NR * depth);
      const y = out ?? this.#space.alloc(positions * g.outChannels);
      const scratch = this.#space.alloc(this.#k.NR * this.threads);
      this.#exports.pack_panels(wAt, depth, g.outChannels, g.outChannels, 1, packed);
      const after = epilogue ? this.#epilogue(epilogue) : 0;
      this.#run(
        "conv_forward",
        [geo, xAt, packed, y, zero, after],
        Math.ceil(positions / this.#k.MR),
        {
          scratch,
          stride: 4 * this.#k.NR,
          work: positions * depth * g.outChannels,
        },
      );
      return this.#space.view(y, positions * g.outChannels);
    });
  }

  /**
   * y [N, Hₒ, Wₒ, C] = depthwise(x [N, H, W, C], w [kh, kw, C, 1]) (channel
   * multiplier 1; the geometry's in and out channels both C), then the
   * `epilogue`'s bias and activation (not leaky relu); `out` and the result
   * as for {@linkcode conv2d}.
   */
  depthwise(
    x: Operand,
    w: Operand,
    g: NativeConvGeometry,
    out?: number,
    epilogue?: ConvEpilogue,
  ): Float32Array {
    const size = g.batch * g.outHeight * g.outWidth * g.inChannels;
    const activation = ACTIVATIONS.indexOf(epilogue?.activation ?? "linear");
    if (epilogue?.activation === "leakyrelu") throw new Error("depthwise: no leaky relu epilogue");
    return this.#space.job(() => {
      const geo = this.#geometry(g);
      const xAt = this.#space.place(x), wAt = this.#space.place(w);
      const bias = epilogue?.bias === undefined ? 0 : this.#space.place(epilogue.bias);
      const y = out ?? this.#space.alloc(size);
      this.#run("depthwise_forward", [geo, xAt, wAt, bias, activation, y], g.batch * g.outHeight, {
        work: DEPTHWISE_COST * size * g.filterHeight * g.filterWidth,
      });
      return this.#space.view(y, size);
    });
  }

  /** dx [N, H, W, C] of a depthwise convolution from dy [N, Hₒ, Wₒ, C] and w; `out` and the result as for {@linkcode conv2d}. */
  depthwiseInputGrad(dy: Operand, w: Operand, g: NativeConvGeometry, out?: number): Float32Array {
    const size = g.batch * g.inHeight * g.inWidth * g.inChannels;
    return this.#space.job(() => {
      const geo = this.#geometry(g);
      const dyAt = this.#space.place(dy), wAt = this.#space.place(w);
      const dx = out ?? this.#space.alloc(size);
      this.#run("depthwise_input_grad", [geo, dyAt, wAt, dx], g.batch * g.inHeight, {
        work: DEPTHWISE_COST * size * g.filterHeight * g.filterWidth,
      });
      return this.#space.view(dx, size);
    });
  }

  /** dw [kh, kw, C, 1] of a depthwise convolution from x and dy; `out` and the result as for {@linkcode conv2d}. */
  depthwiseFilterGrad(x: Operand, dy: Operand, g: NativeConvGeometry, out?: number): Float32Array {
    const size = g.filterHeight * g.filterWidth * g.inChannels;
    return this.#space.job(() => {
      const geo = this.#geometry(g);
      const xAt = this.#space.place(x), dyAt = this.#space.place(dy);
      const dw = out ?? this.#space.alloc(size);
      this.#run(
        "depthwise_filter_grad",
        [geo, xAt, dyAt, dw],
        Math.ceil(g.inChannels / this.#k.DW_CHANNEL_BLOCK),
        { work: DEPTHWISE_COST * g.batch * g.outHeight * g.outWidth * size },
      );
      return this.#space.view(dw, size);
    });
  }

  /** dz = dy where 0 < y < 6, else 0 (relu6's gradient from its output y), over `size` values. */
  relu6Grad(y: Operand, dy: Operand, size: number, out?: number): Float32Array {
    return this.#space.job(() => {
      const yAt = this.#space.place(y),
        dyAt = this.#space.place(dy),
        dz = out ?? this.#space.alloc(size);
      this.#runElements("relu6_grad_blocks", [yAt, dyAt, dz, size], size);
      return this.#space.view(dz, size);
    });
  }

  /** dx [N, H, W, Cᵢ] from dy [N, Hₒ, Wₒ, Cₒ] and w; `out` and the result as for {@linkcode conv2d}. */
  conv2dInputGrad(dy: Operand, w: Operand, g: NativeConvGeometry, out?: number): Float32Array {
    const taps = g.filterHeight * g.filterWidth;
    const size = g.batch * g.inHeight * g.inWidth * g.inChannels;
    return this.#space.job(() => {
      const geo = this.#geometry(g);
      const zero = this.#space.zeros(g.outChannels);
      const dyAt = this.#space.place(dy), wAt = this.#space.place(w);
      const packed = this.#space.alloc(
        Math.ceil(g.inChannels / this.#k.NR) * this.#k.NR * taps * g.outChannels,
      );
      const dx = out ?? this.#space.alloc(size);
      const scratch = this.#space.alloc(this.#k.NR * this.threads);
      this.#exports.pack_transposed_filter(wAt, taps, g.inChannels, g.outChannels, packed);
      const tiles = this.#exports.input_grad_tiles(geo);
      const work = g.batch * g.outHeight * g.outWidth * taps * g.inChannels * g.outChannels;
      this.#run("conv_input_grad", [geo, dyAt, packed, dx, zero], tiles, {
        scratch,
        stride: 4 * this.#k.NR,
        work,
      });
      return this.#space.view(dx, size);
    });
  }

  /** dw [kh, kw, Cᵢ, Cₒ] from x and dy; `out` and the result as for {@linkcode conv2d}. */
  conv2dFilterGrad(x: Operand, dy: Operand, g: NativeConvGeometry, out?: number): Float32Array {
    const positions = g.batch * g.outHeight * g.outWidth;
    const taps = g.filterHeight * g.filterWidth;
    const depth = taps * g.inChannels;
    return this.#space.job(() => {
      const geo = this.#geometry(g);
      const items = this.#exports.filter_grad_items(geo);
      const xAt = this.#space.place(x), dyAt = this.#space.place(dy);
      const dyPacked = this.#space.alloc(
        Math.ceil(g.outChannels / this.#k.MR) * this.#k.MR * positions,
      );
      const dwt = this.#space.alloc(g.outChannels * depth);
      const dw = out ?? this.#space.alloc(g.outChannels * depth);
      // No output position (a filter wider than the padded input): no term.
      if (positions === 0) return this.#space.view(dw, g.outChannels * depth).fill(0);
      const scratch = this.#space.alloc(this.#k.KC * this.#k.NR * Math.min(this.threads, items));
      this.#exports.pack_columns(dyAt, positions, g.outChannels, dyPacked);
      this.#run("conv_filter_grad", [geo, dyPacked, xAt, dwt], items, {
        scratch,
        stride: 4 * this.#k.KC * this.#k.NR,
        work: positions * depth * g.outChannels,
        // Each thread reuses its input blocks over all its items: fixed shares.
        fixedShares: true,
      });
      this.#exports.transpose(dwt, g.outChannels, depth, dw);
      return this.#space.view(dw, g.outChannels * depth);
    });
  }

  /** exp(x), elementwise, for `size` values; `out` and the result as for {@linkcode conv2d}. */
  exp(x: Operand, size: number, out?: number): Float32Array {
    return this.#space.job(() => {
      const xAt = this.#space.place(x), y = out ?? this.#space.alloc(size);
      this.#runElements("exp_blocks", [xAt, y, size, this.#space.place(EXP_CONSTANTS)], size);
      return this.#space.view(y, size);
    });
  }

  /** x where x ≥ 0, else α·x; `out` and the result as for {@linkcode conv2d}. */
  leakyRelu(x: Operand, size: number, alpha: number, out?: number): Float32Array {
    return this.#space.job(() => {
      const xAt = this.#space.place(x), y = out ?? this.#space.alloc(size);
      const alphaAt = this.#space.place(Float32Array.of(alpha));
      this.#runElements("leaky_relu_blocks", [xAt, y, size, alphaAt], size);
      return this.#space.view(y, size);
    });
  }

  /**
   * The gradient of relu (`alpha` 0; NaN where x is NaN) or leaky relu
   * (NaN not propagated), as tfjs's gradients compute them: dy where x > 0,
   * else α·dy; `out` and the result as for {@linkcode conv2d}.
   */
  activationGrad(
    x: Operand,
    dy: Operand,
    size: number,
    alpha: number,
    nanPropagates: boolean,
    out?: number,
  ): Float32Array {
    return this.#space.job(() => {
      const xAt = this.#space.place(x),
        dyAt = this.#space.place(dy),
        y = out ?? this.#space.alloc(size);
      const args = [
        xAt,
        dyAt,
        y,
        size,
        this.#space.place(Float32Array.of(alpha)),
        nanPropagates ? 1 : 0,
      ];
      this.#runElements("activation_grad_blocks", args, size);
      return this.#space.view(y, size);
    });
  }

  /**
   * One Adam step over `size` values: the update (m'/c₁)/(√(v'/c₂) + ε) and
   * the new moments m' = β₁m + (1 − β₁)g, v' = β₂v + (1 − β₂)g², c₁ and c₂
   * one value each; written at `out` (three offsets) or into the engine's
   * memory.
   */
  adam(
    g: Operand,
    m: Operand,
    v: Operand,
    c1: Operand,
    c2: Operand,
    size: number,
    betas: { b1: number; b2: number; eps: number },
    out?: { update: number; mu: number; nu: number },
  ): { update: Float32Array; mu: Float32Array; nu: Float32Array } {
    return this.#space.job(() => {
      const gAt = this.#space.place(g), mAt = this.#space.place(m), vAt = this.#space.place(v);
      const c1At = this.#space.place(c1), c2At = this.#space.place(c2);
      const { b1, b2, eps } = betas;
      const scalars = this.#space.place(Float32Array.of(b1, 1 - b1, b2, 1 - b2, eps));
      const update = out?.update ?? this.#space.alloc(size),
        mu = out?.mu ?? this.#space.alloc(size);
      const nu = out?.nu ?? this.#space.alloc(size);
      const args = [gAt, mAt, vAt, scalars, c1At, c2At, update, mu, nu, size];
      this.#runElements("adam_blocks", args, size);
      return {
        update: this.#space.view(update, size),
        mu: this.#space.view(mu, size),
        nu: this.#space.view(nu, size),
      };
    });
  }

  /**
   * Batch normalisation of x [rows, cols] per column: y = x̂·γ + β, x̂ =
   * (x − μ)·r, r = 1/√(σ² + ε) (μ, σ² over the rows); writes y, x̂ and r at
   * `out` (three offsets) or into the engine's memory.
   */
  batchNorm(
    x: Operand,
    gamma: Operand,
    beta: Operand,
    rows: number,
    cols: number,
    eps: number,
    out?: { y: number; xhat: number; rstd: number },
  ): { y: Float32Array; xhat: Float32Array; rstd: Float32Array } {
    return this.#space.job(() => {
      const xAt = this.#space.place(x),
        gAt = this.#space.place(gamma),
        bAt = this.#space.place(beta);
      const epsAt = this.#space.place(Float32Array.of(eps));
      const y = out?.y ?? this.#space.alloc(rows * cols),
        xhat = out?.xhat ?? this.#space.alloc(rows * cols);
      const rstd = out?.rstd ?? this.#space.alloc(cols);
      const args = [xAt, gAt, bAt, epsAt, y, xhat, rstd, rows, cols];
      this.#run("batch_norm_blocks", args, Math.ceil(cols / this.#k.NORM_BLOCK), {
        work: 16 * rows * cols,
      });
      return {
        y: this.#space.view(y, rows * cols),
        xhat: this.#space.view(xhat, rows * cols),
        rstd: this.#space.view(rstd, cols),
      };
    });
  }

  /**
   * The gradient of {@linkcode batchNorm} from dy, x̂, r and γ: dγ = Σ dy·x̂,
   * dβ = Σ dy, dx = ((dy − dβ/m) − x̂·dγ/m)·r·γ (m = rows); written at `out`
   * (three offsets) or into the engine's memory.
   */
  batchNormGrad(
    dy: Operand,
    xhat: Operand,
    rstd: Operand,
    gamma: Operand,
    rows: number,
    cols: number,
    out?: { dx: number; dgamma: number; dbeta: number },
  ): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
    return this.#space.job(() => {
      const dyAt = this.#space.place(dy),
        xhatAt = this.#space.place(xhat),
        rAt = this.#space.place(rstd);
      const gAt = this.#space.place(gamma);
      const dx = out?.dx ?? this.#space.alloc(rows * cols),
        dgamma = out?.dgamma ?? this.#space.alloc(cols);
      const dbeta = out?.dbeta ?? this.#space.alloc(cols);
      const args = [dyAt, xhatAt, rAt, gAt, dx, dgamma, dbeta, rows, cols];
      this.#run("batch_norm_grad_blocks", args, Math.ceil(cols / this.#k.NORM_BLOCK), {
        work: 16 * rows * cols,
      });
      return {
        dx: this.#space.view(dx, rows * cols),
        dgamma: this.#space.view(dgamma, cols),
        dbeta: this.#space.view(dbeta, cols),
      };
    });
  }

  /**
   * a > b for `size` values of a as 0/1 bytes, b of a's size or one value
   * (`bScalar`); written at `out` or into the engine's memory.
   */
  greater(a: Operand, b: Operand, size: number, bScalar: boolean, out?: number): Uint8Array {
    return this.#space.job(() => {
      const aAt = this.#space.place(a),
        bAt = this.#space.place(b),
        y = out ?? this.#space.alloc(size / 4);
      this.#runElements("greater_blocks", [aAt, bAt, bScalar ? 0 : 1, y, size], size);
      return new Uint8Array(this.#memory.buffer, y, size);
    });
  }

  /** condition ? a : b elementwise (bytes, floats, floats); `out` and the result as for {@linkcode conv2d}. */
  select(condition: Operand, a: Operand, b: Operand, size: number, out?: number): Float32Array {
    return this.#space.job(() => {
      const cAt = this.#space.place(condition),
        aAt = this.#space.place(a),
        bAt = this.#space.place(b);
      const y = out ?? this.#space.alloc(size);
      this.#runElements("select_blocks", [cAt, aAt, bAt, y, size], size);
      return this.#space.view(y, size);
    });
  }

  /**
   * Column sums of a row-major [rows, cols] matrix (a sum over leading
   * axes), or column means (`mean`), accumulated in double precision; `out`
   * and the result as for {@linkcode conv2d}.
   */
  sumRows(x: Operand, rows: number, cols: number, mean = false, out?: number): Float32Array {
    return this.#space.job(() => {
      const xAt = this.#space.place(x),
        acc = this.#space.alloc(2 * cols),
        y = out ?? this.#space.alloc(cols);
      this.#run(
        "sum_rows_blocks",
        [xAt, rows, cols, mean ? 1 : 0, acc, y],
        Math.ceil(cols / this.#k.COLUMN_BLOCK),
        { work: 8 * rows * cols },
      );
      return this.#space.view(y, cols);
    });
  }

  /**
   * The gradient of max pooling x [n, h, w, c] to dy's shape: each dy value
   * to its window's first maximum; `out` and the result as for
   * {@linkcode conv2d}.
   */
  maxPoolGrad(x: Operand, dy: Operand, g: PoolGeometry, out?: number): Float32Array {
    const size = g.batch * g.inHeight * g.inWidth * g.channels;
    return this.#space.job(() => {
      const xAt = this.#space.place(x),
        dyAt = this.#space.place(dy),
        dx = out ?? this.#space.alloc(size);
      const args = [
        xAt,
        dyAt,
        g.batch,
        g.inHeight,
        g.inWidth,
        g.channels,
        g.outHeight,
        g.outWidth,
        g.filterSize[0],
        g.filterSize[1],
        g.strides[0],
        g.strides[1],
        g.dilations[0],
        g.dilations[1],
        g.padBefore[0],
        g.padBefore[1],
        dx,
      ];
      this.#run("max_pool_grad_images", args, g.batch, { work: 8 * size });
      return this.#space.view(dx, size);
    });
  }

  /**
   * The gradient of a bilinear resize from [batch, inHeight, inWidth, c] to
   * dy's [batch, outHeight, outWidth, c], sampling as tfjs's forward kernels
   * do (`ratio` per axis, half-pixel centres or not); `out` and the result
   * as for {@linkcode conv2d}.
   */
  resizeBilinearGrad(
    dy: Operand,
    dyShape: readonly number[],
    inHeight: number,
    inWidth: number,
    ratio: readonly [number, number],
    halfPixelCenters: boolean,
    out?: number,
  ): Float32Array {
    const [batch, outHeight, outWidth, channels] = dyShape;
    const size = batch * inHeight * inWidth * channels;
    return this.#space.job(() => {
      const dyAt = this.#space.place(dy), dx = out ?? this.#space.alloc(size);
      const ratios = this.#space.alloc(4);
      new Float64Array(this.#memory.buffer, ratios, 2).set(ratio);
      const args = [dyAt, batch, outHeight, outWidth, channels, inHeight, inWidth, ratios];
      this.#run("resize_bilinear_grad_images", [...args, halfPixelCenters ? 1 : 0, dx], batch, {
        work: 8 * batch * outHeight * outWidth * channels,
      });
      return this.#space.view(dx, size);
    });
  }

  /**
   * softmax over each row of a row-major [rows, classes] matrix (classes ≤
   * {@linkcode MAX_SOFTMAX_CLASSES}); `out` and the result as for
   * {@linkcode conv2d}.
   */
  softmaxRows(z: Operand, rows: number, classes: number, out?: number): Float32Array {
    return this.#space.job(() => {
      const zAt = this.#space.place(z), p = out ?? this.#space.alloc(rows * classes);
      this.#runRows(
        "softmax_rows",
        [zAt, p, rows, classes, this.#space.place(EXP_CONSTANTS)],
        rows,
        classes,
      );
      return this.#space.view(p, rows * classes);
    });
  }

  /**
   * The gradient of {@linkcode softmaxRows} from its output p and the
   * output's gradient dp: p ⊙ (dp − ⟨p, dp⟩) per row; `out` and the result
   * as for {@linkcode conv2d}.
   */
  softmaxRowsGrad(
    p: Operand,
    dp: Operand,
    rows: number,
    classes: number,
    out?: number,
  ): Float32Array {
    return this.#space.job(() => {
      const pAt = this.#space.place(p),
        dpAt = this.#space.place(dp),
        dz = out ?? this.#space.alloc(rows * classes);
      this.#runRows("softmax_rows_grad", [pAt, dpAt, dz, rows, classes], rows, classes);
      return this.#space.view(dz, rows * classes);
    });
  }

  /**
   * Per row of logits z [rows, classes] and int32 class ids: `stats` [rows,
   * 2] = (m, ln Σ_c exp(z_c − m)) with m the row's maximum, and the
   * cross-entropy `loss` = m + ln Σ − z[y] (0 where the id is outside [0,
   * classes)); written at `out` (two offsets) or into the engine's memory.
   */
  sparseSoftmaxCrossEntropy(
    z: Operand,
    labels: Operand,
    rows: number,
    classes: number,
    out?: { loss: number; stats: number },
  ): { loss: Float32Array; stats: Float32Array } {
    return this.#space.job(() => {
      const zAt = this.#space.place(z), labelsAt = this.#space.place(labels);
      const loss = out?.loss ?? this.#space.alloc(rows),
        stats = out?.stats ?? this.#space.alloc(2 * rows);
      const args = [zAt, labelsAt, loss, stats, rows, classes, this.#space.place(EXP_CONSTANTS)];
      this.#runRows("sparse_xent_rows", args, rows, classes);
      return { loss: this.#space.view(loss, rows), stats: this.#space.view(stats, 2 * rows) };
    });
  }

  /**
   * The gradient of {@linkcode sparseSoftmaxCrossEntropy}'s loss from the
   * loss's gradient `dloss` [rows]: dloss · (softmax(z) − onehot(y)) per
   * labelled row, 0 per ignored one; `out` and the result as for
   * {@linkcode conv2d}.
   */
  sparseSoftmaxCrossEntropyGrad(
    z: Operand,
    labels: Operand,
    stats: Operand,
    dloss: Operand,
    rows: number,
    classes: number,
    out?: number,
  ): Float32Array {
    return this.#space.job(() => {
      const zAt = this.#space.place(z), labelsAt = this.#space.place(labels);
      const statsAt = this.#space.place(stats), dlossAt = this.#space.place(dloss);
      const dz = out ?? this.#space.alloc(rows * classes);
      const args = [
        zAt,
        labelsAt,
        statsAt,
        dlossAt,
        dz,
        rows,
        classes,
        this.#space.place(EXP_CONSTANTS),
      ];
      this.#runRows("sparse_xent_rows_grad", args, rows, classes);
      return this.#space.view(dz, rows * classes);
    });
  }

  /** Jobs so far that were split over more than the calling thread. */
  get sharedJobs(): number {
    return this.#pool.sharedJobs;
  }

  // Epilogue in conv.c: bias offset (0: none), activation, α.
  #epilogue(e: ConvEpilogue): number {
    const bias = e.bias === undefined ? 0 : this.#space.place(e.bias);
    const at = this.#space.alloc(3);
    const activation = ACTIVATIONS.indexOf(e.activation ?? "linear");
    new Int32Array(this.#memory.buffer, at, 2).set([bias, activation]);
    new Float32Array(this.#memory.buffer, at + 8, 1)[0] = e.alpha ?? 0;
    return at;
  }

  #geometry(g: NativeConvGeometry): number {
    const at = this.#space.alloc(16);
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

  /** Runs an elementwise driver over blocks of `size` elements, split over the pool. */
  #runElements(driver: Driver, args: number[], size: number): void {
    // Waking a worker pays off from about 2¹⁸ elements (a memory-bound pass).
    this.#run(driver, args, Math.ceil(size / this.#k.ELEMENT_BLOCK), { work: 8 * size });
  }

  /** Runs a row-wise driver over blocks of rows, split over the pool. */
  #runRows(driver: Driver, args: number[], rows: number, classes: number): void {
    if (!Number.isInteger(classes) || classes < 1 || classes > MAX_SOFTMAX_CLASSES) {
      throw new Error(`row kernels take 1–${MAX_SOFTMAX_CLASSES} classes, got ${classes}`);
    }
    // A row costs about as much as 30 multiply-adds per value (exp).
    this.#run(driver, args, Math.ceil(rows / this.#k.ROW_BLOCK), { work: 32 * rows * classes });
  }

  /** Runs a driver over `items` work items on the pool (see `ThreadPool.run`). */
  #run(driver: Driver, args: number[], items: number, options: JobOptions): void {
    this.#pool.run(driver, this.#exports[driver], args, items, options);
  }
}
