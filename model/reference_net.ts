/**
 * The reference training step of `shared/bench/torch_reference_step.py`
 * (described in `shared/notes/platform-facts.md`), written with this
 * library's functional core, layer for layer: the yardstick for our speed.
 *
 * Network (NHWC): conv3×3/2 (3→64) → ReLU → conv3×3/2 (64→64) → ReLU →
 * atrous conv3×3 d2 → ReLU → atrous conv3×3 d4 → batch-statistics
 * normalisation with γ, β → ReLU → 1×1 classifier → bilinear upsampling to
 * the input size → softmax cross-entropy; a discriminator (conv4×4/2 → 32,
 * LeakyReLU 0.2, conv4×4/2 → 64, LeakyReLU, 1×1 → 1) on softmax(logits)
 * (BCE to 1, weight 0.01) and on the one-hot labels (BCE to 1); Adam over all
 * 18 tensors. Padding is explicit, as PyTorch's, so shapes and alignment match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initReference, makeReferenceStep, referenceBatch } from "./reference_net.ts";
 * import { key, split } from "../lib/random.ts";
 * import { replace } from "../lib/memory.ts";
 * const [k1, k2] = split(key(0));
 * let params = initReference(k1, { width: 8, classes: 5 });
 * const batch = referenceBatch(k2, { batch: 1, size: 16, classes: 5 });
 * const step = makeReferenceStep();
 * let state = step.init(params);
 * const [p, s, metrics] = step.step(params, state, batch);
 * assert.deepEqual(Number.isFinite(metrics.loss.dataSync()[0]), true);
 * [params, state] = replace([params, state, metrics], [p, s]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { bits, type Key, normal, split } from "../lib/random.ts";
import { sparseSoftmaxCrossEntropy } from "../lib/sparse_softmax_cross_entropy.ts";
import { conv2dBiasActivation } from "../lib/conv2d_bias_activation.ts";
import { batchNorm } from "./layers.ts";
import { valueAndGrad } from "../lib/grad.ts";
import { tidy } from "../lib/memory.ts";
import { adam } from "../lib/optim/aliases.ts";
import { applyUpdates, type OptState } from "../lib/optim/transform.ts";
import { map } from "../lib/tree.ts";

/** Parameters of the reference network and its discriminator. */
export type ReferenceParams = {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
  w3: Tensor;
  b3: Tensor;
  w4: Tensor;
  b4: Tensor;
  gamma: Tensor;
  beta: Tensor;
  wc: Tensor;
  bc: Tensor;
  d1: Tensor;
  db1: Tensor;
  d2: Tensor;
  db2: Tensor;
  d3: Tensor;
  db3: Tensor;
};

/**
 * One batch: images [N, H, W, 3], their class ids [N, H, W] (int32, for the
 * cross-entropy) and the same labels one-hot [N, H, W, classes] (the
 * discriminator's real input).
 */
export type ReferenceBatch = { images: Tensor; ids: Tensor; labels: Tensor };

/** Sizes of the reference network. */
export interface ReferenceConfig {
  /** Feature width (64 in the reference). */
  width?: number;
  /** Classes (21 in the reference). */
  classes?: number;
  /** Discriminator width (32 in the reference). */
  discWidth?: number;
}

/**
 * He-normal weights and zero biases, drawn from `key`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initReference } from "./reference_net.ts";
 * import { key } from "../lib/random.ts";
 * import { count, dispose } from "../lib/tree.ts";
 * const p = initReference(key(0));
 * assert.deepEqual(count(p), 157750);
 * dispose(p);
 * ```
 */
export function initReference(k: Key, config: ReferenceConfig = {}): ReferenceParams {
  const { width: c = 64, classes = 21, discWidth: cd = 32 } = config;
  const keys = split(k, 7);
  const he = (i: number, shape: number[]) =>
    normal(keys[i], shape, { stddev: Math.sqrt(2 / (shape[0] * shape[1] * shape[2])) });
  return {
    w1: he(0, [3, 3, 3, c]),
    b1: tf.zeros([c]),
    w2: he(1, [3, 3, c, c]),
    b2: tf.zeros([c]),
    w3: he(2, [3, 3, c, c]),
    b3: tf.zeros([c]),
    w4: he(3, [3, 3, c, c]),
    b4: tf.zeros([c]),
    gamma: tf.ones([c]),
    beta: tf.zeros([c]),
    wc: he(4, [1, 1, c, classes]),
    bc: tf.zeros([classes]),
    d1: he(5, [4, 4, classes, cd]),
    db1: tf.zeros([cd]),
    d2: he(6, [4, 4, cd, 2 * cd]),
    db2: tf.zeros([2 * cd]),
    d3: normal(split(keys[6])[1], [1, 1, 2 * cd, 1], { stddev: Math.sqrt(2 / (2 * cd)) }),
    db3: tf.zeros([1]),
  };
}

/**
 * A random batch: normal images and uniform labels, as int32 ids and as
 * float32 one-hots (the safe form on webgpu, see platform-facts.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { referenceBatch } from "./reference_net.ts";
 * import { key } from "../lib/random.ts";
 * const b = referenceBatch(key(1), { batch: 2, size: 32, classes: 21 });
 * assert.deepEqual(b.labels.shape, [2, 32, 32, 21]);
 * ```
 */
export function referenceBatch(
  k: Key,
  options: { batch?: number; size?: number; classes?: number } = {},
): ReferenceBatch {
  const { batch = 2, size = 128, classes = 21 } = options;
  const [kx, ky] = split(k);
  const words = bits(ky, batch * size * size);
  const ids = Int32Array.from(words, (w) => w % classes);
  return {
    images: normal(kx, [batch, size, size, 3]),
    ids: tf.tensor3d(ids, [batch, size, size], "int32"),
    labels: tidy(() =>
      tf.oneHot(tf.tensor1d(ids, "int32"), classes, 1, 0, "float32")
        .reshape([batch, size, size, classes])
    ),
  };
}

type Pad = [[number, number], [number, number], [number, number], [number, number]];
const pad = (p: number): Pad => [[0, 0], [p, p], [p, p], [0, 0]];

// act(conv(x, w) + b) as one kernel where the backend has it.
function conv(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  stride: number,
  padding: number,
  dilation = 1,
  activation: "linear" | "relu" | "leakyrelu" = "linear",
) {
  return conv2dBiasActivation(x, w, b, {
    strides: stride,
    pad: pad(padding),
    dilations: dilation,
    activation,
    alpha: 0.2,
  });
}

function discriminator(p: ReferenceParams, x: Tensor): Tensor {
  const h = conv(x, p.d1, p.db1, 2, 1, 1, "leakyrelu");
  return conv(conv(h, p.d2, p.db2, 2, 1, 1, "leakyrelu"), p.d3, p.db3, 1, 0);
}

const bceToOne = (logits: Tensor) => tf.mean(tf.softplus(tf.neg(logits)));

/**
 * The reference loss: segmentation CE + 0.01·adversarial BCE + the
 * discriminator's BCE on the labels.
 *
 * @example
 * ```ts ignore
 * const { loss } = referenceLoss(params, batch);
 * ```
 */
export function referenceLoss(p: ReferenceParams, batch: ReferenceBatch) {
  const [, size] = batch.images.shape;
  let h = conv(batch.images, p.w1, p.b1, 2, 1, 1, "relu");
  h = conv(h, p.w2, p.b2, 2, 1, 1, "relu");
  h = conv(h, p.w3, p.b3, 1, 2, 2, "relu");
  h = conv(h, p.w4, p.b4, 1, 4, 4);
  // Batch statistics over N, H, W, biased variance, ε 1e-5: the library's batch norm.
  const statistics = { mean: tf.zeros([1]), variance: tf.ones([1]) };
  h = tf.relu(batchNorm({ gamma: p.gamma, beta: p.beta, ...statistics }, h, "batch"));
  const small = conv(h, p.wc, p.bc, 1, 0) as tf.Tensor4D;
  const logits = tf.image.resizeBilinear(small, [size, size], false, true);
  const seg = tf.mean(sparseSoftmaxCrossEntropy(logits, batch.ids));
  const adv = bceToOne(discriminator(p, tf.softmax(logits)));
  const dLoss = bceToOne(discriminator(p, batch.labels));
  const loss = tf.add(tf.add(seg, tf.mul(adv, 0.01)), dLoss) as tf.Scalar;
  return { loss, metrics: { seg, adv, disc: dLoss } };
}

/** The reference step: Adam (lr 1e-3) on the reference loss. */
export interface ReferenceStep {
  /** The optimizer state for some parameters. */
  init(params: ReferenceParams): OptState[];
  /** One pure step: new parameters, new state, metrics (loss, seg, adv, disc). */
  step(
    params: ReferenceParams,
    state: OptState[],
    batch: ReferenceBatch,
  ): [ReferenceParams, OptState[], Record<string, Tensor>];
}

/**
 * Builds the reference step with Adam as in the PyTorch script.
 *
 * @example
 * ```ts ignore
 * const { init, step } = makeReferenceStep();
 * ```
 */
export function makeReferenceStep(learningRate = 1e-3): ReferenceStep {
  const opt = adam({ learningRate, b1: 0.9, b2: 0.999, eps: 1e-8 });
  const lossAndGrad = valueAndGrad(referenceLoss);
  return {
    init: (params) => opt.init(params),
    step: (params, state, batch) =>
      tidy(() => {
        const { value, metrics, grads } = lossAndGrad(params, batch);
        const [updates, nextState] = opt.update(grads, state, params);
        const next = applyUpdates(params, updates);
        return [next, nextState, { loss: value, ...map(metrics, (t) => t) }];
      }),
  };
}
