/**
 * ADVENT's entropy terms (Vu et al. 2019), from logits z so that they stay
 * finite for saturated predictions (P = softmax(z)):
 *
 *     I = −P ⊙ log P                                 (weighted self-information map, AdvEnt's D input)
 *     L_ent = (1/|pixels|) Σ_i Σ_c I_{i,c} / log C    (MinEnt, in [0, 1])
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanEntropy, tf } from "../mod.ts";
 * assert.deepEqual(meanEntropy(tf.zeros([1, 2, 2, 5])).dataSync()[0].toFixed(4), "1.0000");
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";

/**
 * ADVENT's weighted self-information map I = −P ⊙ log P [N, h, w, C], P =
 * softmax(logits): what AdvEnt's discriminator sees.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selfInformation, tf } from "../mod.ts";
 * const i = selfInformation(tf.zeros([1, 1, 1, 2])).dataSync(); // P = (½, ½)
 * assert.ok(i.every((v) => Math.abs(v - Math.log(2) / 2) < 1e-6));
 * ```
 */
export function selfInformation(logits: Tensor): Tensor {
  return tf.tidy(() => tf.neg(tf.mul(tf.softmax(logits), tf.logSoftmax(logits))));
}

/**
 * MinEnt's loss, L_ent = mean_i (−Σ_c P[i,c] log P[i,c]) / log C: the mean
 * per-pixel entropy of the predictions, normalised to [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanEntropy, tf } from "../mod.ts";
 * assert.ok(Math.abs(meanEntropy(tf.zeros([1, 2, 2, 5])).dataSync()[0] - 1) < 1e-6); // uniform
 * assert.ok(meanEntropy(tf.tensor4d([50, 0, 0, 0, 0], [1, 1, 1, 5])).dataSync()[0] < 1e-6); // certain
 * ```
 */
export function meanEntropy(logits: Tensor): Scalar {
  const classes = logits.shape[logits.rank - 1];
  if (classes < 2) throw new Error(`entropy: needs at least 2 classes, got ${classes}`);
  return tf.tidy(() =>
    tf.div(tf.mean(tf.sum(selfInformation(logits), -1)), Math.log(classes)) as Scalar
  );
}
