/**
 * ResNet backbones (He et al. 2016) as DeepLab-V2 uses them: output stride 8,
 * with the last two stages dilated (rates 2 and 4) instead of strided. Depths
 * 18 and 34 use basic blocks, 50 and 101 bottlenecks. A width multiplier
 * scales every channel count for CPU-sized runs. Convolutions have no bias;
 * every one is followed by batch normalisation.
 *
 * Three variants ({@linkcode RESNET_VARIANTS}) differ where converted weights
 * must land exactly:
 * - `default`: stride on the bottleneck's 3×3 convolution (torchvision's
 *   v1.5), the stem's 3×3 max pool padded as tfjs's `"same"`: this project's
 *   own runs.
 * - `torchvision`: the same blocks, the max pool padded by 1 on each side
 *   (PyTorch's `MaxPool2d(3, 2, 1)`), so that torchvision's weights see the
 *   pixels they were trained on.
 * - `caffe`: DeepLab-V2's Caffe network as AdaptSegNet and ADVENT load it
 *   (`DeepLab_resnet_pretrained_init`): stride on the bottleneck's first 1×1
 *   convolution, and the max pool in `ceil_mode` (padded by 1, rounding the
 *   output size up).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyResNet, initResNet, random, tf } from "../mod.ts";
 * const cfg = { depth: 18 as const, width: 0.125 };
 * const params = initResNet(random.key(0), cfg);
 * const feature = applyResNet(params, tf.zeros([1, 32, 32, 3]), cfg);
 * assert.deepEqual(feature.shape, [1, 4, 4, 64]);
 * ```
 *
 * @module
 */
import type { Tensor } from "../lib/tf.ts";
import { tf } from "../lib/tf.ts";
import { type Key, split } from "../lib/random.ts";
import {
  batchNorm,
  type BatchNormParams,
  type BatchStatistics,
  conv,
  type ConvParams,
  initBatchNorm,
  initConv,
  type NormMode,
} from "./layers.ts";

/**
 * The ResNet depths offered.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESNET_DEPTHS } from "../mod.ts";
 * assert.ok(RESNET_DEPTHS.includes(101)); // DeepLab-V2's backbone in the papers
 * ```
 */
export const RESNET_DEPTHS = [18, 34, 50, 101] as const;

/** A ResNet depth. */
export type ResNetDepth = typeof RESNET_DEPTHS[number];

/**
 * The ResNet variants (see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESNET_VARIANTS } from "../mod.ts";
 * assert.deepEqual(RESNET_VARIANTS, ["default", "torchvision", "caffe"]);
 * ```
 */
export const RESNET_VARIANTS = ["default", "torchvision", "caffe"] as const;

/** A ResNet variant. */
export type ResNetVariant = typeof RESNET_VARIANTS[number];

/** A ResNet backbone's configuration. */
export interface ResNetConfig {
  /** Where converted weights land (default "default"; see the module doc). */
  variant?: ResNetVariant;
  /** 18, 34, 50 or 101. */
  depth: ResNetDepth;
  /** Channel multiplier (default 1: the published widths). */
  width?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Batch-norm mode (default "frozen"). */
  norm?: NormMode;
}

/** One residual block's parameters. */
export type BlockParams = {
  conv1: ConvParams;
  bn1: BatchNormParams;
  conv2: ConvParams;
  bn2: BatchNormParams;
  conv3?: ConvParams;
  bn3?: BatchNormParams;
  downsample?: { conv: ConvParams; bn: BatchNormParams };
};

/** A ResNet backbone's parameters. */
export type ResNetParams = {
  stem: { conv: ConvParams; bn: BatchNormParams };
  layer1: BlockParams[];
  layer2: BlockParams[];
  layer3: BlockParams[];
  layer4: BlockParams[];
};

const BLOCKS: Record<ResNetDepth, [number, number, number, number]> = {
  18: [2, 2, 2, 2],
  34: [3, 4, 6, 3],
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
};

/** Stride and dilation of the four stages at output stride 8. */
const STAGES = [
  { stride: 1, dilation: 1 },
  { stride: 2, dilation: 1 },
  { stride: 1, dilation: 2 },
  { stride: 1, dilation: 4 },
];

function widths(config: ResNetConfig) {
  const w = config.width ?? 1;
  if (!(w > 0) || !Number.isFinite(w)) {
    throw new Error(`resnet: width multiplier must be > 0, got ${w}`);
  }
  if (!RESNET_DEPTHS.includes(config.depth)) {
    throw new Error(
      `resnet: depth must be one of ${RESNET_DEPTHS.join(", ")}, got ${config.depth}`,
    );
  }
  const c = (n: number) => Math.max(1, Math.round(n * w));
  const bottleneck = config.depth >= 50;
  return {
    stem: c(64),
    planes: [c(64), c(128), c(256), c(512)],
    expansion: bottleneck ? 4 : 1,
    bottleneck,
  };
}

/**
 * The number of channels of the backbone's output feature.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resnetChannels } from "./resnet.ts";
 * assert.deepEqual([resnetChannels({ depth: 101 }), resnetChannels({ depth: 18, width: 0.5 })], [2048, 256]);
 * ```
 */
export function resnetChannels(config: ResNetConfig): number {
  const w = widths(config);
  return w.planes[3] * w.expansion;
}

/**
 * Initialises a ResNet backbone (He-normal convolutions, identity batch
 * norms).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initResNet, random } from "../mod.ts";
 * const p = initResNet(random.key(0), { depth: 18, width: 0.25 });
 * assert.deepEqual(p.layer4.length, 2);
 * ```
 */
export function initResNet(k: Key, config: ResNetConfig): ResNetParams {
  const w = widths(config);
  const [stemKey, ...stageKeys] = split(k, 5);
  let inC = w.stem;
  const stages = BLOCKS[config.depth].map((count, s) => {
    const planes = w.planes[s];
    const keys = split(stageKeys[s], count);
    return keys.map((bk, b): BlockParams => {
      const [k1, k2, k3, kd] = split(bk, 4);
      const outC = planes * w.expansion;
      const stride = b === 0 ? STAGES[s].stride : 1;
      const block: BlockParams = w.bottleneck
        ? {
          conv1: initConv(k1, [1, 1, inC, planes], { bias: false }),
          bn1: initBatchNorm(planes),
          conv2: initConv(k2, [3, 3, planes, planes], { bias: false }),
          bn2: initBatchNorm(planes),
          conv3: initConv(k3, [1, 1, planes, outC], { bias: false }),
          bn3: initBatchNorm(outC),
        }
        : {
          conv1: initConv(k1, [3, 3, inC, planes], { bias: false }),
          bn1: initBatchNorm(planes),
          conv2: initConv(k2, [3, 3, planes, planes], { bias: false }),
          bn2: initBatchNorm(planes),
        };
      if (stride !== 1 || inC !== outC) {
        block.downsample = {
          conv: initConv(kd, [1, 1, inC, outC], { bias: false }),
          bn: initBatchNorm(outC),
        };
      }
      inC = outC;
      return block;
    });
  });
  return {
    stem: {
      conv: initConv(stemKey, [7, 7, config.inChannels ?? 3, w.stem], { bias: false }),
      bn: initBatchNorm(w.stem),
    },
    layer1: stages[0],
    layer2: stages[1],
    layer3: stages[2],
    layer4: stages[3],
  };
}

function applyBlock(
  p: BlockParams,
  x: Tensor,
  stride: number,
  dilation: number,
  norm: NormMode,
  record: BatchStatistics | undefined,
  variant: ResNetVariant,
): Tensor {
  const bn = (q: BatchNormParams, y: Tensor) => batchNorm(q, y, norm, 1e-5, record);
  let h: Tensor;
  if (p.conv3 && p.bn3) {
    // Caffe's DeepLab strides the first 1×1 convolution, torchvision's v1.5 the 3×3.
    const [s1, s2] = variant === "caffe" ? [stride, 1] : [1, stride];
    h = tf.relu(bn(p.bn1, conv(p.conv1, x, { stride: s1 })));
    h = tf.relu(bn(p.bn2, conv(p.conv2, h, { stride: s2, dilation })));
    h = bn(p.bn3, conv(p.conv3, h));
  } else {
    h = tf.relu(bn(p.bn1, conv(p.conv1, x, { stride, dilation })));
    h = bn(p.bn2, conv(p.conv2, h, { dilation }));
  }
  const shortcut = p.downsample ? bn(p.downsample.bn, conv(p.downsample.conv, x, { stride })) : x;
  return tf.relu(tf.add(h, shortcut));
}

/**
 * The stem's 3×3 stride-2 max pool as each variant pads it. Its input comes
 * out of a relu (≥ 0), so zero padding never wins a maximum that the
 * -∞ padding of PyTorch would not.
 */
function stemPool(h: Tensor, variant: ResNetVariant): Tensor {
  if (variant === "default") return tf.maxPool(h as tf.Tensor4D, 3, 2, "same");
  const [, height, width] = h.shape;
  const size = (n: number) => {
    if (variant === "torchvision") return Math.floor((n + 2 - 3) / 2) + 1;
    let out = Math.ceil((n + 2 - 3) / 2) + 1;
    if ((out - 1) * 2 >= n + 1) out--; // PyTorch: the last window must start inside
    return out;
  };
  const oh = size(height), ow = size(width);
  // Pad 1 before; after, whatever the last window needs (1 for floor mode, up to 2 for ceil).
  const after = (n: number, out: number) => Math.max(0, (out - 1) * 2 + 3 - n - 1);
  const padded = tf.pad(h, [[0, 0], [1, after(height, oh)], [1, after(width, ow)], [0, 0]]);
  return tf.maxPool(padded as tf.Tensor4D, 3, 2, "valid");
}

/**
 * Runs the backbone: images [N, H, W, 3] → feature [N, ⌈H/8⌉, ⌈W/8⌉, C].
 * In `"batch"` norm mode, `record` (if given) receives each batch norm's
 * statistics (`model/layers.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyResNet, initResNet, random, tf } from "../mod.ts";
 * const config = { depth: 18 as const, width: 0.125 };
 * const feature = applyResNet(initResNet(random.key(0), config), tf.zeros([1, 32, 32, 3]), config);
 * assert.deepEqual(feature.shape.slice(0, 3), [1, 4, 4]);
 * ```
 */
export function applyResNet(
  p: ResNetParams,
  images: Tensor,
  config: ResNetConfig,
  record?: BatchStatistics,
): Tensor {
  const norm = config.norm ?? "frozen";
  let h = tf.relu(
    batchNorm(p.stem.bn, conv(p.stem.conv, images, { stride: 2 }), norm, 1e-5, record),
  );
  const variant = config.variant ?? "default";
  h = stemPool(h, variant);
  [p.layer1, p.layer2, p.layer3, p.layer4].forEach((blocks, s) => {
    blocks.forEach((block, b) => {
      const stride = b === 0 ? STAGES[s].stride : 1;
      h = applyBlock(block, h, stride, STAGES[s].dilation, norm, record, variant);
    });
  });
  return h;
}
