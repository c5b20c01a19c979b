/**
 * Softmax cross-entropy against class ids, per row of the last axis:
 *
 *     ℓ_i = log Σ_c exp z_{i,c} − z_{i,y_i}   where 0 ≤ y_i < C, else 0,
 *     ∂ℓ_i/∂z_{i,c} = softmax(z_i)_c − [c = y_i]   (0 for rows without a class),
 *
 * PyTorch's `cross_entropy(reduction="none")` with every id outside [0, C)
 * ignored. Where the backend has the fused kernels (wasm with our kernels
 * on) the loss and its gradient are one pass each over the logits; elsewhere
 * a log-softmax composed of tfjs's kernels, with the same values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { sparseSoftmaxCrossEntropy } from "./sparse_softmax_cross_entropy.ts";
 * const logits = tf.zeros([3, 4]);
 * const loss = sparseSoftmaxCrossEntropy(logits, tf.tensor1d([0, 3, 255], "int32"));
 * assert.deepEqual(Array.from(loss.dataSync(), (v) => v.toFixed(4)), ["1.3863", "1.3863", "0.0000"]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "./tf.ts";
import { customGradient } from "./grad.ts";
import {
  hasFusedKernel,
  runKernel,
  runKernelOutputs,
  SPARSE_SOFTMAX_CROSS_ENTROPY,
  SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD,
} from "./kernels/fused.ts";

/**
 * The cross-entropy of each row of `logits` [.., C] against the ids
 * `labels` [..] (any numeric dtype, taken as integers), with gradients to
 * the logits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { sparseSoftmaxCrossEntropy } from "./sparse_softmax_cross_entropy.ts";
 * const g = tf.grad((z: tf.Tensor) => tf.sum(sparseSoftmaxCrossEntropy(z, tf.tensor1d([1], "int32"))));
 * assert.deepEqual(Array.from(g(tf.zeros([1, 2])).dataSync()), [0.5, -0.5]);
 * ```
 */
export function sparseSoftmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const classes = logits.shape[logits.rank - 1];
  if (labels.shape.join() !== logits.shape.slice(0, -1).join()) {
    throw new Error(
      `sparseSoftmaxCrossEntropy: labels [${labels.shape}] do not match logits [${logits.shape}]`,
    );
  }
  return tf.tidy(() => {
    const ids = labels.dtype === "int32" ? labels : tf.cast(labels, "int32");
    const z = logits.dtype === "float32" ? logits : tf.cast(logits, "float32");
    if (
      !hasFusedKernel(SPARSE_SOFTMAX_CROSS_ENTROPY) ||
      !hasFusedKernel(SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD)
    ) {
      return composed(z, ids, classes);
    }
    const fused = customGradient((save, x: Tensor) => {
      const [loss, stats] = runKernelOutputs(SPARSE_SOFTMAX_CROSS_ENTROPY, {
        logits: x,
        labels: ids,
      });
      // ids go through save(): the tape keeps saved tensors past any tidy.
      save([x, ids, stats]);
      return {
        value: loss,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [z0, ids0, stats0] = saved;
          return runKernel(SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD, {
            logits: z0,
            labels: ids0,
            stats: stats0,
            dloss: dy,
          });
        },
      };
    });
    return fused(z);
  });
}

// log-softmax from tfjs's kernels; rows whose id is outside [0, C) get an
// all-zero one-hot, so neither a loss nor a gradient. (tf.oneHot refuses
// a single class.)
function composed(z: Tensor, ids: Tensor, classes: number): Tensor {
  const target = tf.cast(
    tf.equal(tf.expandDims(ids, -1), tf.range(0, classes, 1, "int32")),
    "float32",
  );
  return tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(z)), -1));
}
