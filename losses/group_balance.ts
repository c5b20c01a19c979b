/**
 * Group balance (not in the paper; a guard against collapse):
 *
 *     L_bal = KL(ū ‖ U_K) = Σ_k ū_k log(K ū_k),    ū = mean_i A[i,:]
 *
 * over all pixels of both domains (pixel-weighted grouping), or ū the mean
 * over the domains of the class-averaged usage ū^d of
 * `class_balanced_distribution.ts` (class-balanced grouping). Without it, putting every pixel in one
 * group minimises L_sc and L_orth trivially. ≥ 0, and 0 exactly when the
 * groups are used equally; 0·log 0 counts as 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupBalance, tf } from "../mod.ts";
 * assert.deepEqual(groupBalance([tf.fill([1, 2, 2, 4], 0.25)]).dataSync()[0], 0);
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";

/**
 * The mean assignment ū [K] over every pixel of the given assignment maps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupUsage, tf } from "../mod.ts";
 * assert.deepEqual(groupUsage([tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2])]).arraySync(), [0.5, 0.5]);
 * ```
 */
export function groupUsage(assignments: Tensor[]): Tensor {
  return tf.tidy(() => {
    const k = assignments[0].shape[assignments[0].rank - 1];
    const rows = tf.concat(assignments.map((a) => tf.reshape(a, [-1, k])), 0);
    return tf.mean(rows, 0);
  });
}

/**
 * Group balance, L_bal = KL(ū ‖ U_K) = Σ_k ū_k log(K ū_k), with ū the mean
 * assignment over every pixel of the given maps (both domains' A [N, h, w,
 * K]). 0 exactly when the groups are used equally; log K when one group
 * takes every pixel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupBalance, tf } from "../mod.ts";
 * const even = tf.fill([1, 2, 2, 4], 0.25), collapsed = tf.oneHot(tf.zeros([1, 2, 2], "int32"), 4);
 * assert.equal(groupBalance([even, even]).dataSync()[0], 0);
 * assert.ok(Math.abs(groupBalance([collapsed]).dataSync()[0] - Math.log(4)) < 1e-6);
 * ```
 */
export function groupBalance(assignments: Tensor[]): Scalar {
  return tf.tidy(() => usageBalance(groupUsage(assignments)));
}

/**
 * KL(ū ‖ U_K) for a given usage ū [K] (summing to 1): the class-balanced
 * reading takes ū as the mean over domains of the class-averaged usage of
 * `class_balanced_distribution.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, usageBalance } from "../mod.ts";
 * assert.deepEqual(usageBalance(tf.tensor1d([1, 0])).dataSync()[0].toFixed(4), "0.6931");
 * ```
 */
export function usageBalance(usage: Tensor): Scalar {
  return tf.tidy(() => {
    const k = usage.shape[0];
    const safe = tf.maximum(usage, 1e-30);
    return tf.relu(tf.sum(tf.mul(usage, tf.log(tf.mul(safe, k))))) as Scalar;
  });
}
