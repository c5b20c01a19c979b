/**
 * Unsupervised domain adaptation for semantic segmentation on TensorFlow.js,
 * in a functional style: models are pure functions over parameter trees,
 * optimizers are pure `init`/`update` pairs, and a training step is
 * `step(params, optState, batch) => [params, optState, metrics]`.
 *
 * This module is the public API. It imports TensorFlow.js by full `npm:`
 * specifiers only, so it works when imported from a URL by a project with an
 * import map of its own.
 *
 * @example One training step of a tiny model, leak-free
 * ```ts
 * import assert from "node:assert/strict";
 * import { adam, applyUpdates, random, replace, tf, tidy, tree, useBackend, valueAndGrad } from "./mod.ts";
 *
 * await useBackend("wasm");
 * const [k1, k2] = random.split(random.key(0));
 * let params = { w: random.normal(k1, [4, 2], { stddev: 0.1 }), b: tf.zeros([2]) };
 * const opt = adam({ learningRate: 1e-2 });
 * let state = opt.init(params);
 * const x = random.normal(k2, [8, 4]);
 *
 * const loss = (p: typeof params) => ({
 *   loss: tf.mean(tf.square(tf.add(tf.matMul(x, p.w), p.b))),
 * });
 * const step = (p: typeof params, s: typeof state) =>
 *   tidy(() => {
 *     const { value, grads } = valueAndGrad(loss)(p);
 *     const [updates, next] = opt.update(grads, s, p);
 *     return [applyUpdates(p, updates), next, { loss: value }] as const;
 *   });
 *
 * const [p1, s1, metrics] = step(params, state);
 * assert.deepEqual((await metrics.loss.data())[0] > 0, true);
 * [params, state] = replace([params, state, metrics], [p1, s1]);
 * tree.dispose([params, state]);
 * ```
 *
 * @module
 */
import { tf as tfjs } from "./lib/tf.ts";
/**
 * TensorFlow.js 4.22 (`npm:@tensorflow/tfjs@4.22.0`), the instance this
 * library uses; its tensor types are under the same name (`tf.Tensor4D`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./mod.ts";
 * const images = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
 * assert.deepEqual(images.shape, [2, 8, 8, 3]);
 * images.dispose();
 * ```
 */
export const tf: typeof tfjs = tfjs;
/** TensorFlow.js's tensor types, so that `x as tf.Tensor4D` type-checks in a user's code. */
export declare namespace tf {
  /** A tensor of rank R. */
  export type Tensor = tfjs.Tensor;
  /** A rank-0 tensor. */
  export type Scalar = tfjs.Scalar;
  /** A rank-1 tensor. */
  export type Tensor1D = tfjs.Tensor1D;
  /** A rank-2 tensor. */
  export type Tensor2D = tfjs.Tensor2D;
  /** A rank-3 tensor (a label map batch [N, H, W]). */
  export type Tensor3D = tfjs.Tensor3D;
  /** A rank-4 tensor (an image batch [N, H, W, C]). */
  export type Tensor4D = tfjs.Tensor4D;
  /** A rank-5 tensor. */
  export type Tensor5D = tfjs.Tensor5D;
  /** A tensor's rank. */
  export type Rank = tfjs.Rank;
  /** A tensor's element type. */
  export type DataType = tfjs.DataType;
  /** Values a tensor can be made from. */
  export type TensorLike = tfjs.TensorLike;
}
export type { Scalar, Tensor, Tensor3D, Tensor4D } from "./lib/tf.ts";
export * as tree from "./lib/tree.ts";
export type { Entry, Tree } from "./lib/tree.ts";
export * as random from "./lib/random.ts";
export type { Key } from "./lib/random.ts";
export {
  type LossOutput,
  stopGradient,
  type ValueAndGrad,
  valueAndGrad,
  withoutGradient,
} from "./lib/grad.ts";
export { disposeAll, replace, tidy } from "./lib/memory.ts";
export * from "./lib/optim/mod.ts";
export {
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendInfo,
  type BackendOptions,
  defaultWasmThreads,
  probeWebGpu,
  useBackend,
  type WebGpuProbe,
} from "./lib/backend.ts";

// G: DeepLab-V2 on a ResNet or MobileNetV2 backbone; CDGA's C; the discriminators.
export {
  type BatchNormParams,
  type BatchStatistics,
  type ConvParams,
  type LayerNormParams,
  NORM_MODES,
  type NormMode,
} from "./model/layers.ts";
export {
  applyResNet,
  type BlockParams,
  initResNet,
  RESNET_DEPTHS,
  RESNET_VARIANTS,
  type ResNetConfig,
  type ResNetDepth,
  type ResNetParams,
  type ResNetVariant,
} from "./model/resnet.ts";
export {
  applyMobileNetV2,
  initMobileNetV2,
  type InvertedResidualParams,
  type MobileNetV2Params,
} from "./model/mobilenet_v2.ts";
export {
  applyDeepLab,
  type DeepLabApplyOptions,
  type DeepLabConfig,
  type DeepLabOutput,
  type DeepLabParams,
  initDeepLab,
} from "./model/deeplab.ts";
export {
  applyGrouping,
  type GroupingConfig,
  groupingLogits,
  type GroupingParams,
  initGrouping,
} from "./model/grouping.ts";
export {
  applyGroupDiscriminator,
  applyPatchDiscriminator,
  GROUP_DISCRIMINATOR_MODES,
  type GroupDiscriminatorConfig,
  type GroupDiscriminatorMode,
  type GroupDiscriminatorParams,
  initGroupDiscriminator,
  initPatchDiscriminator,
  type PatchDiscriminatorConfig,
  type PatchDiscriminatorParams,
} from "./model/discriminator.ts";
export { loadMobileNetV2Weights, type PretrainedMobileNetV2 } from "./model/pretrained.ts";

// The losses, one equation each.
export { IGNORE_LABEL, oneHotLabels, segmentationCrossEntropy } from "./losses/cross_entropy.ts";
export {
  type AdversarialKind,
  adversarialLoss,
  discriminatorAccuracy,
  groupAdversarialLoss,
} from "./losses/adversarial.ts";
export { groupClassDistributions } from "./losses/group_distribution.ts";
export {
  type ClassBalancedDistributions,
  classBalancedDistributions,
  groupMembership,
} from "./losses/class_balanced_distribution.ts";
export {
  CONSISTENCY_DISTANCES,
  type ConsistencyDistance,
  semanticConsistency,
} from "./losses/semantic_consistency.ts";
export { orthogonality } from "./losses/orthogonality.ts";
export { gramOrthogonality } from "./losses/gram_orthogonality.ts";
export { sinkhornOrthogonality } from "./losses/sinkhorn_orthogonality.ts";
export { groupBalance, groupUsage, usageBalance } from "./losses/group_balance.ts";
export { classEquivalenceWeights, pseudoLabels } from "./losses/class_equivalence.ts";
export { meanEntropy, selfInformation } from "./losses/entropy.ts";

// The methods: configuration, defaults, the trainer and its metrics.
export {
  CDGA_GLOBAL_TERMS,
  DISC_RESOLUTIONS,
  GROUP_DISTRIBUTIONS,
  GROUP_SIGNALS,
  type GroupDistribution,
  GROUPING_LOSSES_TRAIN,
  type Lambdas,
  type Method,
  type MethodConfig,
  type MethodConfigInput,
  type MethodDefaults,
  methodDefaults,
  METHODS,
  type OptimConfig,
  resolveConfig,
  SEG_OPTIMIZERS,
} from "./methods/config.ts";
export { METHOD_DEFINITIONS, REGISTERED_METHODS } from "./methods/registry.ts";
export {
  discriminatorOptimizer,
  frozenParameter,
  headOptimizer,
  segOptimizer,
} from "./methods/optimizers.ts";
export {
  type AdversarialMetrics,
  type BaseMetrics,
  type Batch,
  type GroupingMetrics,
  makeTrainer,
  type Metrics,
  type MetricsOf,
  type OptStates,
  type Params,
  readMetrics,
  stepProblem,
  type Trainer,
} from "./methods/step.ts";
export {
  type DiscParams,
  type DiscriminatorInputs,
  type GeneratorContext,
  type GeneratorTerms,
  type MethodDefinition,
  ownOptions,
  type Parts,
  type PartTraining,
  type Predictions,
} from "./methods/method.ts";
export {
  type OptionKind,
  type OptionSpec,
  type OptionValue,
  type ValueOfSpec,
  type ValuesOfSpecs,
} from "./lib/option_spec.ts";

// Prediction, evaluation, files.
export { gapClosed } from "./eval/table.ts";
export { ConfusionMatrix, evaluate, type Evaluation } from "./eval/metrics.ts";
export { predict, type Prediction, type PredictOptions } from "./model/predict.ts";
export {
  type Checkpoint,
  type CheckpointContent,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  loadParams,
  type Position,
  restoreTree,
  saveCheckpoint,
  saveParams,
} from "./io/checkpoint.ts";
export { loadSafetensors, parseSafetensors, writeSafetensors } from "./io/safetensors.ts";
export { type Normalisation, normalise } from "./data/stream.ts";
