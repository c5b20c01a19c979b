/**
 * Prediction at the input size: G's stride-8 logits upsampled bilinearly
 * (PyTorch's `align_corners=False`, as training and evaluation do) and turned
 * into a label map, optionally with the class probabilities.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../lib/tf.ts";
 * import { key } from "../lib/random.ts";
 * import { initDeepLab } from "./deeplab.ts";
 * import { predict } from "./predict.ts";
 *
 * const config = { depth: 18 as const, width: 0.125, classes: 3 };
 * const params = initDeepLab(key(0), config);
 * const images = tf.zeros([2, 24, 32, 3]) as tf.Tensor4D;
 * const { labels, probabilities } = predict(params, config, images, { probabilities: true });
 * assert.deepEqual([labels.shape, labels.dtype, probabilities?.shape], [[2, 24, 32], "int32", [2, 24, 32, 3]]);
 * tf.dispose([images, labels, probabilities!]);
 * ```
 *
 * @module
 */
import { type Tensor, type Tensor3D, type Tensor4D, tf } from "../lib/tf.ts";
import { applyDeepLab, type DeepLabConfig, type DeepLabParams } from "./deeplab.ts";

/** What {@linkcode predict} returns. */
export interface Prediction {
  /** The class of every pixel, int32 [N, H, W] at the images' size. */
  labels: Tensor3D;
  /** The softmax over classes, [N, H, W, C] at the images' size, when asked for. */
  probabilities?: Tensor4D;
}

/** Options of {@linkcode predict}. */
export interface PredictOptions {
  /** Also return the class probabilities (default false). */
  probabilities?: boolean;
  /**
   * Images per forward pass (default: all at once). Smaller batches bound
   * the memory of large inputs; batch norm uses running statistics in
   * evaluation, so the result does not depend on it.
   */
  batchSize?: number;
}

/**
 * G in evaluation mode on a batch of images [N, H, W, 3] (normalised as G
 * was trained: `normalise`): the label map at the images' size, and the
 * probabilities if `options.probabilities`. The caller disposes the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../lib/tf.ts";
 * import { key } from "../lib/random.ts";
 * import { initDeepLab } from "./deeplab.ts";
 * import { predict } from "./predict.ts";
 *
 * const config = { depth: 18 as const, width: 0.125, classes: 4 };
 * const params = initDeepLab(key(1), config);
 * const images = tf.randomNormal([3, 16, 16, 3]) as tf.Tensor4D;
 * const whole = predict(params, config, images).labels;
 * const inTwos = predict(params, config, images, { batchSize: 2 }).labels;
 * assert.deepEqual(await whole.array(), await inTwos.array());
 * tf.dispose([images, whole, inTwos]);
 * ```
 */
export function predict(
  params: DeepLabParams,
  config: DeepLabConfig,
  images: Tensor4D,
  options: PredictOptions = {},
): Prediction {
  if (images.rank !== 4 || images.shape[3] !== 3) {
    throw new Error(`predict: images must be [N, H, W, 3], got [${images.shape}]`);
  }
  const batchSize = options.batchSize ?? images.shape[0];
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`predict: batchSize must be an integer ≥ 1, got ${batchSize}`);
  }
  const [n, h, w] = images.shape;
  const labels: Tensor3D[] = [];
  const probabilities: Tensor4D[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const [l, p] = tf.tidy(() => {
      const part = size === n ? images : tf.slice(images, [start, 0, 0, 0], [size, h, w, 3]);
      const { logits } = applyDeepLab(params, part, config);
      const up = tf.image.resizeBilinear(logits as Tensor4D, [h, w], false, true);
      const classes = tf.argMax(up, -1).toInt() as Tensor3D;
      return [classes, options.probabilities ? tf.softmax(up) as Tensor4D : undefined];
    });
    labels.push(l);
    if (p) probabilities.push(p);
  }
  const join = <T extends Tensor>(parts: T[]): T => {
    if (parts.length === 1) return parts[0];
    const joined = tf.concat(parts, 0) as T;
    tf.dispose(parts);
    return joined;
  };
  return {
    labels: join(labels),
    ...(options.probabilities ? { probabilities: join(probabilities) } : {}),
  };
}
