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
export { registerWasmKernels, WASM_KERNEL_NAMES } from "./lib/kernels/wasm_registry.ts";
export { installDilatedGradients } from "./lib/kernels/dilated_gradients.ts";
export { gradientsInstalled, installGradients } from "./lib/gradients.ts";
export { sparseSoftmaxCrossEntropy } from "./lib/sparse_softmax_cross_entropy.ts";
export { conv2dBiasActivation } from "./lib/conv2d_bias_activation.ts";
export type { ConvBiasActivationOptions } from "./lib/conv2d_bias_activation.ts";
export { depthwiseBiasActivation } from "./lib/depthwise_bias_activation.ts";
export type { DepthwiseBiasActivationOptions } from "./lib/depthwise_bias_activation.ts";

export * from "./model/layers.ts";
export * from "./model/resnet.ts";
export * from "./model/mobilenet_v2.ts";
export * from "./model/deeplab.ts";
export * from "./model/grouping.ts";
export * from "./model/discriminator.ts";
export * from "./losses/cross_entropy.ts";
export * from "./losses/adversarial.ts";
export * from "./losses/group_distribution.ts";
export * from "./losses/class_balanced_distribution.ts";
export * from "./losses/semantic_consistency.ts";
export * from "./losses/orthogonality.ts";
export * from "./losses/group_balance.ts";
export * from "./losses/class_equivalence.ts";
export * from "./losses/entropy.ts";
export * from "./methods/config.ts";
export * from "./methods/step.ts";
export {
  type DiscParams,
  type DiscriminatorInputs,
  type GeneratorContext,
  type GeneratorTerms,
  type MethodDefinition,
  type Predictions,
} from "./methods/method.ts";
export { METHOD_DEFINITIONS } from "./methods/registry.ts";
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
export * from "./model/pretrained.ts";
export { type Normalisation, normalise } from "./data/stream.ts";
