/**
 * Adversarial losses on discriminator logits d (1 = source, 0 = target).
 *
 *     BCE(d, t) = mean_j [ softplus(−d_j) if t = 1, softplus(d_j) if t = 0 ]
 *     LS(d, t)  = mean_j (d_j − t)²                       (least squares, Mao et al. 2017)
 *
 * With weights w_j ≥ 0 (CDGA's class-equivalence weights, pooled to D's
 * output grid) the mean becomes Σ_j w_j ℓ_j / Σ_j w_j.
 *
 * CDGA's group-level loss averages that over the K groups (the group
 * discriminator's K logit maps d^k, weights w^k):
 *
 *     L_adv^group(d, t) = (1/K) Σ_k  Σ_j w^k_j ℓ(d^k_j, t) / Σ_j w^k_j
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adversarialLoss, tf } from "../mod.ts";
 * assert.deepEqual(adversarialLoss(tf.zeros([1, 2, 2, 1]), 1).dataSync()[0].toFixed(4), "0.6931");
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";

/** The adversarial objective. */
export type AdversarialKind = "bce" | "ls";

/** ℓ(d_j, t) for every logit: BCE as softplus, or the squared distance (LS). */
function perLogitLoss(logits: Tensor, target: 0 | 1, kind: AdversarialKind | undefined): Tensor {
  const chosen = kind ?? "bce";
  if (chosen !== "bce" && chosen !== "ls") {
    throw new Error(`adversarial: kind must be "bce" or "ls", got ${chosen}`);
  }
  return chosen === "bce"
    ? tf.softplus(target === 1 ? tf.neg(logits) : logits)
    : tf.square(tf.sub(logits, target));
}

/**
 * The (weighted) adversarial loss of logits against a domain label.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adversarialLoss, tf } from "../mod.ts";
 * assert.deepEqual(adversarialLoss(tf.fill([4], 1), 0, { kind: "ls" }).dataSync()[0], 1);
 * ```
 */
export function adversarialLoss(
  logits: Tensor,
  target: 0 | 1,
  options: { kind?: AdversarialKind; weights?: Tensor } = {},
): Scalar {
  return tf.tidy(() => {
    const perLogit = perLogitLoss(logits, target, options.kind);
    if (!options.weights) return tf.mean(perLogit) as Scalar;
    const w = tf.broadcastTo(options.weights, perLogit.shape);
    return tf.div(tf.sum(tf.mul(perLogit, w)), tf.maximum(tf.sum(w), 1e-12)) as Scalar;
  });
}

/**
 * The fraction of logits on the right side of 0 for their domain label: the
 * discriminator's accuracy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discriminatorAccuracy, tf } from "../mod.ts";
 * assert.deepEqual(discriminatorAccuracy(tf.tensor1d([2, -1]), tf.tensor1d([-3, -1])).dataSync()[0], 0.75);
 * ```
 */
export function discriminatorAccuracy(
  sourceLogits: Tensor,
  targetLogits: Tensor,
  kind: AdversarialKind = "bce",
): Scalar {
  const threshold = kind === "ls" ? 0.5 : 0;
  return tf.tidy(() => {
    const right = tf.add(
      tf.sum(tf.cast(tf.greater(sourceLogits, threshold), "float32")),
      tf.sum(tf.cast(tf.lessEqual(targetLogits, threshold), "float32")),
    );
    return tf.div(right, sourceLogits.size + targetLogits.size) as Scalar;
  });
}

/**
 * CDGA's group-level adversarial loss: the (weighted) adversarial loss of
 * each group's logit map, averaged over the K groups (axis 0 of `logits`;
 * `weights`, when given, has the same shape or broadcasts to it). Computed
 * for all groups at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupAdversarialLoss, tf } from "../mod.ts";
 * assert.deepEqual(groupAdversarialLoss(tf.zeros([8, 1, 2, 2]), 0).dataSync()[0].toFixed(4), "0.6931");
 * ```
 */
export function groupAdversarialLoss(
  logits: Tensor,
  target: 0 | 1,
  options: { kind?: AdversarialKind; weights?: Tensor } = {},
): Scalar {
  const k = logits.shape[0];
  return tf.tidy(() => {
    const perLogit = tf.reshape(perLogitLoss(logits, target, options.kind), [k, -1]);
    if (!options.weights) return tf.mean(perLogit) as Scalar;
    const w = options.weights.size === logits.size
      ? tf.reshape(options.weights, [k, -1])
      : tf.reshape(tf.broadcastTo(options.weights, logits.shape), [k, -1]);
    const perGroup = tf.div(
      tf.sum(tf.mul(perLogit, w), 1),
      tf.maximum(tf.sum(w, 1), 1e-12),
    );
    return tf.mean(perGroup) as Scalar;
  });
}
