/**
 * The pure training step of every method:
 *
 *     step(params, optState, batch) => [params, optState, metrics]
 *
 * with params `{ seg, ...parts }`: G and the parts the method adds (CDGA's
 * C, `group`, and D, `disc`), and one optimizer state per part under the
 * same names (one optimiser per part, Optax's multi_transform:
 * `partition`). Inside one call, G and the parts its objective trains (C)
 * update on that objective with D's parts frozen, then D's parts update on
 * the detached inputs of that same forward pass (as AdaptSegNet's reference
 * code does). Which objective trains a part, and with which optimiser, is
 * the method's (its definition's `parts`). Inputs are never
 * mutated or disposed; every tensor made inside is freed except those
 * returned.
 *
 * G runs once per step over the images the method reads (source and target
 * together when they share a size, so that batch statistics, and the running
 * statistics tracked from them, cover what the method trains on); L_seg is
 * computed on the supervised domain's labels; the method adds its terms
 * (`methods/<method>.ts`, one file each: `sourceOnly`, `adaptSegNet`,
 * `minEnt` and `advEnt`, `cdga`, and the target `oracle`). The equations are
 * in `docs/method.md` and in each loss file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeTrainer, random, replace, tf } from "../mod.ts";
 * const trainer = makeTrainer({
 *   method: "cdga",
 *   seg: { depth: 18, width: 0.125, classes: 3 },
 *   groups: 2,
 *   disc: { width: 4 },
 * });
 * let { params, optState } = trainer.init(random.key(0));
 * const batch = {
 *   source: { images: tf.zeros([1, 32, 32, 3]), labels: tf.zeros([1, 32, 32], "int32") },
 *   target: { images: tf.zeros([1, 32, 32, 3]) },
 * };
 * const [p, s, metrics] = trainer.step(params, optState, batch);
 * assert.deepEqual(Object.keys(metrics).includes("sc"), true);
 * [params, optState] = replace([params, optState, metrics], [p, s]);
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";
import type { Key } from "../lib/random.ts";
import { split } from "../lib/random.ts";
import { valueAndGrad } from "../lib/grad.ts";
import { tidy } from "../lib/memory.ts";
import { finiteProbe, type Tree } from "../lib/tree.ts";
import { applyUpdates, type OptState, partition, partUpdateCounts } from "../lib/optim/mod.ts";
import { applyDeepLab, type DeepLabParams, initDeepLab } from "../model/deeplab.ts";
import {
  type BatchStatistics,
  type RunningStatistics,
  runningStatistics,
  withRunningStatistics,
} from "../model/layers.ts";
import { IGNORE_LABEL, segmentationCrossEntropy } from "../losses/cross_entropy.ts";
import { type Method, type MethodConfig, type MethodConfigInput, resolveConfig } from "./config.ts";
import type {
  Batch,
  DiscriminatorInputs,
  GeneratorContext,
  MethodDefinition,
  Params,
  Parts,
  Predictions,
} from "./method.ts";
import { resize } from "./method.ts";
import { METHOD_DEFINITIONS } from "./registry.ts";
import { segOptimizer } from "./optimizers.ts";

export type { Batch, Params } from "./method.ts";

/** One optimizer state per part: G's (`seg`) and each of the method's parts', by name. */
export type OptStates = { seg: OptState; readonly [part: string]: OptState | undefined };

/**
 * Metrics of one step: scalar tensors; `groupUsage` [K] and `groupClasses`
 * [K, C] for CDGA; `stateCheck`, 0 where every updated parameter and
 * optimizer state is finite and NaN where one is not.
 */
export type Metrics = Record<string, Tensor>;

/** What every method's step reports, as numbers. */
export interface BaseMetrics {
  /** The generator's whole objective. */
  total: number;
  /** L_seg, the cross-entropy on the supervised domain. */
  seg: number;
  /** 0 where every updated parameter and optimizer state is finite, NaN where one is not. */
  stateCheck: number;
}

/** What a method with a discriminator adds. */
export interface AdversarialMetrics {
  /** L_adv, G's adversarial term (unweighted). */
  adv: number;
  /** L_D, the discriminator's loss (2 ln 2 ≈ 1.386 at chance). */
  disc: number;
  /** D's accuracy on the batch (0.5 at chance). */
  discAccuracy: number;
}

/** What CDGA adds. */
export interface GroupingMetrics {
  /** L_sc, semantic consistency. */
  sc: number;
  /** L_orth, orthogonality. */
  orth: number;
  /** L_bal, group balance. */
  bal: number;
  /** Each group's share of the pixels of both domains, [K]. */
  groupUsage: number[];
  /** Each group's share of each source class's pixels, [K][C]. */
  groupClasses: number[][];
  /** The global term's L_adv, with `global` on. */
  globalAdv?: number;
}

/**
 * A step's metrics as numbers, by method: every method has {@linkcode
 * BaseMetrics}; AdaptSegNet, AdvEnt and CDGA add {@linkcode
 * AdversarialMetrics}; MinEnt adds `ent` (its normalised entropy); CDGA adds
 * {@linkcode GroupingMetrics}.
 */
export type MetricsOf<M extends Method> = M extends "adaptSegNet" | "advEnt"
  ? BaseMetrics & AdversarialMetrics
  : M extends "cdga" ? BaseMetrics & AdversarialMetrics & GroupingMetrics
  : M extends "minEnt" ? BaseMetrics & { ent: number }
  : BaseMetrics;

/** A method's init and step. */
export interface Trainer<M extends Method = Method> {
  /** The resolved configuration. */
  readonly config: MethodConfig;
  /** Fresh parameters and optimizer states from a key. */
  init(key: Key): { params: Params; optState: OptStates };
  /** Optimizer states for given parameters (for example, pretrained ones). */
  initOptState(params: Params): OptStates;
  /** One pure training step. */
  step(params: Params, optState: OptStates, batch: Batch): [Params, OptStates, Metrics];
  /**
   * A step's metrics as this method's named numbers (read asynchronously, so
   * every backend works). Read them before `replace` releases the tensors.
   */
  read(metrics: Metrics): Promise<MetricsOf<M>>;
}

/** What the generator's objective returns beside the loss. */
type GeneratorAux = {
  scalars: Record<string, Tensor>;
  disc: DiscriminatorInputs | Record<string, never>;
  running: RunningStatistics;
};

/** G on the images the method reads: one pass when the domains share a size. */
function forward(
  config: MethodConfig,
  definition: MethodDefinition,
  seg: DeepLabParams,
  batch: Batch,
  record: BatchStatistics,
): { source?: Predictions; target?: Predictions } {
  const run = (images: Tensor): Predictions =>
    applyDeepLab(seg, images, config.seg, { training: true, record });
  const xs = batch.source.images, xt = batch.target.images;
  const { reads } = definition;
  if (reads.source && reads.target && xs.shape.slice(1).join() === xt.shape.slice(1).join()) {
    const n = xs.shape[0];
    const both = run(tf.concat([xs, xt], 0));
    const part = (t: Tensor, from: number, count: number) => {
      const begin = t.shape.map((_, i) => (i === 0 ? from : 0));
      const size = t.shape.map((d, i) => (i === 0 ? count : d));
      return tf.slice(t, begin, size);
    };
    const m = xt.shape[0];
    return {
      source: { logits: part(both.logits, 0, n), feature: part(both.feature, 0, n) },
      target: { logits: part(both.logits, n, m), feature: part(both.feature, n, m) },
    };
  }
  return {
    source: reads.source ? run(xs) : undefined,
    target: reads.target ? run(xt) : undefined,
  };
}

/**
 * The objective of G and the parts trained with it: L_seg plus the method's
 * terms, the other parts held constant; D's inputs and G's running
 * statistics ride along.
 */
function generatorTerms(
  config: MethodConfig,
  definition: MethodDefinition,
  trainable: { seg: DeepLabParams } & Parts,
  held: Parts,
  batch: Batch,
  updateCounts: Readonly<Record<string, Scalar>>,
) {
  const record: BatchStatistics = new Map();
  const { source, target } = forward(config, definition, trainable.seg, batch, record);
  const supervised = definition.supervision === "source"
    ? { predictions: source!, labels: batch.source.labels }
    : { predictions: target!, labels: batch.target.labels! };
  const [, height, width] = supervised.labels.shape;
  const seg = segmentationCrossEntropy(
    resize(supervised.predictions.logits, [height, width]),
    supervised.labels,
  );
  const params = { ...held, ...trainable };
  const context: GeneratorContext = { config, params, batch, source, target, updateCounts };
  const terms = definition.generator(context);
  const aux: GeneratorAux = {
    scalars: { seg, ...terms.metrics },
    disc: terms.disc ?? {},
    running: runningStatistics(trainable.seg, record, config.normMomentum),
  };
  return { loss: terms.loss ? tf.add(seg, terms.loss) : seg, metrics: aux };
}

/**
 * Builds a method's trainer from a (partial) configuration: the library's
 * defaults (`methodDefaults`) fill in the rest. A bad configuration is
 * refused here, naming the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeTrainer, random, replace, tf, tree } from "../mod.ts";
 * const trainer = makeTrainer({ method: "adaptSegNet", seg: { depth: 18, width: 0.125, classes: 3 }, disc: { width: 4 } });
 * let { params, optState } = trainer.init(random.key(0));
 * const batch = {
 *   source: { images: tf.zeros([1, 32, 32, 3]), labels: tf.zeros([1, 32, 32], "int32") },
 *   target: { images: tf.ones([1, 32, 32, 3]) },
 * };
 * const [p, s, metrics] = trainer.step(params, optState, batch);
 * const m = await trainer.read(metrics); // { total, seg, adv, disc, discAccuracy, stateCheck }
 * assert.ok(m.seg > 0 && m.disc > 0);
 * [params, optState] = replace([params, optState, metrics], [p, s]);
 * tree.dispose([params, optState, batch]);
 * assert.throws(() => makeTrainer({ method: "cdga", seg: { classes: 3 }, groups: 1 }), /groups \(K\) must be/);
 * ```
 */
export function makeTrainer<M extends Method>(
  input: MethodConfigInput & { method: M },
): Trainer<M> {
  const config = resolveConfig(input);
  const definition = METHOD_DEFINITIONS[config.method];
  const { names, generatorParts, discriminatorParts, generatorOpt, discriminatorOpt } =
    partOptimizers(config, definition);

  const initOptState = (params: Params): OptStates => {
    const generatorState = generatorOpt.init(trainableOf(params, generatorParts));
    const discriminatorState = discriminatorOpt.init(partsOf(params, discriminatorParts));
    return { seg: generatorState.seg, ...generatorState, ...discriminatorState };
  };

  const init = (k: Key) => {
    const [ks, kp] = split(k, 2);
    const parts = definition.initParts(kp, config);
    const made = Object.keys(parts);
    if (made.length !== names.length || made.some((name) => !names.includes(name))) {
      throw new Error(
        `${config.method}: initParts made the parts ${made.join(", ") || "none"}, ` +
          `its definition's parts are ${names.join(", ") || "none"}`,
      );
    }
    const params: Params = { seg: initDeepLab(ks, config.seg), ...parts };
    return { params, optState: initOptState(params) };
  };

  const genGrad = valueAndGrad(
    (
      trainable: { seg: DeepLabParams } & Parts,
      held: Parts,
      batch: Batch,
      updateCounts: Readonly<Record<string, Scalar>>,
    ) => generatorTerms(config, definition, trainable, held, batch, updateCounts),
  );
  const discGrad = valueAndGrad(
    (trained: Parts, held: Parts, inputs: DiscriminatorInputs) =>
      definition.discriminator!(config, { ...held, ...trained }, inputs),
  );

  // Label values are read back once, at the first step: a check on every step would stall the
  // device; the jobs' data loaders check every file's labels themselves. WebGPU cannot read
  // back synchronously in Deno, so there the check is left to the data (and the loss).
  let checkedLabels = false;
  const step = (params: Params, optState: OptStates, batch: Batch): [Params, OptStates, Metrics] =>
    tidy(() => {
      checkBatch(batch, definition, config.seg.classes, checkedLabels);
      checkedLabels = true;
      const trainable = trainableOf(params, generatorParts);
      const held = partsOf(params, discriminatorParts);
      const gen = genGrad(trainable, held, batch, partUpdateCounts(optState));
      const aux = gen.metrics;
      const [updates, generatorState] = generatorOpt.update(
        gen.grads,
        partsOf(optState, ["seg", ...generatorParts]),
        trainable,
      );
      const moved = applyUpdates(trainable, updates);
      let next: Params = { ...moved, seg: withRunningStatistics(moved.seg, aux.running) };
      let nextState: OptStates = { seg: generatorState.seg, ...generatorState };
      const metrics: Metrics = { total: gen.value, ...aux.scalars };
      if (discriminatorParts.length > 0 && definition.discriminator) {
        const others = partsOf(params, generatorParts);
        const d = discGrad(held, others, aux.disc as DiscriminatorInputs);
        const [u, s] = discriminatorOpt.update(
          d.grads,
          partsOf(optState, discriminatorParts),
          held,
        );
        next = { ...next, ...applyUpdates(held, u) };
        nextState = { ...nextState, ...s };
        metrics.disc = d.value;
        metrics.discAccuracy = d.metrics.discAccuracy;
      }
      // 0, or NaN where an updated parameter or optimizer state is not finite.
      metrics.stateCheck = finiteProbe([next, nextState]);
      return [next, nextState, metrics];
    });

  const read = async (metrics: Metrics) => (await readMetrics(metrics)) as unknown as MetricsOf<M>;
  return { config, init, initOptState, step, read };
}

/**
 * The method's parts by the objective that trains them, and one optimiser
 * per part (Optax's multi_transform): G's and its parts' on G's objective,
 * D's parts' on D's.
 */
function partOptimizers(config: MethodConfig, definition: MethodDefinition) {
  const partTraining = definition.parts ?? {};
  const names = Object.keys(partTraining);
  const trainedBy = (objective: "generator" | "discriminator") =>
    names.filter((name) => partTraining[name].objective === objective);
  const generatorParts = trainedBy("generator"), discriminatorParts = trainedBy("discriminator");
  const optimizerOf = (name: string) => partTraining[name].optimizer(config);
  const generatorOpt = partition({
    seg: segOptimizer(config),
    ...Object.fromEntries(generatorParts.map((name) => [name, optimizerOf(name)])),
  });
  const discriminatorOpt = partition(
    Object.fromEntries(discriminatorParts.map((name) => [name, optimizerOf(name)])),
  );
  return { names, generatorParts, discriminatorParts, generatorOpt, discriminatorOpt };
}

/** The named parts of a record, each required (a part the method declared but did not make is named). */
function partsOf<T extends Tree>(
  record: { readonly [name: string]: T | undefined },
  names: readonly string[],
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const name of names) {
    const part = record[name];
    if (part === undefined) throw new Error(`step: part "${name}" is missing`);
    out[name] = part;
  }
  return out;
}

/** G and the parts trained with it. */
function trainableOf(params: Params, names: readonly string[]): { seg: DeepLabParams } & Parts {
  return { ...partsOf(params, names), seg: params.seg };
}

/**
 * A step's metrics as numbers (a scalar as a number, a vector or matrix as
 * its flat values), read asynchronously so that every backend works. Read
 * them before `replace` releases the tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMetrics, tf } from "../mod.ts";
 * const metrics = { seg: tf.scalar(0.5), groupUsage: tf.tensor1d([0.25, 0.75]) };
 * assert.deepEqual(await readMetrics(metrics), { seg: 0.5, groupUsage: [0.25, 0.75] });
 * tf.dispose(Object.values(metrics));
 * ```
 */
export async function readMetrics(
  metrics: Readonly<Record<string, Tensor>>,
): Promise<Record<string, number | number[] | number[][]>> {
  const out: Record<string, number | number[] | number[][]> = {};
  for (const [name, tensor] of Object.entries(metrics)) {
    out[name] = tensor.rank === 0 ? (await tensor.data())[0] : await tensor.array() as number[];
  }
  return out;
}

/**
 * Why a step must not be kept, if so: a non-finite metric (named, with its
 * value) or, through `stateCheck`, non-finite updated parameters or optimizer
 * state. `values` is {@linkcode readMetrics}' output for the step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepProblem } from "../mod.ts";
 * assert.equal(stepProblem({ seg: 0.5, stateCheck: 0 }), undefined);
 * assert.equal(stepProblem({ seg: NaN, stateCheck: 0 }), "loss 'seg' is NaN");
 * assert.equal(stepProblem({ groupUsage: [0.5, Infinity] }), "loss 'groupUsage' is 0.5,Infinity");
 * ```
 */
export function stepProblem(
  values: Readonly<Record<string, number | number[] | number[][]>>,
): string | undefined {
  const bad = Object.entries(values).find(([name, v]) =>
    name !== "stateCheck" && [v].flat(2).some((x) => !Number.isFinite(x))
  );
  if (bad) return `loss '${bad[0]}' is ${bad[1]}`;
  const stateCheck = values.stateCheck;
  if (stateCheck !== undefined && !Number.isFinite(stateCheck as number)) {
    return "the updated parameters or optimizer state hold non-finite values";
  }
  return undefined;
}

/** The smallest and largest label other than the ignore id (a synchronous read: once per trainer). */
function labelRange(labels: Tensor): [number, number] {
  return tf.tidy(() => {
    const kept = tf.where(tf.equal(labels, IGNORE_LABEL), tf.zerosLike(labels), labels);
    const [min, max] = tf.stack([tf.min(kept), tf.max(kept)]).dataSync();
    return [min, max];
  });
}

function checkBatch(
  batch: Batch,
  definition: MethodDefinition,
  classes: number,
  labelsChecked: boolean,
): void {
  const isTensor = (t: unknown): t is Tensor => t instanceof tf.Tensor;
  for (const domain of ["source", "target"] as const) {
    if (batch?.[domain] === undefined || !isTensor(batch[domain].images)) {
      throw new Error(
        `batch: ${domain}.images is missing (a batch is { source: { images, labels }, target: { images } })`,
      );
    }
  }
  if (!isTensor(batch.source.labels)) {
    throw new Error("batch: source.labels is missing (int32 [N, H, W], class ids)");
  }
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
  if (definition.reads.sameSize && t.shape.slice(1, 3).join() !== images.shape.slice(1, 3).join()) {
    throw new Error(
      `batch: this method needs source and target images of one size; source [${
        images.shape.slice(1, 3)
      }], target [${t.shape.slice(1, 3)}] (crop or resize one of them)`,
    );
  }
  const targetLabels = definition.supervision === "target";
  if (targetLabels) {
    const tl = batch.target.labels;
    if (!tl) throw new Error("batch: the oracle trains on target labels, and the batch has none");
    if (tl.shape.join() !== t.shape.slice(0, 3).join() || tl.dtype !== "int32") {
      throw new Error(
        `batch: target labels must be int32 [${
          t.shape.slice(0, 3)
        }], got ${tl.dtype} [${tl.shape}]`,
      );
    }
  }
  if (!labelsChecked && tf.getBackend() !== "webgpu") {
    const supervised = targetLabels ? batch.target.labels! : labels;
    const [smallest, largest] = labelRange(supervised);
    if (smallest < 0 || largest >= classes) {
      throw new Error(
        `batch: ${targetLabels ? "target" : "source"} labels must be class ids 0–${
          classes - 1
        } or ${IGNORE_LABEL} (ignored); found ${smallest < 0 ? smallest : largest}`,
      );
    }
  }
}
