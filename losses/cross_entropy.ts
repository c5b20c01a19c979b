/**
 * Segmentation cross-entropy with an ignore label.
 *
 *     L_seg = −(1/|Ω|) Σ_{i∈Ω} log softmax(z_i)[y_i],   Ω = { i : y_i ≠ ignore }
 *
 * z: logits [N, H, W, C] at the labels' resolution; y: class ids [N, H, W]
 * (int32), `ignore` (default 255) excluded. With no labelled pixel the loss
 * is 0. Ids outside [0, C) other than `ignore` are the data loader's to
 * reject; here they count as ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segmentationCrossEntropy, tf } from "../mod.ts";
 * const logits = tf.zeros([1, 2, 2, 4]);
 * const labels = tf.tensor3d([[[0, 1], [255, 3]]], undefined, "int32");
 * assert.equal(segmentationCrossEntropy(logits, labels).dataSync()[0].toFixed(4), "1.3863"); // log 4
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";
import { sparseSoftmaxCrossEntropy } from "../lib/sparse_softmax_cross_entropy.ts";

/**
 * The label id that marks pixels without a label.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IGNORE_LABEL, segmentationCrossEntropy, tf } from "../mod.ts";
 * // A pixel labelled IGNORE_LABEL adds nothing to the loss.
 * const logits = tf.tensor4d([0, 5, 9, -9], [1, 1, 2, 2]);
 * const labels = tf.tensor3d([[[1, IGNORE_LABEL]]], undefined, "int32");
 * const loss = segmentationCrossEntropy(logits, labels);
 * assert.equal(loss.dataSync()[0].toFixed(4), "0.0067");
 * tf.dispose([logits, labels, loss]);
 * ```
 */
export const IGNORE_LABEL = 255;

/**
 * A float32 one-hot encoding of class ids [..] → [.., C], with all-zero rows
 * for ignored or out-of-range ids. Float32 throughout: casting an int32
 * one-hot feeds silently wrong convolutions on webgpu.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneHotLabels, tf } from "../mod.ts";
 * assert.deepEqual(oneHotLabels(tf.tensor1d([2, 255], "int32"), 3).arraySync(), [[0, 0, 1], [0, 0, 0]]);
 * ```
 */
export function oneHotLabels(labels: Tensor, classes: number): Tensor {
  return tf.tidy(() => tf.oneHot(tf.cast(labels, "int32"), classes, 1, 0, "float32"));
}

/**
 * L_seg, the mean cross-entropy −log softmax(z)[y] over the labelled pixels
 * (labels equal to `ignore`, 255 by default, are left out), for logits [N,
 * H, W, C] at the labels' size [N, H, W].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { segmentationCrossEntropy, tf } from "../mod.ts";
 * const logits = tf.zeros([1, 1, 2, 4]); // uniform over 4 classes
 * const labels = tf.tensor3d([[[3, 255]]], undefined, "int32"); // the second pixel is ignored
 * assert.ok(Math.abs(segmentationCrossEntropy(logits, labels).dataSync()[0] - Math.log(4)) < 1e-6);
 * ```
 */
export function segmentationCrossEntropy(
  logits: Tensor,
  labels: Tensor,
  options: { ignore?: number } = {},
): Scalar {
  const classes = logits.shape[logits.rank - 1];
  if (labels.shape.join() !== logits.shape.slice(0, -1).join()) {
    throw new Error(
      `cross-entropy: labels [${labels.shape}] do not match logits [${logits.shape}]`,
    );
  }
  return tf.tidy(() => {
    const ignore = options.ignore ?? IGNORE_LABEL;
    const ids = tf.cast(labels, "int32");
    // Ids outside [0, C) already count as ignored; `ignore` may lie inside.
    const kept = tf.logicalAnd(
      tf.logicalAnd(tf.greaterEqual(ids, 0), tf.less(ids, classes)),
      tf.notEqual(ids, ignore),
    );
    const perPixel = sparseSoftmaxCrossEntropy(
      logits,
      tf.where(kept, ids, tf.fill(ids.shape, -1, "int32")),
    );
    const count = tf.maximum(tf.sum(tf.cast(kept, "float32")), 1);
    return tf.div(tf.sum(perPixel), count) as Scalar;
  });
}
