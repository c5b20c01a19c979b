/**
 * C, the cross-domain grouping network of CDGA: a per-pixel soft assignment
 * of every pixel to K groups (sub-spaces), A = softmax_K(C(·)).
 *
 * Reconstructed (the paper's architecture is not available): three 1×1
 * convolutions, the first two followed by layer normalisation over channels
 * and ReLU. Layer norm, not batch norm, so that the assignment of a pixel
 * does not depend on the rest of its batch or domain. The input is
 * `concat(P, feature)` (default; gradients flow into the backbone through the
 * feature) or `P` alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyGrouping, initGrouping, random, tf } from "../mod.ts";
 * const config = { classes: 11, featureChannels: 16, groups: 4 };
 * const params = initGrouping(random.key(0), config);
 * const a = applyGrouping(params, { probs: tf.fill([1, 4, 4, 11], 1 / 11), feature: tf.zeros([1, 4, 4, 16]) }, config);
 * assert.deepEqual(a.shape, [1, 4, 4, 4]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { type Key, split } from "../lib/random.ts";
import {
  averageToGrid,
  conv,
  type ConvParams,
  initConv,
  layerNorm,
  type LayerNormParams,
} from "./layers.ts";

/** C's configuration. */
export interface GroupingConfig {
  /** Classes C (channels of P). */
  classes: number;
  /** Channels of the backbone feature (ignored when `input` is "probs"). */
  featureChannels: number;
  /** Groups K ≥ 2. */
  groups: number;
  /** What C reads: "probs+feature" (default) or "probs". */
  input?: "probs+feature" | "probs";
  /** Hidden width (default 64). */
  hidden?: number;
  /** Channels of the appearance input C also reads (default 0: none). */
  appearanceChannels?: number;
}

/** C's parameters. */
export type GroupingParams = {
  conv1: ConvParams;
  norm1: LayerNormParams;
  conv2: ConvParams;
  norm2: LayerNormParams;
  conv3: ConvParams;
};

function validate(config: GroupingConfig): void {
  if (!Number.isInteger(config.groups) || config.groups < 2) {
    throw new Error(`grouping: K (groups) must be an integer ≥ 2, got ${config.groups}`);
  }
  if (config.input && !["probs+feature", "probs"].includes(config.input)) {
    throw new Error(`grouping: input must be "probs+feature" or "probs", got ${config.input}`);
  }
}

/**
 * Initialises C.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initGrouping, random } from "../mod.ts";
 * const c = initGrouping(random.key(0), { classes: 19, featureChannels: 2048, groups: 8 });
 * assert.deepEqual(c.conv3.kernel.shape, [1, 1, 64, 8]);
 * ```
 */
export function initGrouping(k: Key, config: GroupingConfig): GroupingParams {
  validate(config);
  const hidden = config.hidden ?? 64;
  const inC = config.classes +
    ((config.input ?? "probs+feature") === "probs" ? 0 : config.featureChannels) +
    (config.appearanceChannels ?? 0);
  const [k1, k2, k3] = split(k, 3);
  const norm = () => ({ gamma: tf.ones([hidden]), beta: tf.zeros([hidden]) });
  return {
    conv1: initConv(k1, [1, 1, inC, hidden]),
    norm1: norm(),
    conv2: initConv(k2, [1, 1, hidden, hidden]),
    norm2: norm(),
    conv3: initConv(k3, [1, 1, hidden, config.groups], { stddev: 0.01 }),
  };
}

/**
 * C's group logits [N, h, w, K] (before the softmax over K) from P and G's
 * feature.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupingLogits, initGrouping, random, tf } from "../mod.ts";
 * const config = { classes: 3, featureChannels: 8, groups: 4 };
 * const params = initGrouping(random.key(0), config);
 * const input = { probs: tf.fill([1, 2, 2, 3], 1 / 3), feature: tf.zeros([1, 2, 2, 8]) };
 * assert.deepEqual(groupingLogits(params, input, config).shape, [1, 2, 2, 4]);
 * ```
 */
export function groupingLogits(
  p: GroupingParams,
  input: { probs: Tensor; feature?: Tensor; appearance?: Tensor },
  config: GroupingConfig,
): Tensor {
  validate(config);
  const useFeature = (config.input ?? "probs+feature") === "probs+feature";
  if (useFeature && !input.feature) throw new Error("grouping: this C reads the feature too");
  const appearanceChannels = config.appearanceChannels ?? 0;
  if (appearanceChannels > 0 && input.appearance?.shape[3] !== appearanceChannels) {
    throw new Error(
      `grouping: this C reads ${appearanceChannels} appearance channels, got ${
        input.appearance ? input.appearance.shape[3] : "none"
      }`,
    );
  }
  const parts = [input.probs];
  if (useFeature) parts.push(input.feature!);
  if (appearanceChannels > 0) parts.push(input.appearance!);
  const x = parts.length === 1 ? input.probs : tf.concat(parts, -1);
  let h = tf.relu(layerNorm(p.norm1, conv(p.conv1, x)));
  h = tf.relu(layerNorm(p.norm2, conv(p.conv2, h)));
  return conv(p.conv3, h);
}

/**
 * C: the soft assignment A = softmax_K(C(P, feature)) [N, h, w, K]; every
 * pixel's row sums to 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyGrouping, initGrouping, random, tf } from "../mod.ts";
 * const config = { classes: 3, featureChannels: 8, groups: 4 };
 * const params = initGrouping(random.key(0), config);
 * const input = { probs: tf.fill([1, 2, 2, 3], 1 / 3), feature: random.normal(random.key(1), [1, 2, 2, 8]) };
 * const rows = tf.sum(applyGrouping(params, input, config), -1).dataSync();
 * assert.ok(rows.every((v) => Math.abs(v - 1) < 1e-5));
 * ```
 */
export function applyGrouping(
  p: GroupingParams,
  input: { probs: Tensor; feature?: Tensor; appearance?: Tensor },
  config: GroupingConfig,
): Tensor {
  return tf.softmax(groupingLogits(p, input, config));
}

/** Channels of a cell's appearance: the mean and standard deviation of each colour channel. */
export const APPEARANCE_CHANNELS = 6;

/**
 * Each output cell's appearance [N, h, w, 6]: the mean and standard
 * deviation of the normalised input's colour over the cell, a constant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../lib/tf.ts";
 * import { cellAppearance } from "./grouping.ts";
 * const a = cellAppearance(tf.ones([1, 16, 16, 3]), [2, 2]);
 * const cell = Array.from(a.dataSync().slice(0, 6), (v) => Math.round(v * 1e3) / 1e3);
 * assert.deepEqual([a.shape, cell], [[1, 2, 2, 6], [1, 1, 1, 0, 0, 0]]);
 * ```
 */
export function cellAppearance(images: Tensor, grid: [number, number]): Tensor {
  return tf.tidy(() => {
    const mean = averageToGrid(images, grid);
    const variance = tf.relu(tf.sub(averageToGrid(tf.square(images), grid), tf.square(mean)));
    return tf.concat([mean, tf.sqrt(tf.add(variance, 1e-12))], -1);
  });
}
