/**
 * Orthogonality by the squared Gram matrix [extension]: different groups
 * should hold distinct classes, in a form that separates duplicate groups at
 * first order.
 *
 *     L_orth^d = (1/(K(K−1))) Σ_{k≠l} (q_k^d · q_l^d)²,    L_orth = Σ_d L_orth^d
 *
 * the mean squared off-diagonal entry of the group × group Gram matrix
 * Q Qᵀ of the group class distributions q^d [K, C] (rows on the simplex, as
 * `group_distribution.ts` and `class_balanced_distribution.ts` give them).
 * With non-negative q it is in [0, 1] and 0 exactly when the groups' class
 * supports are disjoint, like the cosine form (`orthogonality.ts`). Unlike
 * it, it is not normalised by the rows' lengths, so two groups that hold one
 * and the same class are no stationary point: moving a share t of either
 * group's mass to another class lowers their overlap (1 − t) at first order,
 * where the cosine, 1 − t²/2 + …, moves only at second order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gramOrthogonality, tf } from "../mod.ts";
 * assert.equal(gramOrthogonality(tf.tensor2d([[1, 0], [0, 1]])).dataSync()[0], 0);
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";

/**
 * L_orth^d = (1/(K(K−1))) Σ_{k≠l} (q_k · q_l)² for one domain's group class
 * distributions q [K, C]; CDGA's L_orth with `orthogonality: "gram"` sums it
 * over both domains.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gramOrthogonality, tf } from "../mod.ts";
 * assert.equal(gramOrthogonality(tf.tensor2d([[1, 0], [0, 1]])).dataSync()[0], 0); // disjoint
 * assert.equal(gramOrthogonality(tf.tensor2d([[1, 0], [1, 0]])).dataSync()[0], 1); // duplicates
 * assert.throws(() => gramOrthogonality(tf.tensor2d([[1, 0]])), /at least 2 groups/);
 * ```
 */
export function gramOrthogonality(q: Tensor): Scalar {
  const [k] = q.shape;
  if (q.rank !== 2 || k < 2) {
    throw new Error(`gramOrthogonality: needs at least 2 groups as q [K, C], got [${q.shape}]`);
  }
  return tf.tidy(() => {
    const gram = tf.matMul(q, q, false, true); // [K, K]
    const squared = tf.square(gram);
    const offDiagonal = tf.sub(tf.sum(squared), tf.sum(tf.mul(squared, tf.eye(k))));
    return tf.div(offDiagonal, k * (k - 1)) as Scalar;
  });
}
