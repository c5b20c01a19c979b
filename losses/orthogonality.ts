/**
 * Orthogonality (CDGA, reconstructed): different groups should hold distinct
 * classes.
 *
 *     L_orth^d = (1/(K(K−1))) Σ_{k≠l} cos(q_k^d, q_l^d),    L_orth = Σ_d L_orth^d
 *
 * cos(a, b) = a·b / (‖a‖‖b‖ + ε). With non-negative q each term is in [0, 1],
 * and L_orth^d is 0 exactly when the groups' class supports are disjoint. A
 * group with no mass (q_k = 0) is orthogonal to every other.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthogonality, tf } from "../mod.ts";
 * assert.deepEqual(orthogonality(tf.tensor2d([[1, 0], [0, 1]])).dataSync()[0], 0);
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";

const EPS = 1e-8;

/**
 * Orthogonality of one domain's groups, L_orth^d = (1/(K(K−1))) Σ_{k≠l}
 * cos(q_k^d, q_l^d) for q^d [K, C]; CDGA's L_orth = L_orth^s + L_orth^t.
 * With non-negative q it is in [0, 1], and 0 exactly when the groups hold
 * disjoint classes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orthogonality, tf } from "../mod.ts";
 * assert.equal(orthogonality(tf.tensor2d([[1, 0], [0, 1]])).dataSync()[0], 0); // disjoint
 * assert.ok(Math.abs(orthogonality(tf.tensor2d([[1, 1], [1, 1]])).dataSync()[0] - 1) < 1e-6); // the same
 * ```
 */
export function orthogonality(q: Tensor): Scalar {
  const [k] = q.shape;
  if (k < 2) throw new Error(`orthogonality: needs at least 2 groups, got ${k}`);
  return tf.tidy(() => {
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(q), 1, true), EPS * EPS)); // [K, 1]
    const unit = tf.div(q, tf.add(norms, EPS));
    const cosines = tf.matMul(unit, unit, false, true); // [K, K]
    const offDiagonal = tf.sub(tf.sum(cosines), tf.sum(tf.mul(cosines, tf.eye(k))));
    return tf.div(offDiagonal, k * (k - 1)) as Scalar;
  });
}
