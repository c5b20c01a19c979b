/**
 * The layers the networks are built from, as pure functions over parameter
 * records: convolution (with dilation, PyTorch-style symmetric padding),
 * batch normalisation (frozen running statistics or batch statistics) and
 * their initialisers. Tensors are NHWC, kernels HWIO.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv, initConv } from "./layers.ts";
 * import { random, tf } from "../mod.ts";
 * const p = initConv(random.key(0), [3, 3, 3, 8]);
 * const y = conv(p, tf.zeros([1, 16, 16, 3]), { stride: 2 });
 * assert.deepEqual(y.shape, [1, 8, 8, 8]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { conv2dBiasActivation } from "../lib/conv2d_bias_activation.ts";
import { normalised } from "../lib/normalised.ts";
import { type Key, normal } from "../lib/random.ts";
import { stopGradient, withoutGradient } from "../lib/grad.ts";

/** A convolution's parameters: kernel [kh, kw, in, out] and optional bias. */
export type ConvParams = { kernel: Tensor; bias?: Tensor };

/** Batch-norm parameters: affine γ, β and running statistics. */
export type BatchNormParams = { gamma: Tensor; beta: Tensor; mean: Tensor; variance: Tensor };

/** Layer-norm parameters: affine γ and β over channels. */
export type LayerNormParams = { gamma: Tensor; beta: Tensor };

/**
 * How batch normalisation normalises: `"frozen"` with the running statistics
 * (evaluation, and pretrained networks in training), `"batch"` with the
 * statistics of the batch at hand (training from scratch).
 */
export type NormMode = typeof NORM_MODES[number];

/**
 * The batch-norm modes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initDeepLab, NORM_MODES, random, tree } from "../mod.ts";
 * // "batch" trains on batch statistics, "frozen" uses the running ones (AdaptSegNet's choice).
 * const params = initDeepLab(random.key(0), { depth: 18, width: 0.125, classes: 3, norm: NORM_MODES[1] });
 * assert.ok(tree.count(params) > 0);
 * tree.dispose(params);
 * ```
 */
export const NORM_MODES = ["batch", "frozen"] as const;

/**
 * Where a training forward pass reports the batch statistics it normalised
 * with: for each batch-norm layer (keyed by its parameter record), the mean
 * and the unbiased variance of its input over N, H, W, in call order. Made by
 * the caller for one forward pass and read by {@linkcode runningStatistics}.
 */
export type BatchStatistics = Map<BatchNormParams, { mean: Tensor; variance: Tensor }[]>;

/** PyTorch's default momentum of the running statistics. */
export const RUNNING_MOMENTUM = 0.1;

/**
 * A convolution with He-normal weights (fan-in, as for ReLU nets) or a given
 * standard deviation, and a zero bias unless `bias: false`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initConv } from "./layers.ts";
 * import { random } from "../mod.ts";
 * const head = initConv(random.key(1), [3, 3, 64, 19], { stddev: 0.01 });
 * assert.deepEqual([head.kernel.shape, head.bias?.shape], [[3, 3, 64, 19], [19]]);
 * ```
 */
export function initConv(
  k: Key,
  shape: [number, number, number, number],
  options: { bias?: boolean; stddev?: number } = {},
): ConvParams {
  const [kh, kw, cin, cout] = shape;
  const stddev = options.stddev ?? Math.sqrt(2 / (kh * kw * cin));
  const kernel = normal(k, shape, { stddev });
  return options.bias === false ? { kernel } : { kernel, bias: tf.zeros([cout]) };
}

/**
 * Applies a convolution, its bias, and an activation if asked (one kernel
 * where the backend has it: `lib/conv2d_bias_activation.ts`). Padding
 * defaults to PyTorch's symmetric `dilation·(k − 1)/2` on each side (so
 * stride-2 layers align as in converted PyTorch weights); `"same"` and
 * `"valid"` are tfjs's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv, initConv } from "./layers.ts";
 * import { random, tf } from "../mod.ts";
 * const y = conv(initConv(random.key(0), [3, 3, 4, 4]), tf.ones([1, 9, 9, 4]), { dilation: 2 });
 * assert.deepEqual(y.shape, [1, 9, 9, 4]);
 * ```
 */
export function conv(
  p: ConvParams,
  x: Tensor,
  options: {
    stride?: number;
    dilation?: number;
    padding?: "symmetric" | "same" | "valid";
    /** After the bias: "linear" (none, the default), "relu" or "leakyrelu" (slope `alpha`). */
    activation?: "linear" | "relu" | "leakyrelu";
    /** Leaky relu's slope for negative inputs (0.2 by default). */
    alpha?: number;
  } = {},
): Tensor {
  const { stride = 1, dilation = 1, padding = "symmetric", activation = "linear", alpha = 0.2 } =
    options;
  const [kh, kw] = p.kernel.shape;
  let pad: "same" | "valid" | tf.backend_util.ExplicitPadding;
  if (padding === "symmetric") {
    const ph = (dilation * (kh - 1)) >> 1, pw = (dilation * (kw - 1)) >> 1;
    pad = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
  } else pad = padding;
  if (p.bias) {
    return conv2dBiasActivation(x, p.kernel, p.bias, {
      strides: stride,
      pad,
      dilations: dilation,
      activation,
      alpha,
    });
  }
  const y = tf.conv2d(x as tf.Tensor4D, p.kernel as tf.Tensor4D, stride, pad, "NHWC", dilation);
  if (activation === "relu") return tf.relu(y);
  return activation === "leakyrelu" ? tf.leakyRelu(y, alpha) : y;
}

/**
 * Batch norm with γ = 1, β = 0, running mean 0 and variance 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBatchNorm } from "./layers.ts";
 * assert.deepEqual(initBatchNorm(64).gamma.shape, [64]);
 * ```
 */
export function initBatchNorm(channels: number): BatchNormParams {
  return {
    gamma: tf.ones([channels]),
    beta: tf.zeros([channels]),
    mean: tf.zeros([channels]),
    variance: tf.ones([channels]),
  };
}

/**
 * Batch normalisation. `frozen` uses the running statistics (which get no
 * gradient), as UDA work trains DeepLab-V2, and as every network is
 * evaluated; `batch` normalises with the statistics of this batch over N, H,
 * W and, given `record`, reports them there so that the caller can update the
 * running statistics ({@linkcode runningStatistics}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchNorm, initBatchNorm } from "./layers.ts";
 * import { tf } from "../mod.ts";
 * const y = batchNorm(initBatchNorm(2), tf.ones([1, 2, 2, 2]), "frozen");
 * assert.deepEqual(y.shape, [1, 2, 2, 2]);
 * ```
 */
export function batchNorm(
  p: BatchNormParams,
  x: Tensor,
  mode: NormMode,
  eps = 1e-5,
  record?: BatchStatistics,
): Tensor {
  if (mode === "batch" && record) {
    const axes = [...Array(x.rank - 1).keys()];
    const n = x.size / x.shape[x.rank - 1];
    const mean = withoutGradient((v) => tf.mean(v, axes), x);
    // PyTorch tracks the unbiased variance n/(n − 1)·σ² (it normalises with the biased one).
    const variance = withoutGradient(
      (v, m) => tf.mul(tf.mean(tf.square(tf.sub(v, m)), axes), n / Math.max(1, n - 1)),
      x,
      mean,
    );
    const list = record.get(p) ?? [];
    list.push({ mean, variance });
    record.set(p, list);
  }
  if (mode === "frozen") {
    const { scale, shift } = frozenAffine(p, eps);
    return tf.add(tf.mul(x, scale), shift);
  }
  return normalised(x, p.gamma, p.beta, "batch", eps);
}

/**
 * A frozen batch norm as the per-channel affine map it is: y = x·scale +
 * shift, scale = γ/√(σ² + ε), shift = β − μ·scale, with the running
 * statistics μ, σ² held constant (no gradient). A convolution followed by it
 * equals the convolution by w·scale plus the bias shift.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frozenAffine, initBatchNorm } from "./layers.ts";
 * import { tf } from "../mod.ts";
 * const { scale, shift } = frozenAffine(initBatchNorm(2), 0);
 * assert.deepEqual(Array.from(scale.dataSync()), [1, 1]);
 * assert.deepEqual(Array.from(shift.dataSync()), [0, 0]);
 * ```
 */
export function frozenAffine(p: BatchNormParams, eps = 1e-5): { scale: Tensor; shift: Tensor } {
  const scale = tf.mul(p.gamma, tf.rsqrt(tf.add(stopGradient(p.variance), eps)));
  const shift = tf.sub(p.beta, tf.mul(stopGradient(p.mean), scale));
  return { scale, shift };
}

/**
 * Layer normalisation over the channels of each pixel, with γ and β: no
 * dependence on the batch, so training and evaluation agree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layerNorm } from "./layers.ts";
 * import { tf } from "../mod.ts";
 * const y = layerNorm({ gamma: tf.ones([3]), beta: tf.zeros([3]) }, tf.tensor4d([1, 2, 3], [1, 1, 1, 3]));
 * assert.deepEqual(y.shape, [1, 1, 1, 3]);
 * ```
 */
export function layerNorm(p: LayerNormParams, x: Tensor, eps = 1e-5): Tensor {
  return normalised(x, p.gamma, p.beta, "channels", eps);
}

function isBatchNorm(node: unknown): node is BatchNormParams {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return false;
  const r = node as Record<string, unknown>;
  return ["gamma", "beta", "mean", "variance"].every((k) => r[k] instanceof tf.Tensor);
}

/** A tree of running statistics: the batch-norm records of a network, pruned to mean and variance. */
export type RunningStatistics =
  | { readonly [key: string]: RunningStatistics }
  | readonly RunningStatistics[]
  | {
    mean: Tensor;
    variance: Tensor;
  };

/**
 * The running statistics after one training forward pass, as PyTorch updates
 * them: for each recorded batch (in call order)
 * `running ← (1 − momentum)·running + momentum·batch`, for the mean and the
 * unbiased variance. Returns a tree holding only the batch-norm records of
 * `params` (their `mean` and `variance`); layers the pass did not record keep
 * their values. Merge it into the parameters with
 * {@linkcode withRunningStatistics}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchNorm, initBatchNorm, runningStatistics, withRunningStatistics } from "./layers.ts";
 * import { tf } from "../mod.ts";
 * import type { BatchStatistics } from "../mod.ts";
 * const params = { bn: initBatchNorm(1) };
 * const record: BatchStatistics = new Map();
 * batchNorm(params.bn, tf.tensor4d([1, 3], [1, 1, 2, 1]), "batch", 1e-5, record);
 * const next = withRunningStatistics(params, runningStatistics(params, record));
 * assert.ok(Math.abs(next.bn.mean.dataSync()[0] - 0.2) < 1e-6); // 0.9 · 0 + 0.1 · 2
 * ```
 */
export function runningStatistics(
  params: unknown,
  record: BatchStatistics,
  momentum = RUNNING_MOMENTUM,
): RunningStatistics {
  const walk = (node: unknown): RunningStatistics | undefined => {
    if (isBatchNorm(node)) {
      let { mean, variance } = node;
      for (const batch of record.get(node) ?? []) {
        mean = tf.add(tf.mul(mean, 1 - momentum), tf.mul(batch.mean, momentum));
        variance = tf.add(tf.mul(variance, 1 - momentum), tf.mul(batch.variance, momentum));
      }
      return { mean, variance };
    }
    if (Array.isArray(node)) {
      const items = node.map(walk);
      return items.some((i) => i !== undefined) ? items.map((i) => i ?? {}) : undefined;
    }
    if (node !== null && typeof node === "object" && !(node instanceof tf.Tensor)) {
      const out: Record<string, RunningStatistics> = {};
      for (const [key, value] of Object.entries(node)) {
        const sub = walk(value);
        if (sub !== undefined) out[key] = sub;
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    return undefined;
  };
  return walk(params) ?? {};
}

/**
 * `params` with the running statistics of `statistics` (a tree from
 * {@linkcode runningStatistics}) in place of its own; every other leaf is
 * the same tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBatchNorm, withRunningStatistics } from "./layers.ts";
 * import { tf } from "../mod.ts";
 * const params = { bn: initBatchNorm(1) };
 * const next = withRunningStatistics(params, { bn: { mean: tf.ones([1]), variance: tf.ones([1]) } });
 * assert.deepEqual([next.bn.mean.dataSync()[0], next.bn.gamma === params.bn.gamma], [1, true]);
 * ```
 */
export function withRunningStatistics<T>(params: T, statistics: RunningStatistics): T {
  const merge = (node: unknown, stats: unknown): unknown => {
    if (stats === undefined || node instanceof tf.Tensor) return node;
    if (isBatchNorm(node)) {
      const s = stats as { mean?: Tensor; variance?: Tensor };
      return { ...node, mean: s.mean ?? node.mean, variance: s.variance ?? node.variance };
    }
    if (Array.isArray(node)) {
      return node.map((item, i) => merge(item, (stats as unknown[])[i]));
    }
    if (node !== null && typeof node === "object") {
      const s = stats as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, merge(value, s[key])]),
      );
    }
    return node;
  };
  return merge(params, statistics) as T;
}

/**
 * Averages a map [N, H, W, C] down to `grid` cells: windows of ⌈H/h⌉ × ⌈W/w⌉
 * ("same" padding), resized bilinearly where those windows do not land on
 * the grid exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../lib/tf.ts";
 * import { averageToGrid } from "./layers.ts";
 * const a = averageToGrid(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), [1, 1]);
 * assert.deepEqual([a.shape, a.dataSync()[0]], [[1, 1, 1, 1], 2.5]);
 * ```
 */
export function averageToGrid(x: Tensor, grid: [number, number]): Tensor {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const fh = Math.ceil(h! / grid[0]), fw = Math.ceil(w! / grid[1]);
    const averaged = tf.avgPool(x as tf.Tensor4D, [fh, fw], [fh, fw], "same");
    return averaged.shape[1] === grid[0] && averaged.shape[2] === grid[1]
      ? averaged
      : tf.image.resizeBilinear(averaged, grid, false, true);
  });
}
