/**
 * The pure training step of every method:
 *
 *     step(params, optState, batch) => [params, optState, metrics]
 *
 * with params `{ seg, group?, disc? }` (G, C, D as the method uses them) and
 * one optimizer state per part. Inside one call, G and C update on their
 * objective with D frozen, then D updates on the detached inputs of that same
 * forward pass (as AdaptSegNet's reference code does). Inputs are never
 * mutated or disposed; every tensor made inside is freed except those
 * returned.
 *
 * Methods: `sourceOnly` (L_seg), `adaptSegNet` (output-space adversarial),
 * `minEnt` and `advEnt` (ADVENT), `cdga` (grouping, group-level adversarial,
 * semantic consistency, orthogonality, balance, class equivalence). The
 * equations are in `docs/method.md` and in each loss file.
 *
 * @example
 * ```ts
 * import { key } from "../lib/random.ts";
 * import { tf } from "../lib/tf.ts";
 * import { replace } from "../lib/memory.ts";
 * import { makeTrainer } from "./step.ts";
 * const trainer = makeTrainer({
 *   method: "cdga",
 *   seg: { depth: 18, width: 0.125, classes: 3 },
 *   groups: 2,
 *   disc: { width: 4 },
 * });
 * let { params, optState } = trainer.init(key(0));
 * const batch = {
 *   source: { images: tf.zeros([1, 32, 32, 3]), labels: tf.zeros([1, 32, 32], "int32") },
 *   target: { images: tf.zeros([1, 32, 32, 3]) },
 * };
 * const [p, s, metrics] = trainer.step(params, optState, batch);
 * console.log(Object.keys(metrics).includes("sc")); // true
 * [params, optState] = replace([params, optState, metrics], [p, s]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { type Key, split } from "../lib/random.ts";
import { stopGradient, valueAndGrad, withoutGradient } from "../lib/grad.ts";
import { tidy } from "../lib/memory.ts";
import type { Tree } from "../lib/tree.ts";
import {
  adam,
  applyUpdates,
  chain,
  freezeWhere,
  type GradientTransformation,
  type OptState,
  poly,
  sgd,
} from "../lib/optim/mod.ts";
import {
  applyDeepLab,
  deepLabFeatureChannels,
  type DeepLabParams,
  initDeepLab,
} from "../model/deeplab.ts";
import {
  applyGrouping,
  type GroupingConfig,
  type GroupingParams,
  initGrouping,
} from "../model/grouping.ts";
import {
  applyGroupDiscriminator,
  applyPatchDiscriminator,
  type GroupDiscriminatorConfig,
  type GroupDiscriminatorParams,
  initGroupDiscriminator,
  initPatchDiscriminator,
  type PatchDiscriminatorParams,
} from "../model/discriminator.ts";
import { oneHotLabels, segmentationCrossEntropy } from "../losses/cross_entropy.ts";
import {
  adversarialLoss,
  discriminatorAccuracy,
  groupAdversarialLoss,
} from "../losses/adversarial.ts";
import { groupClassDistributions } from "../losses/group_distribution.ts";
import { semanticConsistency } from "../losses/semantic_consistency.ts";
import { orthogonality } from "../losses/orthogonality.ts";
import { groupBalance, groupUsage } from "../losses/group_balance.ts";
import { classEquivalenceWeights, pseudoLabels } from "../losses/class_equivalence.ts";
import { meanEntropy, selfInformation } from "../losses/entropy.ts";
import { type MethodConfig, type MethodConfigInput, methodParts, resolveConfig } from "./config.ts";

/** One training batch: labelled source images, unlabelled target images. */
export interface Batch {
  /** Source images [N, H, W, 3] (normalised) and class ids [N, H, W] (int32; 255 = ignore). */
  source: { images: Tensor; labels: Tensor };
  /** Target images [N, H, W, 3]. */
  target: { images: Tensor };
}

/** All trainable parameters. */
export type Params = {
  seg: DeepLabParams;
  group?: GroupingParams;
  disc?: PatchDiscriminatorParams | GroupDiscriminatorParams;
};

/** One optimizer state per part. */
export type OptStates = { seg: OptState; group?: OptState; disc?: OptState };

/** Metrics of one step: scalar tensors, and `groupUsage` [K] for CDGA. */
export type Metrics = Record<string, Tensor>;

/** A method's init and step. */
export interface Trainer {
  /** The resolved configuration. */
  readonly config: MethodConfig;
  /** Fresh parameters and optimizer states from a key. */
  init(key: Key): { params: Params; optState: OptStates };
  /** Optimizer states for given parameters (for example, pretrained ones). */
  initOptState(params: Params): OptStates;
  /** One pure training step. */
  step(params: Params, optState: OptStates, batch: Batch): [Params, OptStates, Metrics];
}

const isRunningStat = (path: string) => /(^|\/)(mean|variance)$/.test(path);
const isNormAffine = (path: string) => /(^|\/)bn\d*\/(gamma|beta)$/.test(path);

function optimizers(config: MethodConfig) {
  const o = config.optim;
  const frozen = (path: string) =>
    isRunningStat(path) || (!o.trainNormAffine && isNormAffine(path));
  const useAdam = o.segOptimizer === "adam";
  // Adam's β₂ as for D; SGD as AdaptSegNet's. Weight decay is L2 in both.
  const segRule = (lr: number, lrMultipliers?: Record<string, number>) =>
    useAdam
      ? adam({
        learningRate: poly(lr, o.steps, o.power),
        weightDecay: o.weightDecay,
        lrMultipliers,
      })
      : sgd({
        learningRate: poly(lr, o.steps, o.power),
        momentum: o.momentum,
        weightDecay: o.weightDecay,
        lrMultipliers,
      });
  const seg: GradientTransformation = chain(
    segRule(o.segLr, { head: o.headMultiplier }),
    freezeWhere(frozen),
  );
  const group: GradientTransformation = segRule(o.segLr * o.headMultiplier);
  const disc: GradientTransformation = adam({
    learningRate: poly(o.discLr, o.steps, o.power),
    b1: o.discBetas[0],
    b2: o.discBetas[1],
  });
  return { seg, group, disc };
}

/** Bilinear resize of NHWC maps to [h, w] (PyTorch's align_corners=False). */
function resize(x: Tensor, size: [number, number]): Tensor {
  const [, h, w] = x.shape;
  if (h === size[0] && w === size[1]) return x;
  return tf.image.resizeBilinear(x as tf.Tensor4D, size, false, true);
}

/** Class ids [N, H, W] → nearest-neighbour ids at [h, w]. */
function downsampleLabels(labels: Tensor, size: [number, number]): Tensor {
  const [, h, w] = labels.shape;
  if (h === size[0] && w === size[1]) return labels;
  const asFloat = tf.expandDims(tf.cast(labels, "float32"), -1) as tf.Tensor4D;
  const small = tf.image.resizeNearestNeighbor(asFloat, size, false, true);
  return tf.cast(tf.squeeze(small, [3]), "int32");
}

/**
 * Pools per-pixel weights [K, N, H, W] to D's output grid [K, N, h', w'] and
 * renormalises each group's weights to sum 1 (so the weighted mean of D's
 * losses is a class-balanced mean).
 */
function poolWeights(weights: Tensor, grid: [number, number]): Tensor {
  const [k, n, h, w] = weights.shape;
  const flat = tf.reshape(weights, [k * n, h, w, 1]) as tf.Tensor4D;
  const fh = Math.ceil(h / grid[0]), fw = Math.ceil(w / grid[1]);
  let pooled = tf.avgPool(flat, [fh, fw], [fh, fw], "same");
  if (pooled.shape[1] !== grid[0] || pooled.shape[2] !== grid[1]) {
    pooled = tf.image.resizeBilinear(pooled, grid, false, true);
  }
  const perGroup = tf.reshape(pooled, [k, n * grid[0] * grid[1]]);
  const normalised = tf.div(perGroup, tf.maximum(tf.sum(perGroup, 1, true), 1e-12));
  return tf.reshape(normalised, [k, n, grid[0], grid[1]]);
}

/** Group inputs P^k = A[:,:,:,k] ⊙ P, stacked: [K, N, h, w, C]. */
function groupInputs(assignments: Tensor, probs: Tensor): Tensor {
  const a = tf.expandDims(tf.transpose(assignments, [3, 0, 1, 2]), -1); // [K, N, h, w, 1]
  return tf.mul(a, tf.expandDims(probs, 0));
}

/**
 * Builds a method's trainer from a (partial) configuration.
 *
 * @example
 * ```ts ignore
 * const trainer = makeTrainer({ method: "adaptSegNet", seg: { classes: 19 } });
 * ```
 */
export function makeTrainer(input: MethodConfigInput): Trainer {
  const config = resolveConfig(input);
  const parts = methodParts(config.method);
  const opt = optimizers(config);
  const classes = config.seg.classes;
  const groupingConfig: GroupingConfig = {
    classes,
    featureChannels: deepLabFeatureChannels(config.seg),
    groups: config.groups,
    input: config.grouping.input,
    hidden: config.grouping.hidden,
  };
  const discConfig: GroupDiscriminatorConfig = {
    classes,
    groups: config.groups,
    mode: config.disc.mode,
    width: config.disc.width,
  };
  const kind = config.disc.kind;
  const lambda = config.lambdas;

  const initOptState = (params: Params): OptStates => ({
    seg: opt.seg.init(params.seg),
    ...(params.group ? { group: opt.group.init(params.group) } : {}),
    ...(params.disc ? { disc: opt.disc.init(params.disc) } : {}),
  });

  const init = (k: Key) => {
    const [ks, kc, kd] = split(k, 3);
    const params: Params = { seg: initDeepLab(ks, config.seg) };
    if (parts.group) params.group = initGrouping(kc, groupingConfig);
    if (parts.disc) {
      params.disc = config.method === "cdga"
        ? initGroupDiscriminator(kd, discConfig)
        : initPatchDiscriminator(kd, { inChannels: classes, width: config.disc.width });
    }
    return { params, optState: initOptState(params) };
  };

  /** G and C's objective; D's inputs (detached) ride along as metrics. */
  const generatorLoss = (
    trainable: { seg: DeepLabParams; group?: GroupingParams },
    disc: Params["disc"],
    batch: Batch,
  ) => {
    const { images: xs, labels } = batch.source;
    const [, inH, inW] = xs.shape;
    const source = applyDeepLab(trainable.seg, xs, config.seg);
    const seg = segmentationCrossEntropy(resize(source.logits, [inH, inW]), labels);
    const metrics: Record<string, Tensor> = { seg };
    let loss: Tensor = seg;
    if (config.method === "sourceOnly") return { loss, metrics };

    const target = applyDeepLab(trainable.seg, batch.target.images, config.seg);
    const [, h, w] = target.logits.shape;
    const discSize: [number, number] = config.discResolution === "input" ? [inH, inW] : [h, w];

    if (config.method === "minEnt") {
      const ent = meanEntropy(target.logits);
      metrics.ent = ent;
      return { loss: tf.add(loss, tf.mul(ent, lambda.ent)), metrics };
    }
    if (config.method === "adaptSegNet" || config.method === "advEnt") {
      const view = (logits: Tensor) => {
        const up = resize(logits, discSize);
        return config.method === "advEnt" ? selfInformation(up) : tf.softmax(up);
      };
      const targetView = view(target.logits);
      const adv = adversarialLoss(
        applyPatchDiscriminator(disc as PatchDiscriminatorParams, targetView),
        1,
        { kind },
      );
      metrics.adv = adv;
      metrics.discSource = stopGradient(view(source.logits));
      metrics.discTarget = stopGradient(targetView);
      return { loss: tf.add(loss, tf.mul(adv, lambda.adv)), metrics };
    }

    // CDGA.
    const group = trainable.group!;
    const ps = tf.softmax(source.logits), pt = tf.softmax(target.logits);
    // With "C", the grouping losses reach C only: C's inputs and the target
    // evidence are detached for them (the adversarial term still reaches G through P).
    const onlyC = config.groupingLossesTrain === "C";
    const forC = (t: Tensor) => (onlyC ? stopGradient(t) : t);
    const as = applyGrouping(
      group,
      { probs: forC(ps), feature: forC(source.feature) },
      groupingConfig,
    );
    const at = applyGrouping(
      group,
      { probs: forC(pt), feature: forC(target.feature) },
      groupingConfig,
    );
    const ys = oneHotLabels(downsampleLabels(labels, [h, w]), classes);
    const qs = groupClassDistributions(as, ys), qt = groupClassDistributions(at, forC(pt));
    const sc = semanticConsistency(qs, qt, config.consistency);
    const orth = tf.add(orthogonality(qs), orthogonality(qt));
    const bal = groupBalance([as, at]);
    const up = (x: Tensor) => resize(x, discSize);
    const sourceInputs = groupInputs(up(as), up(ps)); // [K, N, H', W', C]
    const targetInputs = groupInputs(up(at), up(pt));
    const targetLogits = applyGroupDiscriminator(
      disc as GroupDiscriminatorParams,
      targetInputs,
      discConfig,
    );
    let targetWeights: Tensor | undefined, sourceWeights: Tensor | undefined;
    if (config.classEquivalence) {
      const grid = targetLogits.shape.slice(2, 4) as [number, number];
      // Constants: computed from comparisons, and not to be trained through.
      const weightsOf = (a: Tensor, evidence: Tensor) =>
        poolWeights(
          tf.transpose(classEquivalenceWeights(up(a), up(evidence)), [3, 0, 1, 2]),
          grid,
        );
      const threshold = config.pseudoLabelThreshold;
      targetWeights = withoutGradient((a, p) => weightsOf(a, pseudoLabels(p, threshold)), at, pt);
      sourceWeights = withoutGradient(weightsOf, as, ys);
    }
    const adv = groupAdversarialLoss(targetLogits, 1, { kind, weights: targetWeights });
    Object.assign(metrics, {
      adv,
      sc,
      orth,
      bal,
      groupUsage: stopGradient(groupUsage([as, at])),
      discSource: stopGradient(sourceInputs),
      discTarget: stopGradient(targetInputs),
      ...(sourceWeights ? { weightSource: sourceWeights, weightTarget: targetWeights! } : {}),
    });
    loss = tf.addN([
      loss,
      tf.mul(adv, lambda.adv),
      tf.mul(sc, lambda.sc),
      tf.mul(orth, lambda.orth),
      tf.mul(bal, lambda.bal),
    ]);
    return { loss, metrics };
  };

  /** D's objective on detached inputs: source → 1, target → 0. */
  const discriminatorLoss = (disc: NonNullable<Params["disc"]>, inputs: Record<string, Tensor>) => {
    if (config.method === "cdga") {
      const d = disc as GroupDiscriminatorParams;
      const ls = applyGroupDiscriminator(d, inputs.discSource, discConfig);
      const lt = applyGroupDiscriminator(d, inputs.discTarget, discConfig);
      const loss = tf.add(
        groupAdversarialLoss(ls, 1, { kind, weights: inputs.weightSource }),
        groupAdversarialLoss(lt, 0, { kind, weights: inputs.weightTarget }),
      );
      const accuracy = withoutGradient((a, b) => discriminatorAccuracy(a, b, kind), ls, lt);
      return { loss, metrics: { discAccuracy: accuracy } };
    }
    const d = disc as PatchDiscriminatorParams;
    const ls = applyPatchDiscriminator(d, inputs.discSource);
    const lt = applyPatchDiscriminator(d, inputs.discTarget);
    const loss = tf.add(adversarialLoss(ls, 1, { kind }), adversarialLoss(lt, 0, { kind }));
    const accuracy = withoutGradient((a, b) => discriminatorAccuracy(a, b, kind), ls, lt);
    return { loss, metrics: { discAccuracy: accuracy } };
  };

  const genGrad = valueAndGrad(generatorLoss);
  const discGrad = valueAndGrad(discriminatorLoss);
  const CARRIED = ["discSource", "discTarget", "weightSource", "weightTarget"];

  const step = (params: Params, optState: OptStates, batch: Batch): [Params, OptStates, Metrics] =>
    tidy(() => {
      checkBatch(batch);
      const trainable = params.group
        ? { seg: params.seg, group: params.group }
        : { seg: params.seg };
      const gen = genGrad(trainable, params.disc, batch);
      const [segUpdates, segState] = opt.seg.update(gen.grads.seg, optState.seg, params.seg);
      const next: Params = { seg: applyUpdates(params.seg, segUpdates) };
      const nextState: OptStates = { seg: segState };
      if (params.group && optState.group) {
        const [u, s] = opt.group.update(gen.grads.group!, optState.group, params.group);
        next.group = applyUpdates(params.group, u);
        nextState.group = s;
      }
      const metrics: Metrics = { total: gen.value };
      for (const [name, t] of Object.entries(gen.metrics)) {
        if (!CARRIED.includes(name)) metrics[name] = t;
      }
      if (params.disc && optState.disc) {
        const d = discGrad(params.disc, gen.metrics);
        const [u, s] = opt.disc.update(d.grads, optState.disc, params.disc);
        next.disc = applyUpdates(params.disc as Tree, u as Tree) as Params["disc"];
        nextState.disc = s;
        metrics.disc = d.value;
        metrics.discAccuracy = d.metrics.discAccuracy;
      }
      return [next, nextState, metrics];
    });

  return { config, init, initOptState, step };
}

function checkBatch(batch: Batch): void {
  const { images, labels } = batch.source;
  if (images.rank !== 4 || images.shape[3] !== 3) {
    throw new Error(`batch: source images must be [N, H, W, 3], got [${images.shape}]`);
  }
  if (labels.shape.join() !== images.shape.slice(0, 3).join()) {
    throw new Error(
      `batch: source labels [${labels.shape}] do not match the images [${
        images.shape.slice(0, 3)
      }]`,
    );
  }
  if (labels.dtype !== "int32") throw new Error(`batch: labels must be int32, got ${labels.dtype}`);
  const t = batch.target.images;
  if (t.rank !== 4 || t.shape[3] !== 3) {
    throw new Error(`batch: target images must be [N, H, W, 3], got [${t.shape}]`);
  }
}
