/**
 * CDGA's grouping losses on your own tensors: soft group assignments A
 * [N, H, W, K] of source and target pixels, source labels and target
 * predictions, the class distribution of every group in each domain, and the
 * three losses that shape the grouping (semantic consistency, orthogonality,
 * balance).
 *
 * Run: `deno run --allow-read examples/grouping_losses.ts`.
 *
 * @module
 */
import {
  groupBalance,
  groupClassDistributions,
  oneHotLabels,
  orthogonality,
  random,
  semanticConsistency,
  tf,
  tree,
  useBackend,
} from "../mod.ts";

await useBackend("auto");
const [N, H, W, K, C] = [2, 8, 8, 4, 5];
const [ka, kb, kl, kp] = random.split(random.key(0), 4);
const assignSource = tf.softmax(random.normal(ka, [N, H, W, K])); // C's output on source pixels
const assignTarget = tf.softmax(random.normal(kb, [N, H, W, K])); // … and on target pixels
const labels = tf.cast(tf.floor(tf.mul(random.uniform(kl, [N, H, W]), C)), "int32");
const sourceEvidence = oneHotLabels(labels, C); // Ŷ_s = Y_s
const targetEvidence = tf.softmax(random.normal(kp, [N, H, W, C])); // Ŷ_t = P_t

const qs = groupClassDistributions(assignSource, sourceEvidence); // [K, C]
const qt = groupClassDistributions(assignTarget, targetEvidence);
const losses = {
  semanticConsistency: semanticConsistency(qs, qt), // (1/K) Σ_k ‖q_k^s − q_k^t‖₁
  orthogonality: tf.add(orthogonality(qs), orthogonality(qt)), // mean cosine between groups
  balance: groupBalance([assignSource, assignTarget]), // KL(ū ‖ uniform)
};
for (const [name, value] of Object.entries(losses)) {
  const v = (await value.data())[0];
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} is ${v}`);
  console.log(`${name}: ${v.toFixed(4)}`);
}
// The same distributions in both domains give zero semantic consistency.
const zero = (await semanticConsistency(qs, qs).data())[0];
if (Math.abs(zero) > 1e-6) throw new Error(`L_sc(q, q) = ${zero}`);
tree.dispose([assignSource, assignTarget, labels, sourceEvidence, targetEvidence, qs, qt, losses]);
