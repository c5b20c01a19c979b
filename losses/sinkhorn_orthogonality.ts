/**
 * Orthogonality by balanced assignments [extension], after SwAV's
 * equal-partition codes (Caron et al., NeurIPS 2020): each class present in
 * the batch should sit in one group, and the groups should share the classes
 * out evenly. With the membership m^d [K, C] (m_k^d[c], the share of class
 * c's pixels that group k holds; `class_balanced_distribution.ts`), the
 * present classes C^d and their count n = |C^d|:
 *
 *     T^d = Sinkhorn(exp(m^d / τ))   rows summing to 1/K, columns to 1/n (over C^d)
 *     L_orth^d = −(1/n) Σ_{c ∈ C^d} Σ_k n·T^d[k,c] · log(m_k^d[c] + ε),   L_orth = Σ_d L_orth^d
 *
 * T^d, the codes, is a constant (no gradient): an even transport of the
 * present classes onto the groups that stays as close to today's membership
 * as the temperature τ allows; L_orth^d is the cross-entropy that pulls each
 * class's membership towards its code. Two groups that hold one class
 * between them hold less than their share 1/K, so the codes give them mass
 * of other classes, and the loss moves those classes' pixels into them at
 * first order: duplicates are no stationary point. It also keeps every group
 * in use, which the balance term L_bal does by another route.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sinkhornOrthogonality, tf } from "../mod.ts";
 * const m = tf.tensor2d([[0.98, 0.02], [0.02, 0.98]]);
 * assert.ok(sinkhornOrthogonality(m).dataSync()[0] < 0.1);
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";
import { withoutGradient } from "../lib/grad.ts";

/** The codes' temperature τ (SwAV's ε is 0.05; 0.1 balances a K × C membership within 10 iterations). */
export const SINKHORN_TEMPERATURE = 0.1;

/** Sinkhorn iterations (SwAV uses 3 on large batches; a K × C membership needs about 10 at τ 0.1). */
export const SINKHORN_ITERATIONS = 10;

const LOG_EPS = 1e-6;

/**
 * The balanced codes T [K, C] of a membership m [K, C] over the present
 * classes (columns of `present` 1): rows sum to 1/K, present columns to 1/n
 * (after the last column step, exactly), absent columns 0.
 */
function codes(m: Tensor, present: Tensor, temperature: number, iterations: number): Tensor {
  const [k] = m.shape;
  const n = tf.maximum(tf.sum(present), 1);
  let t = tf.mul(tf.exp(tf.div(tf.sub(m, tf.max(m)), temperature)), present);
  t = tf.div(t, tf.sum(t));
  for (let i = 0; i < iterations; i++) {
    t = tf.div(t, tf.mul(tf.add(tf.sum(t, 1, true), 1e-12), k));
    t = tf.mul(tf.div(t, tf.mul(tf.add(tf.sum(t, 0, true), 1e-12), n)), present);
  }
  return t;
}

/**
 * L_orth^d by balanced assignments for one domain's membership m [K, C]
 * (each present class's column sums to 1 over the groups; a column summing
 * to less than ½ counts as absent). CDGA's L_orth with
 * `orthogonality: "sinkhorn"` sums it over both domains.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sinkhornOrthogonality, tf } from "../mod.ts";
 * // Two groups that split one class, a third that holds both others: worse than one class each.
 * const duplicates = tf.tensor2d([[0.5, 0.01, 0.01], [0.49, 0.01, 0.01], [0.01, 0.98, 0.98]]);
 * const apart = tf.tensor2d([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98]]);
 * assert.ok(sinkhornOrthogonality(duplicates).dataSync()[0] > sinkhornOrthogonality(apart).dataSync()[0]);
 * assert.throws(() => sinkhornOrthogonality(tf.tensor2d([[1, 1]])), /at least 2 groups/);
 * ```
 */
export function sinkhornOrthogonality(
  membership: Tensor,
  options: { temperature?: number; iterations?: number } = {},
): Scalar {
  const [k] = membership.shape;
  if (membership.rank !== 2 || k < 2) {
    throw new Error(
      `sinkhornOrthogonality: needs at least 2 groups as m [K, C], got [${membership.shape}]`,
    );
  }
  const temperature = options.temperature ?? SINKHORN_TEMPERATURE;
  const iterations = options.iterations ?? SINKHORN_ITERATIONS;
  if (!(temperature > 0) || !(Number.isInteger(iterations) && iterations >= 1)) {
    throw new Error(
      `sinkhornOrthogonality: temperature > 0 and iterations ≥ 1, got ${temperature}, ${iterations}`,
    );
  }
  return tf.tidy(() => {
    const present = withoutGradient(
      (m) => tf.cast(tf.greater(tf.sum(m, 0), 0.5), "float32"),
      membership,
    );
    const target = withoutGradient(
      (m, p) => codes(m, p, temperature, iterations),
      membership,
      present,
    );
    // (1/n) Σ_c Σ_k n·T[k,c] · log m is Σ T · log m.
    return tf.neg(tf.sum(tf.mul(target, tf.log(tf.add(membership, LOG_EPS))))) as Scalar;
  });
}
