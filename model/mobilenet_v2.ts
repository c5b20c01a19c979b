/**
 * A MobileNetV2 backbone (Sandler et al. 2018, width 1.0) at output stride 8,
 * in the manner of DeepLab-V3's MobileNetV2: blocks 6 and 13 keep stride 1 and
 * the depthwise convolutions after them are dilated (rates 2, then 4). The
 * feature is block 16's projection (320 channels); the final 1×1 Conv_1
 * (1280 channels) of the classifier is left out.
 *
 * Layer names follow Keras's `MobileNetV2`, so that ImageNet-initialised
 * weights load by name (see `data/pretrained.ts`). Batch-norm ε is Keras's
 * 1e-3; pixels are expected in [−1, 1] (Keras's `preprocess_input`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyMobileNetV2, initMobileNetV2, random, tf } from "../mod.ts";
 * const p = initMobileNetV2(random.key(0));
 * const f = applyMobileNetV2(p, tf.zeros([1, 32, 32, 3]));
 * assert.deepEqual(f.shape, [1, 4, 4, 320]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { type Key, normal, split } from "../lib/random.ts";
import { conv2dBiasActivation } from "../lib/conv2d_bias_activation.ts";
import { depthwiseBiasActivation } from "../lib/depthwise_bias_activation.ts";
import {
  batchNorm,
  type BatchNormParams,
  type BatchStatistics,
  type ConvParams,
  frozenAffine,
  initBatchNorm,
  initConv,
  type NormMode,
} from "./layers.ts";

/** One inverted-residual block: optional 1×1 expansion, 3×3 depthwise, 1×1 projection. */
export type InvertedResidualParams = {
  expand?: { conv: ConvParams; bn: BatchNormParams };
  depthwise: { kernel: Tensor; bn: BatchNormParams };
  project: { conv: ConvParams; bn: BatchNormParams };
};

/** MobileNetV2's parameters: the stem and 17 blocks. */
export type MobileNetV2Params = {
  stem: { conv: ConvParams; bn: BatchNormParams };
  blocks: InvertedResidualParams[];
};

/** Per block: input and output channels, expansion, stride in the classifier. */
export const MOBILENET_V2_BLOCKS: readonly {
  readonly in: number;
  readonly out: number;
  readonly expansion: number;
  readonly stride: number;
}[] = [
  [32, 16, 1, 1],
  [16, 24, 6, 2],
  [24, 24, 6, 1],
  [24, 32, 6, 2],
  [32, 32, 6, 1],
  [32, 32, 6, 1],
  [32, 64, 6, 2],
  [64, 64, 6, 1],
  [64, 64, 6, 1],
  [64, 64, 6, 1],
  [64, 96, 6, 1],
  [96, 96, 6, 1],
  [96, 96, 6, 1],
  [96, 160, 6, 2],
  [160, 160, 6, 1],
  [160, 160, 6, 1],
  [160, 320, 6, 1],
].map(([i, o, e, s]) => ({ in: i, out: o, expansion: e, stride: s }));

const EPS = 1e-3;

/**
 * Channels of the MobileNetV2 feature (320).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mobileNetV2Channels } from "./mobilenet_v2.ts";
 * assert.deepEqual(mobileNetV2Channels(), 320);
 * ```
 */
export function mobileNetV2Channels(): number {
  return 320;
}

/**
 * Stride and dilation of each block's depthwise convolution at output stride
 * 8: once the running stride reaches 8, strides become 1 and the dilation
 * grows by the stride that was removed, from the next layer on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mobileNetV2Geometry } from "./mobilenet_v2.ts";
 * assert.deepEqual(mobileNetV2Geometry()[13], { stride: 1, dilation: 2 });
 * ```
 */
export function mobileNetV2Geometry(): { stride: number; dilation: number }[] {
  let current = 2, rate = 1;
  return MOBILENET_V2_BLOCKS.map((b) => {
    if (current >= 8 && b.stride > 1) {
      const out = { stride: 1, dilation: rate };
      rate *= b.stride;
      return out;
    }
    current *= b.stride;
    return { stride: b.stride, dilation: rate };
  });
}

/**
 * A randomly initialised MobileNetV2 (He-normal, identity batch norms).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initMobileNetV2, random } from "../mod.ts";
 * assert.deepEqual(initMobileNetV2(random.key(0)).blocks.length, 17);
 * ```
 */
export function initMobileNetV2(k: Key): MobileNetV2Params {
  const [stemKey, ...blockKeys] = split(k, 1 + MOBILENET_V2_BLOCKS.length);
  const blocks = MOBILENET_V2_BLOCKS.map((b, i): InvertedResidualParams => {
    const [ke, kd, kp] = split(blockKeys[i], 3);
    const hidden = b.in * b.expansion;
    const block: InvertedResidualParams = {
      depthwise: {
        kernel: normal(kd, [3, 3, hidden, 1], { stddev: Math.sqrt(2 / 9) }),
        bn: initBatchNorm(hidden),
      },
      project: {
        conv: initConv(kp, [1, 1, hidden, b.out], { bias: false }),
        bn: initBatchNorm(b.out),
      },
    };
    if (b.expansion !== 1) {
      block.expand = {
        conv: initConv(ke, [1, 1, b.in, hidden], { bias: false }),
        bn: initBatchNorm(hidden),
      };
    }
    return block;
  });
  return {
    stem: { conv: initConv(stemKey, [3, 3, 3, 32], { bias: false }), bn: initBatchNorm(32) },
    blocks,
  };
}

/**
 * Runs the backbone: images [N, H, W, 3] in [−1, 1] → feature
 * [N, ⌈H/8⌉, ⌈W/8⌉, 320].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyMobileNetV2, initMobileNetV2, random, tf, tree } from "../mod.ts";
 * const params = initMobileNetV2(random.key(0));
 * const images = tf.zeros([1, 32, 48, 3]);
 * const feature = applyMobileNetV2(params, images, { norm: "frozen" });
 * assert.deepEqual(feature.shape, [1, 4, 6, 320]);
 * tree.dispose([params, images, feature]);
 * ```
 */
export function applyMobileNetV2(
  p: MobileNetV2Params,
  images: Tensor,
  options: { norm?: NormMode; record?: BatchStatistics } = {},
): Tensor {
  const norm = options.norm ?? "frozen";
  // A convolution, its batch norm, and relu6 if asked. A frozen norm folds
  // into the convolution (w·scale, bias shift), so that convolution, bias and
  // relu6 run as one kernel; batch statistics need the composed ops.
  const layer = (
    kernel: Tensor,
    bn: BatchNormParams,
    x: Tensor,
    o: {
      pad: "same" | "valid";
      relu6: boolean;
      stride?: number;
      dilation?: number;
      depthwise?: boolean;
    },
  ): Tensor => {
    const { pad, relu6, stride = 1, dilation = 1, depthwise = false } = o;
    if (norm === "frozen") {
      const { scale, shift } = frozenAffine(bn, EPS);
      const perChannel = depthwise ? [1, 1, scale.size, 1] : [1, 1, 1, scale.size];
      const filter = tf.mul(kernel, tf.reshape(scale, perChannel));
      const fused = {
        strides: stride,
        pad,
        dilations: dilation,
        activation: relu6 ? "relu6" as const : "linear" as const,
      };
      return depthwise
        ? depthwiseBiasActivation(x, filter, shift, fused)
        : conv2dBiasActivation(x, filter, shift, fused);
    }
    const run = depthwise ? tf.depthwiseConv2d : tf.conv2d;
    const y = run(x as tf.Tensor4D, kernel as tf.Tensor4D, stride, pad, "NHWC", dilation);
    const normed = batchNorm(bn, y, norm, EPS, options.record);
    return relu6 ? tf.relu6(normed) : normed;
  };
  let h = layer(p.stem.conv.kernel, p.stem.bn, images, { pad: "same", relu6: true, stride: 2 });
  const geometry = mobileNetV2Geometry();
  p.blocks.forEach((block, i) => {
    const { stride, dilation } = geometry[i];
    const input = h;
    let x = block.expand
      ? layer(block.expand.conv.kernel, block.expand.bn, h, { pad: "valid", relu6: true })
      : h;
    x = layer(block.depthwise.kernel, block.depthwise.bn, x, {
      pad: "same",
      relu6: true,
      stride,
      dilation,
      depthwise: true,
    });
    x = layer(block.project.conv.kernel, block.project.bn, x, { pad: "valid", relu6: false });
    const spec = MOBILENET_V2_BLOCKS[i];
    h = stride === 1 && spec.in === spec.out ? tf.add(input, x) : x;
  });
  return h;
}
