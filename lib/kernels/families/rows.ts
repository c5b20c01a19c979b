/**
 * The row-wise kernels: Sum and Mean over leading axes (tfjs's wasm Sum and
 * Mean transpose the reduced axes to the end first), Softmax over the last
 * axis, and the fused softmax gradient and sparse softmax cross-entropy
 * (and its gradient) of `fused.ts`, on our kernel module (`softmax.c`,
 * `elementwise.c`) split over the thread pool by rows. Each kernel is its
 * engine call, its adapter from tfjs's tensors and its spec in
 * {@linkcode ROW_KERNELS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ROW_KERNELS } from "./rows.ts";
 * assert.ok(ROW_KERNELS.some((k) => k.name === "Softmax"));
 * ```
 *
 * @module
 */
import { EXP_CONSTANTS, MAX_SOFTMAX_CLASSES, type NativeKernels } from "../native/engine.ts";
import type { Operand } from "../native/workspace.ts";
import {
  SOFTMAX_GRAD,
  SPARSE_SOFTMAX_CROSS_ENTROPY,
  SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD,
} from "../fused.ts";
import type { KernelArgs, WasmHeap, WasmKernel } from "../kernel_spec.ts";
import {
  activeEngine,
  elementwiseEngine,
  fused,
  operand,
  output,
  outputs,
  size,
} from "../native_adapters.ts";
import { tf } from "../../tf.ts";

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

// ---------------------------------------------------------------- engine calls

/**
 * Column sums of a row-major [rows, cols] matrix (a sum over leading
 * axes), or column means (`mean`), accumulated in double precision; `out`
 * and the result as for `conv2d` (`convolution.ts`).
 */
export function sumRows(
  engine: NativeKernels,
  x: Operand,
  rows: number,
  cols: number,
  mean = false,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const xAt = engine.space.place(x),
      acc = engine.space.alloc(2 * cols),
      y = out ?? engine.space.alloc(cols);
    engine.run(
      "sum_rows_blocks",
      [xAt, rows, cols, mean ? 1 : 0, acc, y],
      Math.ceil(cols / engine.constants.COLUMN_BLOCK),
      { work: 8 * rows * cols },
    );
    return engine.space.view(y, cols);
  });
}

/**
 * softmax over each row of a row-major [rows, classes] matrix (classes ≤
 * {@linkcode MAX_SOFTMAX_CLASSES}); `out` and the result as for
 * `conv2d` (`convolution.ts`).
 */
export function softmaxRows(
  engine: NativeKernels,
  z: Operand,
  rows: number,
  classes: number,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const zAt = engine.space.place(z), p = out ?? engine.space.alloc(rows * classes);
    engine.runRows(
      "softmax_rows",
      [zAt, p, rows, classes, engine.space.place(EXP_CONSTANTS)],
      rows,
      classes,
    );
    return engine.space.view(p, rows * classes);
  });
}

/**
 * The gradient of {@linkcode softmaxRows} from its output p and the
 * output's gradient dp: p ⊙ (dp − ⟨p, dp⟩) per row; `out` and the result
 * as for `conv2d` (`convolution.ts`).
 */
export function softmaxRowsGrad(
  engine: NativeKernels,
  p: Operand,
  dp: Operand,
  rows: number,
  classes: number,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const pAt = engine.space.place(p),
      dpAt = engine.space.place(dp),
      dz = out ?? engine.space.alloc(rows * classes);
    engine.runRows("softmax_rows_grad", [pAt, dpAt, dz, rows, classes], rows, classes);
    return engine.space.view(dz, rows * classes);
  });
}

/**
 * Per row of logits z [rows, classes] and int32 class ids: `stats` [rows,
 * 2] = (m, ln Σ_c exp(z_c − m)) with m the row's maximum, and the
 * cross-entropy `loss` = m + ln Σ − z[y] (0 where the id is outside [0,
 * classes)); written at `out` (two offsets) or into the engine's memory.
 */
export function sparseSoftmaxCrossEntropy(
  engine: NativeKernels,
  z: Operand,
  labels: Operand,
  rows: number,
  classes: number,
  out?: { loss: number; stats: number },
): { loss: Float32Array; stats: Float32Array } {
  return engine.space.job(() => {
    const zAt = engine.space.place(z), labelsAt = engine.space.place(labels);
    const loss = out?.loss ?? engine.space.alloc(rows),
      stats = out?.stats ?? engine.space.alloc(2 * rows);
    const args = [zAt, labelsAt, loss, stats, rows, classes, engine.space.place(EXP_CONSTANTS)];
    engine.runRows("sparse_xent_rows", args, rows, classes);
    return { loss: engine.space.view(loss, rows), stats: engine.space.view(stats, 2 * rows) };
  });
}

/**
 * The gradient of {@linkcode sparseSoftmaxCrossEntropy}'s loss from the
 * loss's gradient `dloss` [rows]: dloss · (softmax(z) − onehot(y)) per
 * labelled row, 0 per ignored one; `out` and the result as for
 * `conv2d` (`convolution.ts`).
 */
export function sparseSoftmaxCrossEntropyGrad(
  engine: NativeKernels,
  z: Operand,
  labels: Operand,
  stats: Operand,
  dloss: Operand,
  rows: number,
  classes: number,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const zAt = engine.space.place(z), labelsAt = engine.space.place(labels);
    const statsAt = engine.space.place(stats), dlossAt = engine.space.place(dloss);
    const dz = out ?? engine.space.alloc(rows * classes);
    const args = [
      zAt,
      labelsAt,
      statsAt,
      dlossAt,
      dz,
      rows,
      classes,
      engine.space.place(EXP_CONSTANTS),
    ];
    engine.runRows("sparse_xent_rows_grad", args, rows, classes);
    return engine.space.view(dz, rows * classes);
  });
}

// -------------------------------------------------------------------- adapters

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
  const run = elementwiseEngine(x);
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
    (out) => sumRows(run, operand(heap, run, x), rows, size(kept), mean, out),
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
  const run = activeEngine(), shape = rowsOf(logits);
  if (!run || !shape || size(logits.shape) === 0) return undefined;
  return output(
    heap,
    run,
    [...logits.shape],
    "float32",
    (out) => softmaxRows(run, operand(heap, run, logits), ...shape, out),
  );
}

/** The engine and row shape for a fused kernel's call; throws where it cannot run. */
function fusedCall(name: string, z: Info): [NativeKernels, number, number] {
  const shape = rowsOf(z);
  const engine = activeEngine();
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
  return output(
    heap,
    run,
    [...p.shape],
    "float32",
    (out) =>
      softmaxRowsGrad(run, operand(heap, run, p), operand(heap, run, dp), rows, classes, out),
  );
}

function sparseCrossEntropyKernel({ inputs, backend }: KernelArgs): Info[] {
  const heap = backend as WasmHeap, { logits, labels } = inputs as Record<string, Info>;
  const [run, rows, classes] = fusedCall(SPARSE_SOFTMAX_CROSS_ENTROPY, logits);
  const rowShape = logits.shape.slice(0, -1);
  return outputs(heap, run, [rowShape, [...rowShape, 2]], (at) => {
    const z = operand(heap, run, logits), ids = operand(heap, run, labels);
    const result = sparseSoftmaxCrossEntropy(
      run,
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
  return output(
    heap,
    run,
    [...logits.shape],
    "float32",
    (out) =>
      sparseSoftmaxCrossEntropyGrad(
        run,
        operand(heap, run, logits),
        operand(heap, run, labels),
        operand(heap, run, stats),
        operand(heap, run, dloss),
        rows,
        classes,
        out,
      ),
  );
}

const NATIVE = {
  Sum: (heap: WasmHeap, { x }: Record<string, Info>, attrs: Attrs) => ourSum(heap, x, attrs),
  Mean: (heap: WasmHeap, { x }: Record<string, Info>, attrs: Attrs) => ourMean(heap, x, attrs),
  Softmax: (heap: WasmHeap, { logits }: Record<string, Info>) => ourSoftmax(heap, logits),
  SOFTMAX_GRAD: fused(softmaxGradKernel),
  SPARSE_SOFTMAX_CROSS_ENTROPY: fused(sparseCrossEntropyKernel),
  SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD: fused(sparseCrossEntropyGradKernel),
};

/**
 * The row-wise kernels, one spec each: what `wasm_registry.ts` registers on the
 * wasm backend.
 */
export const ROW_KERNELS: readonly WasmKernel[] = [
  {
    name: "Sum",
    drivers: ["sum_rows_blocks"],
    inputs: ["x"],
    native: NATIVE.Sum,
    fallback: "tfjs",
  },
  {
    name: "Mean",
    drivers: ["sum_rows_blocks"],
    inputs: ["x"],
    native: NATIVE.Mean,
    fallback: "tfjs",
  },
  {
    name: "Softmax",
    drivers: ["softmax_rows"],
    inputs: ["logits"],
    native: NATIVE.Softmax,
    fallback: "tfjs",
  },
  {
    name: SOFTMAX_GRAD,
    drivers: ["softmax_rows_grad"],
    inputs: ["p", "dp"],
    native: NATIVE.SOFTMAX_GRAD,
    fallback: "none",
  },
  {
    name: SPARSE_SOFTMAX_CROSS_ENTROPY,
    drivers: ["sparse_xent_rows"],
    inputs: ["logits", "labels"],
    native: NATIVE.SPARSE_SOFTMAX_CROSS_ENTROPY,
    fallback: "none",
  },
  {
    name: SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD,
    drivers: ["sparse_xent_rows_grad"],
    inputs: ["logits", "labels", "stats", "dloss"],
    native: NATIVE.SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD,
    fallback: "none",
  },
];
