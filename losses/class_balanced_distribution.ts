/**
 * Class-balanced group class distributions (CDGA, **reconstructed**: the
 * reading of "group-level class equivalence … regardless of their pixel
 * counts" in `docs/method.md`). For domain d, group k and class c, over the
 * whole mini-batch:
 *
 *     m_k^d[c] = Σ_i A_d[i,k] · Ŷ_d[i,c] / (Σ_i Ŷ_d[i,c] + ε)
 *     q_k^d[c] = m_k^d[c] · 1[c ∈ C^d] / (Σ_{c' ∈ C^d} m_k^d[c'] + ε)
 *     ū_k^d   = (1/|C^d|) Σ_{c ∈ C^d} m_k^d[c]
 *
 * m_k[c] is the share of class c's pixels that group k holds (each present
 * column sums to 1 over k); C^d = { c : Σ_i Ŷ_d[i,c] > τ } are the classes
 * present in the batch; q_k is group k's class distribution in which every
 * present class counts the same, whatever its pixel count; ū^d is the group
 * usage with each class counted once. A: soft assignments [N, h, w, K]; Ŷ:
 * class evidence [N, h, w, C] (one-hot labels Y_s, zero rows for ignored
 * pixels; predictions P_t for the target).
 *
 * Multiplying the number of pixels of one class (more pixels with the same
 * assignments) leaves m, q and ū unchanged: with pixel-weighted q
 * (`group_distribution.ts`) a dominant class fills every group's
 * distribution, so that cos(q_k, q_l) ≈ 1 and L_orth has no gradient.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classBalancedDistributions, tf } from "../mod.ts";
 * // Group 0 holds three pixels of class 0, group 1 one pixel of class 1.
 * const a = tf.tensor4d([1, 0, 1, 0, 1, 0, 0, 1], [1, 1, 4, 2]);
 * const y = tf.tensor4d([1, 0, 1, 0, 1, 0, 0, 1], [1, 1, 4, 2]);
 * const { q, usage } = classBalancedDistributions(a, y);
 * assert.ok((q.arraySync() as number[][]).flat().every((v, i) => Math.abs(v - [[1, 0], [0, 1]].flat()[i]) < 1e-4)); assert.ok((usage.arraySync() as number[]).every((v) => Math.abs(v - 0.5) < 1e-4));
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { withoutGradient } from "../lib/grad.ts";
import { GROUP_EPS, pixelRows } from "./group_distribution.ts";

/** Evidence mass below which a class counts as absent from the batch (τ). */
export const ABSENT_MASS = 1e-3;

/** What {@linkcode classBalancedDistributions} returns. */
export interface ClassBalancedDistributions {
  /** m [K, C]: the share of each class's pixels held by each group. */
  membership: Tensor;
  /** q [K, C]: each group's class distribution, every present class weighing the same. */
  q: Tensor;
  /** ū [K]: group usage with each present class counted once. */
  usage: Tensor;
}

/**
 * m [K, C] alone: the share of each class's pixels that each group holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupMembership, tf } from "../mod.ts";
 * const a = tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2]);
 * const y = tf.tensor4d([1, 0, 1, 0], [1, 1, 2, 2]);
 * assert.ok((groupMembership(a, y).arraySync() as number[][]).flat().every((v, i) => Math.abs(v - [[0.5, 0], [0.5, 0]].flat()[i]) < 1e-4));
 * ```
 */
export function groupMembership(assignments: Tensor, evidence: Tensor, eps = GROUP_EPS): Tensor {
  return tf.tidy(() => membershipAndClassMass(assignments, evidence, eps).membership);
}

/** m [K, C] and each class's evidence mass Σ_i Ŷ[i,c] [C]. */
function membershipAndClassMass(assignments: Tensor, evidence: Tensor, eps: number) {
  const { a, y } = pixelRows(assignments, evidence, "class-balanced distributions");
  const mass = tf.matMul(tf.transpose(a), y); // [K, C]
  const classMass = tf.sum(y, 0); // [C]
  return { membership: tf.div(mass, tf.add(classMass, eps)), classMass };
}

/**
 * Class-balanced group class distributions of one domain (the default
 * reading): m_k[c] = Σ_i A[i,k] Ŷ[i,c] / (Σ_i Ŷ[i,c] + ε), the share of class
 * c's pixels in group k; q_k = m_k over the present classes, renormalised, so
 * that every present class weighs the same whatever its pixel count; ū_k =
 * mean over present classes of m_k[c], the usage with each class counted once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classBalancedDistributions, tf } from "../mod.ts";
 * // Group 0 holds three pixels of class 0, group 1 one pixel of class 1: equal usage.
 * const a = tf.tensor4d([1, 0, 1, 0, 1, 0, 0, 1], [1, 1, 4, 2]);
 * const { q, usage } = classBalancedDistributions(a, a);
 * const round = (t: tf.Tensor) => (t.arraySync() as number[]).flat().map((v) => Number(v.toFixed(3)));
 * assert.deepEqual([round(q), round(usage)], [[1, 0, 0, 1], [0.5, 0.5]]);
 * ```
 */
export function classBalancedDistributions(
  assignments: Tensor,
  evidence: Tensor,
  eps = GROUP_EPS,
): ClassBalancedDistributions {
  return tf.tidy(() => {
    const { membership, classMass } = membershipAndClassMass(assignments, evidence, eps);
    // Presence is a fact about the evidence, not something to train through.
    const present = withoutGradient(
      (m) => tf.cast(tf.greater(m, ABSENT_MASS), "float32"),
      classMass,
    );
    const kept = tf.mul(membership, present);
    const q = tf.div(kept, tf.add(tf.sum(kept, 1, true), eps));
    const usage = tf.div(tf.sum(kept, 1), tf.maximum(tf.sum(present), 1));
    return { membership, q, usage };
  });
}
