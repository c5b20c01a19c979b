/**
 * Group class distributions (CDGA, reconstructed), for domain d and group k,
 * over the whole mini-batch:
 *
 *     q_k^d = Σ_i A_d[i,k] · Ŷ_d[i,:] / (Σ_i A_d[i,k] + ε)
 *
 * A_d: soft group assignments [N, h, w, K] (rows sum to 1); Ŷ_d: class
 * evidence [N, h, w, C]: one-hot labels Y_s for the source (zero rows for
 * ignored pixels), the predictions P_t for the target. Returns q [K, C].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupClassDistributions, tf } from "../mod.ts";
 * const a = tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2]);
 * const y = tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2]);
 * assert.ok((groupClassDistributions(a, y).arraySync() as number[][]).flat().every((v, i) => Math.abs(v - [[1, 0], [0, 1]].flat()[i]) < 1e-4));
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";

/** ε of the group distributions. */
export const GROUP_EPS = 1e-6;

/**
 * Assignments A and class evidence Ŷ as flat rows over their pixels,
 * A [M, K] and Ŷ [M, C], after checking that both cover the same pixels
 * (`what` names the caller in the error).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixelRows } from "./group_distribution.ts";
 * import { tf } from "../mod.ts";
 * const { a, y } = pixelRows(tf.zeros([2, 4, 4, 8]), tf.zeros([2, 4, 4, 11]));
 * assert.deepEqual([a.shape, y.shape], [[32, 8], [32, 11]]);
 * ```
 */
export function pixelRows(
  assignments: Tensor,
  evidence: Tensor,
  what = "group distributions",
): { a: Tensor; y: Tensor } {
  if (assignments.shape.slice(0, -1).join() !== evidence.shape.slice(0, -1).join()) {
    throw new Error(
      `${what}: assignments [${assignments.shape}] and evidence [${evidence.shape}] differ in pixels`,
    );
  }
  return {
    a: tf.reshape(assignments, [-1, assignments.shape[assignments.rank - 1]]),
    y: tf.reshape(evidence, [-1, evidence.shape[evidence.rank - 1]]),
  };
}

/**
 * Pixel-weighted group class distributions of one domain, q_k = Σ_i A[i,k] ·
 * Ŷ[i,:] / (Σ_i A[i,k] + ε), from soft assignments A [N, h, w, K] and class
 * evidence Ŷ [N, h, w, C] (one-hot source labels, or target predictions P_t).
 * Returns q [K, C]; each row of a used group sums to 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupClassDistributions, oneHotLabels, tf } from "../mod.ts";
 * const assignments = tf.tensor4d([1, 0, 1, 0, 0, 1], [1, 1, 3, 2]); // pixels 0, 1 → group 0
 * const evidence = oneHotLabels(tf.tensor3d([[[0, 1, 1]]], undefined, "int32"), 2);
 * const q = groupClassDistributions(assignments, evidence).arraySync() as number[][];
 * assert.deepEqual(q.map((row) => row.map((v) => Number(v.toFixed(3)))), [[0.5, 0.5], [0, 1]]);
 * ```
 */
export function groupClassDistributions(
  assignments: Tensor,
  evidence: Tensor,
  eps = GROUP_EPS,
): Tensor {
  return tf.tidy(() => {
    const { a, y } = pixelRows(assignments, evidence);
    const mass = tf.matMul(tf.transpose(a), y); // [K, C]
    const size = tf.sum(a, 0); // [K]
    return tf.div(mass, tf.expandDims(tf.add(size, eps), 1));
  });
}
