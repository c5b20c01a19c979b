/**
 * One Adam step of one parameter as a plain op: the update and the new
 * moments. Where the backend has the fused Adam kernel (`kernels/fused.ts`:
 * wasm, while our kernels run), one kernel computes all three in the same
 * float32 arithmetic; elsewhere tfjs's kernels do. The choice is made here,
 * so that the optimiser (`optim/transforms.ts`) calls one op.
 *
 * @module
 */
import { type Tensor, tf } from "./tf.ts";
import { ADAM, hasFusedKernel, runKernelOutputs } from "./kernels/fused.ts";

/**
 * [update, m′, v′] for gradient `g` and moments `m`, `v`: m′ = β₁m + (1 −
 * β₁)g, v′ = β₂v + (1 − β₂)g², update = (m′/c₁)/(√(v′/c₂) + ε), with the bias
 * corrections c₁ = 1 − β₁ᵗ and c₂ = 1 − β₂ᵗ given as scalars.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { adamMoments } from "./adam_moments.ts";
 * const [update, m, v] = adamMoments(tf.scalar(2), tf.scalar(0), tf.scalar(0), tf.scalar(0.5), tf.scalar(0.25), { b1: 0.5, b2: 0.75, eps: 0 });
 * assert.deepEqual([update.dataSync()[0], m.dataSync()[0], v.dataSync()[0]], [1, 1, 1]);
 * ```
 */
export function adamMoments(
  g: Tensor,
  m: Tensor,
  v: Tensor,
  correction1: Tensor,
  correction2: Tensor,
  { b1, b2, eps }: { b1: number; b2: number; eps: number },
): Tensor[] {
  if (hasFusedKernel(ADAM) && g.dtype === "float32") {
    return runKernelOutputs(ADAM, { g, m, v, correction1, correction2 }, { b1, b2, eps });
  }
  return composedAdam(g, m, v, correction1, correction2, [b1, b2, eps]);
}

function composedAdam(
  g: Tensor,
  m: Tensor,
  v: Tensor,
  correction1: Tensor,
  correction2: Tensor,
  [b1, b2, eps]: [number, number, number],
): Tensor[] {
  const mu = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
  const nu = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
  const update = tf.div(tf.div(mu, correction1), tf.add(tf.sqrt(tf.div(nu, correction2)), eps));
  return [update, mu, nu];
}
