/**
 * A depthwise convolution (channel multiplier 1) with a bias and an
 * activation, as one kernel where the backend has it:
 *
 *     y[·, c] = act(Σ_taps x[·, c] · w[tap, c] + b[c]),   act ∈ { identity, relu, relu6 }
 *
 * MobileNetV2 applies it after every expansion (a frozen batch norm folds
 * into w and b). On wasm with our kernels on, the bias and the activation
 * are applied as each output vector is made, and the gradient takes relu6's
 * mask from y in one pass; elsewhere it is `tf.depthwiseConv2d`, `tf.add`
 * and the activation, with tfjs's gradients (and ours for dilation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { depthwiseBiasActivation } from "./depthwise_bias_activation.ts";
 * const y = depthwiseBiasActivation(
 *   tf.ones([1, 3, 3, 2]),
 *   tf.ones([3, 3, 2, 1]),
 *   tf.tensor1d([-5, 1]),
 *   { pad: "same", activation: "relu6" },
 * );
 * assert.deepEqual(Array.from(y.dataSync()).slice(8, 10), [4, 6]); // relu6(9 − 5), relu6(9 + 1)
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "./tf.ts";
import {
  CONV_BIAS_ACTIVATION_MAX_TAPS,
  DEPTHWISE_BIAS_ACTIVATION,
  hasFusedKernel,
  runKernel,
} from "./kernels/fused.ts";

/** How {@linkcode depthwiseBiasActivation} convolves, and its activation. */
export interface DepthwiseBiasActivationOptions {
  /** Stride, one for both axes or [height, width]; 1 by default. */
  strides?: number | [number, number];
  /** tfjs's padding: "same", "valid" or explicit NHWC pairs (batch and channels [0, 0]). */
  pad: "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
  /** Dilation, one for both axes or [height, width]; 1 by default. */
  dilations?: number | [number, number];
  /** "linear" (none, the default), "relu" or "relu6" (min(max(x, 0), 6)). */
  activation?: "linear" | "relu" | "relu6";
}

const pair = (v: number | [number, number]): [number, number] => typeof v === "number" ? [v, v] : v;

/**
 * act(depthwiseConv2d(x, filter) + bias) for NHWC x [N, H, W, C], filter
 * [kh, kw, C, 1] and bias [C], differentiable in all three.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { depthwiseBiasActivation } from "./depthwise_bias_activation.ts";
 * const y = depthwiseBiasActivation(tf.ones([1, 8, 8, 4]), tf.ones([3, 3, 4, 1]), tf.zeros([4]), {
 *   strides: 2,
 *   pad: "same",
 *   dilations: 1,
 * });
 * assert.deepEqual(y.shape, [1, 4, 4, 4]);
 * ```
 */
export function depthwiseBiasActivation(
  x: Tensor,
  filter: Tensor,
  bias: Tensor,
  options: DepthwiseBiasActivationOptions,
): Tensor {
  const { strides = 1, pad, dilations = 1, activation = "linear" } = options;
  const [kh, kw, c, multiplier] = filter.shape;
  const fused = hasFusedKernel(DEPTHWISE_BIAS_ACTIVATION) && x.rank === 4 && filter.rank === 4 &&
    multiplier === 1 && x.dtype === "float32" && filter.dtype === "float32" &&
    bias.dtype === "float32" && bias.rank === 1 && bias.shape[0] === c &&
    kh * kw <= CONV_BIAS_ACTIVATION_MAX_TAPS;
  if (fused) {
    return runKernel(
      DEPTHWISE_BIAS_ACTIVATION,
      { x, filter, bias },
      {
        strides: pair(strides),
        pad,
        dilations: pair(dilations),
        activation,
      },
    );
  }
  return tf.tidy(() => {
    const y = tf.add(
      tf.depthwiseConv2d(
        x as tf.Tensor4D,
        filter as tf.Tensor4D,
        strides,
        pad,
        "NHWC",
        dilations,
      ),
      bias,
    );
    if (activation === "relu") return tf.relu(y);
    return activation === "relu6" ? tf.relu6(y) : y;
  });
}
