/**
 * Semantic consistency (CDGA, reconstructed): a group should hold the same
 * categories in both domains.
 *
 *     L_sc = (1/K) Σ_k D(q_k^s, q_k^t)
 *
 * with D = ‖·‖₁ (default), squared L2, or the Jensen–Shannon divergence of
 * the rows renormalised to distributions (`js`, in nats). q^s, q^t: the group
 * class distributions [K, C] of `group_distribution.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { semanticConsistency, tf } from "../mod.ts";
 * const qs = tf.tensor2d([[1, 0], [0, 1]]), qt = tf.tensor2d([[0.5, 0.5], [0, 1]]);
 * assert.deepEqual(semanticConsistency(qs, qt).dataSync()[0], 0.5);
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";

/**
 * The distances L_sc may use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONSISTENCY_DISTANCES, resolveConfig } from "../mod.ts";
 * const config = resolveConfig({ method: "cdga", seg: { classes: 5 }, consistency: "js" });
 * assert.ok(CONSISTENCY_DISTANCES.includes(config.consistency));
 * ```
 */
export const CONSISTENCY_DISTANCES = ["l1", "l2", "js"] as const;

/** The distance between a group's two class distributions. */
export type ConsistencyDistance = typeof CONSISTENCY_DISTANCES[number];

const TINY = 1e-12;

function rowDistributions(q: Tensor): Tensor {
  const positive = tf.add(tf.relu(q), TINY);
  return tf.div(positive, tf.sum(positive, 1, true));
}

/**
 * Semantic consistency, L_sc = (1/K) Σ_k D(q_k^s, q_k^t): a group should
 * hold the same classes in both domains. q^s, q^t [K, C] are the group class
 * distributions of each domain; D is ‖·‖₁ (`"l1"`, default), the squared L2
 * distance (`"l2"`) or the Jensen–Shannon divergence of the rows renormalised
 * (`"js"`, nats). 0 exactly when q^s = q^t.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { semanticConsistency, tf } from "../mod.ts";
 * const qSource = tf.tensor2d([[1, 0], [0, 1]]); // K = 2 groups, C = 2 classes
 * const qTarget = tf.tensor2d([[0.5, 0.5], [0, 1]]);
 * assert.equal(semanticConsistency(qSource, qTarget).dataSync()[0], 0.5); // (1 + 0) / 2
 * assert.equal(semanticConsistency(qSource, qSource, "js").dataSync()[0], 0);
 * ```
 */
export function semanticConsistency(
  qSource: Tensor,
  qTarget: Tensor,
  distance: ConsistencyDistance = "l1",
): Scalar {
  if (qSource.shape.join() !== qTarget.shape.join()) {
    throw new Error(
      `semantic consistency: shapes [${qSource.shape}] and [${qTarget.shape}] differ`,
    );
  }
  return tf.tidy(() => {
    const diff = tf.sub(qSource, qTarget);
    switch (distance) {
      case "l1":
        return tf.mean(tf.sum(tf.abs(diff), 1)) as Scalar;
      case "l2":
        return tf.mean(tf.sum(tf.square(diff), 1)) as Scalar;
      case "js": {
        const p = rowDistributions(qSource), q = rowDistributions(qTarget);
        const m = tf.div(tf.add(p, q), 2);
        const kl = (a: Tensor) => tf.sum(tf.mul(a, tf.sub(tf.log(a), tf.log(m))), 1);
        return tf.mean(tf.relu(tf.div(tf.add(kl(p), kl(q)), 2))) as Scalar;
      }
      default:
        throw new Error(`semantic consistency: distance must be l1, l2 or js, got ${distance}`);
    }
  });
}
