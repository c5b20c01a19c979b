/**
 * Normalisation with a hand-written gradient: batch norm (statistics over
 * every axis but the channels) and layer norm (over each position's
 * channels), `γ·x̂ + β`. Where the backend has the fused batch-norm kernels
 * (`kernels/fused.ts`), batch norm runs on them; the choice is made here, so
 * that the layers of `model/` call one plain op.
 *
 * @module
 */
import { type Tensor, tf } from "./tf.ts";
import { BATCH_NORM, BATCH_NORM_GRAD, hasFusedKernel, runKernelOutputs } from "./kernels/fused.ts";
import { customGradient } from "./grad.ts";

const normalisers = new Map<string, (x: Tensor, gamma: Tensor, beta: Tensor) => Tensor>();

// Batch norm as two kernels (forward, backward) where the backend has them:
// the same arithmetic as the composed version below, in one pass per
// direction instead of about twenty kernels.
function fusedBatchNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const f = customGradient((save, input: Tensor, g: Tensor, b: Tensor) => {
    const [y, xhat, rstd] = runKernelOutputs(BATCH_NORM, { x: input, gamma: g, beta: b }, { eps });
    save([xhat, rstd, g]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xh, r, gs] = saved;
        return runKernelOutputs(BATCH_NORM_GRAD, { dy, xhat: xh, rstd: r, gamma: gs });
      },
    };
  });
  return f(x, gamma, beta);
}

/**
 * `γ·x̂ + β` with `x̂ = (x − μ)/√(σ² + ε)`, the statistics taken over every
 * axis but the channels (`batch`: batch norm) or over the channels of each
 * position (`channels`: layer norm), with its gradient written out:
 * `dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) / √(σ² + ε)` over the same axes,
 * `dx̂ = γ·dy`, `dγ = Σ dy·x̂`, `dβ = Σ dy`. Differentiating tfjs's
 * `moments` instead records about three times as many kernels (a cast, its
 * identity gradient, reshapes, broadcasts), and a normalisation runs for
 * every layer of every domain of every step. With `batch`, on a backend that
 * has the fused batch-norm kernels (wasm, while our kernels run), the same
 * arithmetic runs as two kernels, one per direction.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { normalised } from "./normalised.ts";
 * const x = tf.tensor2d([[1, 10], [3, 30]]);
 * const y = normalised(x, tf.ones([2]), tf.zeros([2]), "batch", 0);
 * assert.deepEqual(Array.from(y.dataSync()), [-1, -1, 1, 1]);
 * ```
 */
export function normalised(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  over: "batch" | "channels",
  eps: number,
): Tensor {
  const fused = over === "batch" && hasFusedKernel(BATCH_NORM) &&
    hasFusedKernel(BATCH_NORM_GRAD) &&
    [x, gamma, beta].every((t) => t.dtype === "float32");
  if (fused) return fusedBatchNorm(x, gamma, beta, eps);
  const id = `${over} ${x.rank} ${eps}`;
  let f = normalisers.get(id);
  if (!f) {
    const axes = over === "batch" ? [...Array(x.rank - 1).keys()] : [x.rank - 1];
    const affineAxes = [...Array(x.rank - 1).keys()];
    f = customGradient((save, xs: Tensor, gs: Tensor, bs: Tensor) => {
      const centered = tf.sub(xs, tf.mean(xs, axes, true));
      const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), axes, true), eps));
      const normed = tf.mul(centered, rstd);
      save([normed, rstd, gs]);
      return {
        value: tf.add(tf.mul(normed, gs), bs),
        gradFunc: (grad: Tensor, saved: Tensor[]) => {
          const [xhat, r, gammaSaved] = saved;
          const dGamma = tf.sum(tf.mul(grad, xhat), affineAxes);
          const dBeta = tf.sum(grad, affineAxes);
          let dx: Tensor;
          if (over === "batch") {
            // The statistics' axes are γ's: the means reuse dγ and dβ.
            const m = xhat.size / xhat.shape[xhat.rank - 1];
            const centredGrad = tf.sub(
              tf.sub(grad, tf.div(dBeta, m)),
              tf.mul(xhat, tf.div(dGamma, m)),
            );
            dx = tf.mul(centredGrad, tf.mul(r, gammaSaved));
          } else {
            const dNormed = tf.mul(grad, gammaSaved);
            const centredGrad = tf.sub(
              tf.sub(dNormed, tf.mean(dNormed, axes, true)),
              tf.mul(xhat, tf.mean(tf.mul(dNormed, xhat), axes, true)),
            );
            dx = tf.mul(centredGrad, r);
          }
          return [dx, dGamma, dBeta];
        },
      };
    });
    normalisers.set(id, f);
  }
  return f(x, gamma, beta);
}
