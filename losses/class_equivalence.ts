/**
 * Class-equivalence weights (CDGA, reconstructed): inside group k every class
 * present carries the same total weight, whatever its pixel count.
 *
 *     w_i^k = A[i,k] / (|C_k| · n_{k,c(i)}),   n_{k,c} = Σ_{i: c(i)=c} A[i,k],
 *     C_k = { c : n_{k,c} > τ }
 *
 * c(i): the ground truth (source; ignored pixels get weight 0) or argmax P_t
 * (target; pixels below a confidence threshold get weight 0). Then
 * Σ_{i: c(i)=c} w_i^k = 1/|C_k| for every c ∈ C_k, and Σ_i w_i^k = 1 when the
 * group holds any class. These weights replace the plain spatial mean in L_D
 * and L_adv; they are constants there (no gradient flows through them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classEquivalenceWeights, tf } from "../mod.ts";
 * const a = tf.ones([1, 1, 3, 1]); // one group, three pixels
 * const y = tf.tensor4d([1, 0, 1, 0, 0, 1], [1, 1, 3, 2]); // classes 0, 0, 1
 * assert.deepEqual(classEquivalenceWeights(a, y).arraySync(), [[[[0.25], [0.25], [0.5]]]]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { pixelRows } from "./group_distribution.ts";

/** Mass below which a class counts as absent from a group. */
export const PRESENT_MASS = 1e-6;

/**
 * Class-equivalence weights [N, h, w, K], w_i^k = A[i,k] / (|C_k| · n_{k,c(i)})
 * with n_{k,c} = Σ_{i: c(i)=c} A[i,k] and C_k the classes present in group k,
 * from assignments A [N, h, w, K] and one-hot class evidence Y [N, h, w, C]
 * (zero rows: excluded pixels). Inside each group every present class then
 * carries the same total weight, 1/|C_k|; the weights replace D's plain
 * spatial mean.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classEquivalenceWeights, oneHotLabels, tf } from "../mod.ts";
 * // One group; three pixels of class 0 and one of class 1: each class weighs 1/2 in all.
 * const a = tf.ones([1, 1, 4, 1]);
 * const y = oneHotLabels(tf.tensor3d([[[0, 0, 0, 1]]], undefined, "int32"), 2);
 * const w = (classEquivalenceWeights(a, y).arraySync() as number[][][][])[0][0].flat();
 * assert.deepEqual(w.map((v) => Number(v.toFixed(4))), [0.1667, 0.1667, 0.1667, 0.5]);
 * ```
 */
export function classEquivalenceWeights(assignments: Tensor, oneHot: Tensor): Tensor {
  return tf.tidy(() => {
    const { a, y } = pixelRows(assignments, oneHot, "class equivalence");
    const mass = tf.matMul(tf.transpose(a), y); // n [K, C]
    const present = tf.cast(tf.greater(mass, PRESENT_MASS), "float32");
    const classCount = tf.maximum(tf.sum(present, 1), 1); // |C_k| [K]
    // n_{k,c(i)} for every pixel: y [M, C] · nᵀ [C, K]; 0 where c(i) is absent.
    const own = tf.matMul(y, tf.mul(mass, present), false, true); // [M, K]
    const labelled = tf.sum(y, 1, true); // [M, 1]
    const safe = tf.maximum(own, PRESENT_MASS);
    const weights = tf.div(
      tf.mul(tf.mul(a, labelled), tf.cast(tf.greater(own, PRESENT_MASS), "float32")),
      tf.mul(safe, classCount),
    );
    return tf.reshape(weights, assignments.shape);
  });
}

/**
 * A float32 one-hot of the target's predicted classes argmax P_t, with zero
 * rows where the top probability is below `threshold` (default 0: all).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pseudoLabels, tf } from "../mod.ts";
 * const p = tf.tensor4d([0.9, 0.1, 0.4, 0.6], [1, 1, 2, 2]);
 * assert.deepEqual(pseudoLabels(p, 0.7).arraySync(), [[[[1, 0], [0, 0]]]]);
 * ```
 */
export function pseudoLabels(probs: Tensor, threshold = 0): Tensor {
  const c = probs.shape[probs.rank - 1];
  return tf.tidy(() => {
    const top = tf.max(probs, -1, true);
    const hot = tf.oneHot(tf.argMax(probs, -1), c, 1, 0, "float32");
    return tf.mul(hot, tf.cast(tf.greaterEqual(top, threshold), "float32"));
  });
}
