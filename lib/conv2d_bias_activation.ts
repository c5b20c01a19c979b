/**
 * A convolution with a bias and an activation, as one kernel where the
 * backend has it:
 *
 *     y = act(conv2d(x, w) + b),   act ∈ { identity, relu, leaky relu (x < 0 ? α·x : x), relu6 }
 *
 * On wasm with our kernels on, the bias and the activation are applied while
 * each output tile is still in registers' reach (no pass of Add and Relu over
 * memory), and the gradient takes the activation's mask from y in one pass.
 * Elsewhere it is `tf.conv2d`, `tf.add` and the activation, with tfjs's
 * gradients. Unlike `tf.fused.conv2d`, dilated convolutions and leaky relu
 * have gradients, and a gradient nobody asked for (the image's, at a first
 * layer) is not computed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { conv2dBiasActivation } from "./conv2d_bias_activation.ts";
 * const y = conv2dBiasActivation(tf.ones([1, 3, 3, 1]), tf.ones([3, 3, 1, 2]), tf.tensor1d([-5, 1]), {
 *   pad: "same",
 *   activation: "relu",
 * });
 * assert.deepEqual(Array.from(y.dataSync()).slice(0, 2), [0, 5]); // relu(4 − 5), 4 + 1
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "./tf.ts";
import {
  CONV_BIAS_ACTIVATION,
  CONV_BIAS_ACTIVATION_MAX_TAPS,
  hasFusedKernel,
  runKernel,
} from "./kernels/fused.ts";

/** How {@linkcode conv2dBiasActivation} convolves, and its activation. */
export interface ConvBiasActivationOptions {
  /** Stride, one for both axes or [height, width]; 1 by default. */
  strides?: number | [number, number];
  /** tfjs's padding: "same", "valid" or explicit NHWC pairs (batch and channels [0, 0]). */
  pad: "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
  /** Dilation, one for both axes or [height, width]; 1 by default. */
  dilations?: number | [number, number];
  /** "linear" (none, the default), "relu", "leakyrelu" or "relu6" (min(max(x, 0), 6)). */
  activation?: "linear" | "relu" | "leakyrelu" | "relu6";
  /** Leaky relu's slope for negative inputs, ≥ 0 (0.2 by default). */
  alpha?: number;
}

const pair = (v: number | [number, number]): [number, number] => typeof v === "number" ? [v, v] : v;

/**
 * act(conv2d(x, filter) + bias) for NHWC x [N, H, W, Cᵢ], filter [kh, kw,
 * Cᵢ, Cₒ] and bias [Cₒ], differentiable in all three.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { conv2dBiasActivation } from "./conv2d_bias_activation.ts";
 * const y = conv2dBiasActivation(tf.ones([1, 4, 4, 3]), tf.ones([3, 3, 3, 8]), tf.zeros([8]), {
 *   strides: 2,
 *   pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
 *   activation: "leakyrelu",
 * });
 * assert.deepEqual(y.shape, [1, 2, 2, 8]);
 * ```
 */
export function conv2dBiasActivation(
  x: Tensor,
  filter: Tensor,
  bias: Tensor,
  options: ConvBiasActivationOptions,
): Tensor {
  const { strides = 1, pad, dilations = 1, activation = "linear", alpha = 0.2 } = options;
  if (!(alpha >= 0)) throw new Error(`conv2dBiasActivation: alpha must be ≥ 0, got ${alpha}`);
  const [kh, kw, , co] = filter.shape;
  const fused = hasFusedKernel(CONV_BIAS_ACTIVATION) && x.rank === 4 && filter.rank === 4 &&
    x.dtype === "float32" && filter.dtype === "float32" && bias.dtype === "float32" &&
    bias.rank === 1 && bias.shape[0] === co && kh * kw <= CONV_BIAS_ACTIVATION_MAX_TAPS;
  if (fused) {
    return runKernel(
      CONV_BIAS_ACTIVATION,
      { x, filter, bias },
      {
        strides: pair(strides),
        pad,
        dilations: pair(dilations),
        activation,
        alpha,
      },
    );
  }
  return tf.tidy(() => {
    const y = tf.add(
      tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad, "NHWC", dilations),
      bias,
    );
    if (activation === "relu") return tf.relu(y);
    if (activation === "relu6") return tf.relu6(y);
    return activation === "leakyrelu" ? tf.leakyRelu(y, alpha) : y;
  });
}
