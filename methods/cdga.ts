/**
 * CDGA, Cross-Domain Grouping and Alignment (Kim et al., AAAI 2021), as
 * reconstructed in `docs/method.md`. The grouping network C assigns every
 * pixel of both domains softly to K groups (A = softmax_K C(P, feature));
 * a group-level discriminator D tells, per group, source from target on
 * P^k = A[:,k] ⊙ P.
 *
 *     G and C minimise L_seg + λ_adv L_adv + λ_sc L_sc + λ_orth L_orth + λ_bal L_bal
 *     D minimises      L_D = (1/K) Σ_k [BCE_w(D_k(P_s^k), 1) + BCE_w(D_k(P_t^k), 0)]
 *     L_adv = (1/K) Σ_k BCE_w(D_k(P_t^k), 1)
 *
 * with q_k^d the group class distributions (pixel-weighted,
 * `losses/group_distribution.ts`, or class-balanced,
 * `losses/class_balanced_distribution.ts`: `groupDistribution`), L_sc, L_orth
 * and L_bal on them (`losses/`), and BCE_w the mean over D's output cells
 * weighted by the class-equivalence weights (`losses/class_equivalence.ts`),
 * computed from exact one-hot evidence at the resolution D sees and summed
 * onto D's output cells. With `groupingLossesTrain: "C"` (the default) L_sc,
 * L_orth and L_bal reach C alone.
 *
 * Extensions (each off by default, see `docs/method.md`): `groupSignal:
 * "entropy"` shows D each group's weighted self-information map
 * A_k ⊙ (−P ⊙ log P) instead of A_k ⊙ P; `global: "adaptSegNet" | "advEnt"`
 * adds that method's global output-space term on top of the group-level
 * ones, with a second patch discriminator D_g:
 *
 *     G and C add  λ_global · BCE(D_g(V(P_t)), 1)
 *     D_g minimises BCE(D_g(V(P_s)), 1) + BCE(D_g(V(P_t)), 0)
 *
 * where V is the softmax (AdaptSegNet) or the self-information map (AdvEnt).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cdga } from "./cdga.ts";
 * assert.deepEqual([cdga.reads, cdga.supervision], [{ source: true, target: true, sameSize: true }, "source"]);
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";
import { split } from "../lib/random.ts";
import { discriminatorOptimizer, headOptimizer } from "./optimizers.ts";
import { stopGradient, withoutGradient } from "../lib/grad.ts";
import { deepLabFeatureChannels } from "../model/deeplab.ts";
import { averageToGrid } from "../model/layers.ts";
import {
  APPEARANCE_CHANNELS,
  applyGrouping,
  cellAppearance,
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
import { oneHotLabels } from "../losses/cross_entropy.ts";
import {
  adversarialLoss,
  discriminatorAccuracy,
  groupAdversarialLoss,
} from "../losses/adversarial.ts";
import { selfInformation } from "../losses/entropy.ts";
import { groupClassDistributions } from "../losses/group_distribution.ts";
import {
  classBalancedDistributions,
  groupMembership,
} from "../losses/class_balanced_distribution.ts";
import { semanticConsistency } from "../losses/semantic_consistency.ts";
import { orthogonality } from "../losses/orthogonality.ts";
import { gramOrthogonality } from "../losses/gram_orthogonality.ts";
import { sinkhornOrthogonality } from "../losses/sinkhorn_orthogonality.ts";
import { groupBalance, groupUsage, usageBalance } from "../losses/group_balance.ts";
import { classEquivalenceWeights, pseudoLabels } from "../losses/class_equivalence.ts";
import type { MethodConfig } from "./config.ts";
import {
  type DiscriminatorInputs,
  discSize,
  downsampleLabels,
  type GeneratorContext,
  type GeneratorTerms,
  type MethodDefinition,
  ownOptions,
  resize,
} from "./method.ts";

/**
 * CDGA's own settings (`deno task train` flags, `--config` keys,
 * `config.options` in the library).
 */
const CDGA_OPTIONS = {
  groupSkipClasses: {
    kind: "string",
    default: "none",
    help:
      "CDGA [extension]: class ids, comma-separated, whose pixels (source labels, target predictions) the group-level D never sees and that carry no class-equivalence weight, so their alignment is left to the global term (e.g. 0, the embedded benchmarks' background); none: every class",
  },
  orthogonality: {
    kind: "string",
    default: "cosine",
    choices: ["cosine", "gram", "sinkhorn"],
    help:
      "CDGA: the form of L_orth: cosine (the reconstruction: mean cosine of the groups' class distributions; two groups holding one class are a local minimum of it), gram [extension] (mean squared dot product: separates such duplicates at first order) or sinkhorn [extension] (cross-entropy to SwAV-style balanced assignments of the classes to the groups)",
  },
  groupAppearance: {
    kind: "boolean",
    default: false,
    help:
      "CDGA [extension]: C also reads each output cell's appearance (the mean and standard deviation of the input's colour over the cell), where the domains differ, so that groups can follow how the target shifts and not only what the source classes look like",
  },
  groupRampSteps: {
    kind: "integer",
    default: 0,
    min: 0,
    help:
      "CDGA [extension]: the group-level adversarial term's weight rises linearly to λ_adv^CDGA over the grouping network's first N updates of the phase (λ·min(1, (t+1)/N)), so that G feels it only once the groups have formed; the grouping losses, D and the global term run at full weight throughout; 0: full weight from the first step",
  },
} as const;

/**
 * The group-level adversarial term's ramp at a step: min(1, (t + 1)/N) for
 * the grouping network's update count t and N = `groupRampSteps` (1 where N
 * is 0). A scalar tensor, never differentiated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../lib/tf.ts";
 * import { groupRamp } from "./cdga.ts";
 * assert.equal(groupRamp(tf.scalar(49), 200).dataSync()[0], 0.25);
 * assert.equal(groupRamp(tf.scalar(500), 200).dataSync()[0], 1);
 * assert.equal(groupRamp(undefined, 0).dataSync()[0], 1);
 * assert.throws(() => groupRamp(undefined, 200), /groupRampSteps needs/);
 * ```
 */
export function groupRamp(count: Scalar | undefined, steps: number): Scalar {
  if (steps === 0) return tf.scalar(1);
  if (count === undefined) {
    throw new Error(
      "cdga: groupRampSteps needs the grouping network's update count, and its optimizer keeps none",
    );
  }
  return tf.minimum(tf.div(tf.add(count, 1), steps), 1) as Scalar;
}

/**
 * The class ids of `groupSkipClasses`, checked against the class count: an
 * error names the option and the bad entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { skippedClasses } from "./cdga.ts";
 * assert.deepEqual(skippedClasses("0, 3", 11), [0, 3]);
 * assert.deepEqual(skippedClasses("none", 11), []);
 * assert.throws(() => skippedClasses("11", 11), /groupSkipClasses: "11" is not a class id/);
 * ```
 */
export function skippedClasses(text: string, classes: number): number[] {
  const trimmed = text.trim();
  if (trimmed === "none" || trimmed === "") return [];
  const ids = trimmed.split(",").map((part) => {
    const entry = part.trim();
    const id = /^\d+$/.test(entry) ? Number(entry) : NaN;
    if (!(id >= 0 && id < classes)) {
      throw new Error(
        `config: cdga's option groupSkipClasses: ${JSON.stringify(entry)} is not a class id (0 … ${
          classes - 1
        }) in ${JSON.stringify(text)}`,
      );
    }
    return id;
  });
  if (new Set(ids).size !== ids.length) {
    throw new Error(
      `config: cdga's option groupSkipClasses repeats a class in ${JSON.stringify(text)}`,
    );
  }
  if (ids.length === classes) {
    throw new Error(
      `config: cdga's option groupSkipClasses skips every class (${JSON.stringify(text)})`,
    );
  }
  return ids;
}

/** The mask [C] that keeps the classes `config` does not skip (undefined: all kept). */
function keptClassMask(config: MethodConfig): Tensor | undefined {
  const classes = config.seg.classes;
  const skipped = skippedClasses(ownOptions(config, CDGA_OPTIONS).groupSkipClasses, classes);
  if (!skipped.length) return undefined;
  return tf.tensor1d(Array.from({ length: classes }, (_, c) => (skipped.includes(c) ? 0 : 1)));
}

/**
 * C's configuration from the method's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveConfig } from "./config.ts";
 * import { groupingConfig } from "./cdga.ts";
 * const c = groupingConfig(resolveConfig({ method: "cdga", seg: { classes: 11, depth: 18, width: 0.25 } }));
 * assert.deepEqual([c.groups, c.featureChannels], [8, 128]);
 * ```
 */
export function groupingConfig(config: MethodConfig): GroupingConfig {
  return {
    classes: config.seg.classes,
    featureChannels: deepLabFeatureChannels(config.seg),
    groups: config.groups,
    input: config.grouping.input,
    hidden: config.grouping.hidden,
    appearanceChannels: ownOptions(config, CDGA_OPTIONS).groupAppearance ? APPEARANCE_CHANNELS : 0,
  };
}

/**
 * L_orth of one domain in the form `orthogonality` names, from its q [K, C]
 * and, for the sinkhorn form alone, its membership m [K, C].
 */
function orthogonalityOf(form: string, q: Tensor, membership: () => Tensor): Tensor {
  if (form === "gram") return gramOrthogonality(q);
  if (form === "sinkhorn") return sinkhornOrthogonality(membership());
  return orthogonality(q);
}

/**
 * D's configuration from the method's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveConfig } from "./config.ts";
 * import { groupDiscriminatorConfig } from "./cdga.ts";
 * const d = groupDiscriminatorConfig(resolveConfig({ method: "cdga", seg: { classes: 11 }, groups: 4 }));
 * assert.deepEqual([d.groups, d.mode], [4, "shared"]);
 * ```
 */
export function groupDiscriminatorConfig(config: MethodConfig): GroupDiscriminatorConfig {
  return {
    classes: config.seg.classes,
    groups: config.groups,
    mode: config.disc.mode,
    width: config.disc.width,
  };
}

/**
 * Group inputs P^k = A[:,:,:,k] ⊙ P: [K, N, h, w, C], or for the stacked
 * discriminator [N, h, w, K·C], built by rank-3 products so that neither the
 * product nor its gradient needs a rank-5 transpose (slow on wasm).
 */
function groupInputs(assignments: Tensor, probs: Tensor, stacked: boolean): Tensor {
  if (stacked) {
    const [n, h, w, k] = assignments.shape;
    const c = probs.shape[3]!;
    const a = tf.reshape(assignments, [n * h * w, k, 1]);
    const p = tf.reshape(probs, [n * h * w, 1, c]);
    return tf.reshape(tf.mul(a, p), [n, h, w, k * c]);
  }
  const a = tf.expandDims(tf.transpose(assignments, [3, 0, 1, 2]), -1); // [K, N, h, w, 1]
  return tf.mul(a, tf.expandDims(probs, 0));
}

/**
 * Per-pixel weights [K, N, H, W] summed onto D's output grid [K, N, h', w']
 * and renormalised to sum 1 per group, so that the weighted mean of D's
 * losses is the class-balanced mean. Where the grid divides the map, each
 * cell sums its pixels exactly (class totals are kept); otherwise it averages
 * ("same" windows) and then resizes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../lib/tf.ts";
 * import { poolWeights } from "./cdga.ts";
 * const w = poolWeights(tf.ones([2, 1, 4, 4]), [2, 2]);
 * assert.deepEqual([w.shape, w.sum().dataSync()[0]], [[2, 1, 2, 2], 2]);
 * ```
 */
export function poolWeights(weights: Tensor, grid: [number, number]): Tensor {
  const [k, n, h, w] = weights.shape;
  let pooled: Tensor;
  if (h % grid[0] === 0 && w % grid[1] === 0) {
    const fh = h / grid[0], fw = w / grid[1];
    pooled = tf.sum(tf.reshape(weights, [k * n, grid[0], fh, grid[1], fw]), [2, 4]);
  } else {
    pooled = averageToGrid(tf.reshape(weights, [k * n, h, w, 1]), grid);
  }
  const perGroup = tf.reshape(pooled, [k, n * grid[0] * grid[1]]);
  const normalised = tf.div(perGroup, tf.maximum(tf.sum(perGroup, 1, true), 1e-12));
  return tf.reshape(normalised, [k, n, grid[0], grid[1]]);
}

/**
 * Class-equivalence weights of D's output cells [K, N, h', w'] from
 * assignments A [N, h, w, K] (upsampled to D's input size) and exact one-hot
 * class evidence [N, H', W', C] at D's input size.
 *
 * @example
 * ```ts ignore
 * const w = cellWeights(assignments, oneHotLabels(labelsAtDiscSize, C), [2, 2]);
 * ```
 */
export function cellWeights(assignments: Tensor, evidence: Tensor, grid: [number, number]): Tensor {
  const [, h, w] = evidence.shape;
  const a = resize(assignments, [h, w]);
  const perPixel = tf.transpose(classEquivalenceWeights(a, evidence), [3, 0, 1, 2]);
  return poolWeights(perPixel, grid);
}

/**
 * CDGA's discriminators: the group-level D, and D_g where a global term is on.
 */
export type CdgaDiscParams = GroupDiscriminatorParams & { global?: PatchDiscriminatorParams };

/** CDGA's parts beside G: the grouping network C (trained with G) and its discriminators. */
export type CdgaParts = { group: GroupingParams; disc: CdgaDiscParams };

/** The view of the logits that the global term's D_g sees. */
function globalView(config: MethodConfig): (logits: Tensor) => Tensor {
  return config.global === "advEnt" ? selfInformation : (logits) => tf.softmax(logits);
}

/**
 * The group class distributions q_k^s (from source labels) and q_k^t (from
 * the target predictions P_t), the balance term and the source membership,
 * in the reading `config.groupDistribution` names.
 */
function groupDistributions(
  config: MethodConfig,
  as: Tensor,
  at: Tensor,
  ys: Tensor,
  pt: Tensor,
): { qs: Tensor; qt: Tensor; bal: Tensor; membership: Tensor; targetMembership: () => Tensor } {
  if (config.groupDistribution === "class") {
    const s = classBalancedDistributions(as, ys), t = classBalancedDistributions(at, pt);
    const bal = usageBalance(tf.div(tf.add(s.usage, t.usage), 2));
    return {
      qs: s.q,
      qt: t.q,
      bal,
      membership: s.membership,
      targetMembership: () => t.membership,
    };
  }
  return {
    qs: groupClassDistributions(as, ys),
    qt: groupClassDistributions(at, pt),
    bal: groupBalance([as, at]),
    membership: groupMembership(as, ys),
    // Only the sinkhorn form reads it: not computed on every step otherwise.
    targetMembership: () => groupMembership(at, pt),
  };
}

/**
 * Hides the pixels of skipped classes (source labels, target predictions at
 * D's input size) from the group-level D: each domain's signal times a
 * detached [N, h, w, 1] mask of kept pixels; the identity where none is skipped.
 */
function hiddenPixels(
  config: MethodConfig,
  labels: Tensor,
  pt: Tensor,
  size: [number, number],
): { source: (signal: Tensor) => Tensor; target: (signal: Tensor) => Tensor } {
  const mask = keptClassMask(config);
  if (!mask) return { source: (x) => x, target: (x) => x };
  const keptPixels = (evidence: Tensor) => tf.sum(tf.mul(evidence, mask), -1, true);
  const classes = config.seg.classes;
  const sourceKept = withoutGradient(
    (l) => keptPixels(oneHotLabels(downsampleLabels(l, size), classes)),
    labels,
  );
  const targetKept = withoutGradient((p) => keptPixels(pseudoLabels(resize(p, size))), pt);
  return {
    source: (signal) => tf.mul(signal, sourceKept),
    target: (signal) => tf.mul(signal, targetKept),
  };
}

/**
 * The class-equivalence weights of D's output cells for both domains, from
 * the target's pseudo-labels and the source labels at D's input size:
 * constants, computed from comparisons and not trained through.
 */
function classEquivalenceCells(
  config: MethodConfig,
  inputs: { as: Tensor; at: Tensor; pt: Tensor; labels: Tensor },
  size: [number, number],
  targetLogits: Tensor,
): { targetWeights: Tensor; sourceWeights: Tensor } {
  const grid = targetLogits.shape.slice(2, 4) as [number, number];
  const threshold = config.pseudoLabelThreshold, classes = config.seg.classes;
  const up = (x: Tensor) => resize(x, size);
  // A skipped class's pixels carry no evidence, so they weigh nothing in any group.
  const mask = keptClassMask(config);
  const kept = (evidence: Tensor) => (mask ? tf.mul(evidence, mask) : evidence);
  const targetWeights = withoutGradient(
    (a, p) => cellWeights(a, kept(pseudoLabels(up(p), threshold)), grid),
    inputs.at,
    inputs.pt,
  );
  const sourceWeights = withoutGradient(
    (a, l) => cellWeights(a, kept(oneHotLabels(downsampleLabels(l, size), classes)), grid),
    inputs.as,
    inputs.labels,
  );
  return { targetWeights, sourceWeights };
}

/**
 * The global output-space term beside the group-level ones [extension]:
 * L_global on the target's view for G, and both views, detached, for D_g;
 * undefined where the configuration has none.
 */
function globalTerm(
  context: GeneratorContext<CdgaParts>,
  inputSize: [number, number],
): { adv: Tensor; source: Tensor; target: Tensor } | undefined {
  const { config } = context;
  const globalD = context.params.disc.global;
  if (config.global === "none" || !globalD) return undefined;
  const source = context.source!, target = context.target!;
  const [, h, w] = target.logits.shape;
  const size = discSize(config.globalDiscResolution, inputSize, [h, w]);
  const view = globalView(config);
  const globalTarget = view(resize(target.logits, size));
  const adv = adversarialLoss(applyPatchDiscriminator(globalD, globalTarget), 1, {
    kind: config.disc.kind,
  });
  return {
    adv,
    source: stopGradient(view(resize(source.logits, size))),
    target: stopGradient(globalTarget),
  };
}

/**
 * CDGA. Its group D looks at G's output resolution, and AdaptSegNet's
 * global term (λ_global 0.03, D_g on the input resolution) sits beside the
 * group-level terms: its best variant of the design space over three seeds
 * ([extension]; `global: "none"` is the paper's reading; `docs/tuning.md`).
 */
export const cdga: MethodDefinition<CdgaParts> = {
  label: "CDGA",
  plotted: ["adv", "sc", "orth", "bal", "globalAdv"],
  defaults: { discResolution: "output" },
  variants: {
    pixel: { label: "pixel-weighted groups", overrides: { groupDistribution: "pixel" } },
    class: { label: "class-balanced groups", overrides: { groupDistribution: "class" } },
    GC: { label: "grouping losses train G and C", overrides: { groupingLossesTrain: "G+C" } },
  },
  options: CDGA_OPTIONS,
  reads: { source: true, target: true, sameSize: true },
  supervision: "source",
  parts: {
    group: { objective: "generator", optimizer: headOptimizer },
    disc: { objective: "discriminator", optimizer: discriminatorOptimizer },
  },
  check(config) {
    const skipped = skippedClasses(
      ownOptions(config, CDGA_OPTIONS).groupSkipClasses,
      config.seg.classes,
    );
    if (skipped.length && !config.classEquivalence) {
      throw new Error(
        "config: cdga's option groupSkipClasses acts through the class-equivalence weights; it needs classEquivalence on",
      );
    }
  },
  initParts(k, config) {
    const withGlobal = config.global !== "none";
    const [kc, kd, kg] = split(k, withGlobal ? 3 : 2);
    const disc: CdgaDiscParams = initGroupDiscriminator(kd, groupDiscriminatorConfig(config));
    if (withGlobal) {
      disc.global = initPatchDiscriminator(kg, {
        inChannels: config.seg.classes,
        width: config.disc.width,
      });
    }
    return { group: initGrouping(kc, groupingConfig(config)), disc };
  },
  generator(context: GeneratorContext<CdgaParts>): GeneratorTerms {
    const { config, batch } = context;
    const source = context.source!, target = context.target!;
    const group = context.params.group;
    const classes = config.seg.classes;
    const grouping = groupingConfig(config);
    const labels = batch.source.labels;
    const [, inH, inW] = batch.source.images.shape;
    const [, h, w] = target.logits.shape;
    const size = discSize(config.discResolution, [inH, inW], [h, w]);
    const ps = tf.softmax(source.logits), pt = tf.softmax(target.logits);
    // With "C", the grouping losses reach C only: C's inputs and the target
    // evidence are detached for them (the adversarial term still reaches G through P).
    const onlyC = config.groupingLossesTrain === "C";
    const forC = (t: Tensor) => (onlyC ? stopGradient(t) : t);
    const seesAppearance = (grouping.appearanceChannels ?? 0) > 0;
    const appearance = (images: Tensor) =>
      seesAppearance ? stopGradient(cellAppearance(images, [h, w])) : undefined;
    const as = applyGrouping(group, {
      probs: forC(ps),
      feature: forC(source.feature),
      appearance: appearance(batch.source.images),
    }, grouping);
    const at = applyGrouping(group, {
      probs: forC(pt),
      feature: forC(target.feature),
      appearance: appearance(batch.target!.images),
    }, grouping);
    const ys = oneHotLabels(downsampleLabels(labels, [h, w]), classes);
    const { qs, qt, bal, membership, targetMembership } = groupDistributions(
      config,
      as,
      at,
      ys,
      forC(pt),
    );
    const sc = semanticConsistency(qs, qt, config.consistency);
    const own = ownOptions(config, CDGA_OPTIONS);
    const orth = tf.add(
      orthogonalityOf(own.orthogonality, qs, () => membership),
      orthogonalityOf(own.orthogonality, qt, targetMembership),
    );
    const up = (x: Tensor) => resize(x, size);
    // What D sees of each group: A_k ⊙ P, or A_k ⊙ I with I the self-information map.
    const signal = config.groupSignal === "entropy"
      ? (logits: Tensor) => selfInformation(up(logits))
      : (logits: Tensor) => up(tf.softmax(logits));
    const stacked = config.disc.mode === "stacked";
    const hidden = hiddenPixels(config, labels, pt, size);
    const sourceInputs = groupInputs(up(as), hidden.source(signal(source.logits)), stacked);
    const targetInputs = groupInputs(up(at), hidden.target(signal(target.logits)), stacked);
    const discConfig = groupDiscriminatorConfig(config);
    const targetLogits = applyGroupDiscriminator(
      context.params.disc,
      targetInputs,
      discConfig,
    );
    const { targetWeights, sourceWeights } = config.classEquivalence
      ? classEquivalenceCells(config, { as, at, pt, labels }, size, targetLogits)
      : { targetWeights: undefined, sourceWeights: undefined };
    // G (and C) want D to take every target group for the source (label 1).
    const adv = groupAdversarialLoss(targetLogits, 1, {
      kind: config.disc.kind,
      weights: targetWeights,
    });
    const lambda = config.lambdas;
    const disc: DiscriminatorInputs = {
      source: stopGradient(sourceInputs),
      target: stopGradient(targetInputs),
      ...(sourceWeights ? { sourceWeights, targetWeights } : {}),
    };
    const rampSteps = own.groupRampSteps;
    const advWeight = rampSteps === 0
      ? lambda.adv
      : tf.mul(groupRamp(context.updateCounts.group, rampSteps), lambda.adv);
    const terms = [
      tf.mul(adv, advWeight),
      tf.mul(sc, lambda.sc),
      tf.mul(orth, lambda.orth),
      tf.mul(bal, lambda.bal),
    ];
    const metrics: Record<string, Tensor> = {
      adv,
      sc,
      orth,
      bal,
      groupUsage: stopGradient(groupUsage([as, at])),
      groupClasses: stopGradient(membership),
    };
    const global = globalTerm(context, [inH, inW]);
    if (global) {
      terms.push(tf.mul(global.adv, lambda.global));
      metrics.globalAdv = global.adv;
      disc.globalSource = global.source;
      disc.globalTarget = global.target;
    }
    return { loss: tf.addN(terms), metrics, disc };
  },
  discriminator(config: MethodConfig, { disc }: CdgaParts, inputs: DiscriminatorInputs) {
    const kind = config.disc.kind;
    const discConfig = groupDiscriminatorConfig(config);
    const ls = applyGroupDiscriminator(disc, inputs.source, discConfig);
    const lt = applyGroupDiscriminator(disc, inputs.target, discConfig);
    let loss = tf.add(
      groupAdversarialLoss(ls, 1, { kind, weights: inputs.sourceWeights }),
      groupAdversarialLoss(lt, 0, { kind, weights: inputs.targetWeights }),
    );
    const accuracy = withoutGradient((a, b) => discriminatorAccuracy(a, b, kind), ls, lt);
    const globalD = disc.global;
    if (globalD && inputs.globalSource && inputs.globalTarget) {
      const gs = applyPatchDiscriminator(globalD, inputs.globalSource);
      const gt = applyPatchDiscriminator(globalD, inputs.globalTarget);
      loss = tf.add(
        loss,
        tf.add(adversarialLoss(gs, 1, { kind }), adversarialLoss(gt, 0, { kind })),
      );
    }
    return { loss, metrics: { discAccuracy: accuracy } };
  },
};
