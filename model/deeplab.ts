/**
 * G, the segmentation network: DeepLab-V2 (Chen et al. 2017) as the UDA
 * literature trains it: a backbone at output stride 8 and an ASPP head of
 * four 3×3 atrous convolutions (rates 6, 12, 18, 24) whose class scores are
 * summed. Returns the logits at the classifier's resolution and the backbone
 * feature that the grouping network C reads.
 *
 * Backbones: ResNet-18/34/50/101 with a width multiplier (`model/resnet.ts`),
 * or MobileNetV2 (`model/mobilenet_v2.ts`), the only one with ImageNet
 * weights reachable offline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyDeepLab, initDeepLab, random, tf } from "../mod.ts";
 * const config = { backbone: "resnet" as const, depth: 18 as const, width: 0.125, classes: 11 };
 * const params = initDeepLab(random.key(0), config);
 * const { logits, feature } = applyDeepLab(params, tf.zeros([1, 32, 32, 3]), config);
 * assert.deepEqual([logits.shape, feature.shape], [[1, 4, 4, 11], [1, 4, 4, 64]]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { type Key, split } from "../lib/random.ts";
import { type BatchStatistics, conv, type ConvParams, initConv, type NormMode } from "./layers.ts";
import {
  applyResNet,
  initResNet,
  resnetChannels,
  type ResNetDepth,
  type ResNetParams,
  type ResNetVariant,
} from "./resnet.ts";
import {
  applyMobileNetV2,
  initMobileNetV2,
  mobileNetV2Channels,
  type MobileNetV2Params,
} from "./mobilenet_v2.ts";

/** G's configuration. */
export interface DeepLabConfig {
  /** "resnet" (default) or "mobilenetv2". */
  backbone?: "resnet" | "mobilenetv2";
  /** ResNet depth (default 101). */
  depth?: ResNetDepth;
  /** ResNet variant (default "default"; "caffe" for DeepLab-V2's Caffe weights: `model/resnet.ts`). */
  variant?: ResNetVariant;
  /** Channel multiplier of the ResNet (default 1). */
  width?: number;
  /** Number of classes. */
  classes: number;
  /** ASPP rates (default [6, 12, 18, 24]). */
  atrousRates?: number[];
  /**
   * Batch-norm mode in training (default "frozen", as UDA work trains
   * DeepLab-V2): "batch" trains with batch statistics and tracks running
   * ones; evaluation always uses the running statistics.
   */
  norm?: NormMode;
}

/** How {@linkcode applyDeepLab} runs. */
export interface DeepLabApplyOptions {
  /**
   * Training (default false): with `norm: "batch"`, normalise with the
   * statistics of this batch (and report them to `record`); otherwise, and
   * always in evaluation, with the running statistics, so that a prediction
   * does not depend on the other images of its batch.
   */
  training?: boolean;
  /** Receives the batch statistics of a training pass in batch mode. */
  record?: BatchStatistics;
}

/** G's parameters. */
export type DeepLabParams = {
  backbone: ResNetParams | MobileNetV2Params;
  head: { aspp: ConvParams[] };
};

/** What G returns. */
export interface DeepLabOutput {
  /** Class scores [N, h, w, C] at output stride 8. */
  logits: Tensor;
  /** The backbone feature [N, h, w, F]. */
  feature: Tensor;
}

const DEFAULT_RATES = [6, 12, 18, 24];

/**
 * The number of channels of the feature G returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deepLabFeatureChannels } from "./deeplab.ts";
 * assert.deepEqual(deepLabFeatureChannels({ classes: 19 }), 2048);
 * ```
 */
export function deepLabFeatureChannels(config: DeepLabConfig): number {
  return config.backbone === "mobilenetv2"
    ? mobileNetV2Channels()
    : resnetChannels({ depth: config.depth ?? 101, width: config.width });
}

/**
 * Initialises G: a randomly initialised backbone (He-normal) and the ASPP head
 * from N(0, 0.01²) as in DeepLab. Load pretrained weights over it where you
 * have them (MobileNetV2: `loadMobileNetV2ImageNet`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initDeepLab, random } from "../mod.ts";
 * const g = initDeepLab(random.key(0), { depth: 18, width: 0.25, classes: 19 });
 * assert.deepEqual(g.head.aspp.length, 4);
 * ```
 */
export function initDeepLab(k: Key, config: DeepLabConfig): DeepLabParams {
  if (!Number.isInteger(config.classes) || config.classes < 2) {
    throw new Error(`deeplab: classes must be an integer ≥ 2, got ${config.classes}`);
  }
  const rates = config.atrousRates ?? DEFAULT_RATES;
  const [kb, kh] = split(k);
  const backbone = config.backbone === "mobilenetv2"
    ? initMobileNetV2(kb)
    : initResNet(kb, { depth: config.depth ?? 101, width: config.width });
  const channels = deepLabFeatureChannels(config);
  const aspp = split(kh, rates.length).map((rk) =>
    initConv(rk, [3, 3, channels, config.classes], { stddev: 0.01 })
  );
  return { backbone, head: { aspp } };
}

/**
 * Runs G: images [N, H, W, 3] (normalised as the backbone expects) → logits
 * and feature at stride 8. Evaluation by default; `{ training: true }` for a
 * training step. `predict` gives label maps at the input size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyDeepLab, initDeepLab, random, tf } from "../mod.ts";
 * const config = { depth: 18 as const, width: 0.125, classes: 5 };
 * const params = initDeepLab(random.key(0), config);
 * const { logits, feature } = applyDeepLab(params, tf.zeros([2, 32, 48, 3]), config);
 * assert.deepEqual([logits.shape, feature.shape.slice(0, 3)], [[2, 4, 6, 5], [2, 4, 6]]);
 * ```
 */
export function applyDeepLab(
  p: DeepLabParams,
  images: Tensor,
  config: DeepLabConfig,
  options: DeepLabApplyOptions = {},
): DeepLabOutput {
  const rates = config.atrousRates ?? DEFAULT_RATES;
  const norm = options.training && config.norm === "batch" ? "batch" : "frozen";
  const { record } = options;
  const feature = config.backbone === "mobilenetv2"
    ? applyMobileNetV2(p.backbone as MobileNetV2Params, images, { norm, record })
    : applyResNet(p.backbone as ResNetParams, images, {
      depth: config.depth ?? 101,
      width: config.width,
      norm,
      variant: config.variant,
    }, record);
  const branches = p.head.aspp.map((branch, i) => conv(branch, feature, { dilation: rates[i] }));
  const logits = branches.length === 1 ? branches[0] : tf.addN(branches);
  return { logits, feature };
}
