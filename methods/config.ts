/**
 * The configuration of a training method: the networks, the loss weights and
 * the optimizers, with the library's defaults, the one set of them (the jobs'
 * flags default to these): the short schedule of `docs/method.md` with each
 * method's adversarial settings chosen by the equal-budget sweep
 * (`docs/tuning.md`); CDGA's reconstructed choices are marked in
 * `docs/method.md`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveConfig } from "../mod.ts";
 * const config = resolveConfig({ method: "cdga", seg: { classes: 19 } });
 * assert.deepEqual([config.groups, config.lambdas.sc], [8, 0.03]);
 * ```
 *
 * @module
 */
import type { DeepLabConfig } from "../model/deeplab.ts";
import { RESNET_DEPTHS, RESNET_VARIANTS } from "../model/resnet.ts";
import { NORM_MODES } from "../model/layers.ts";
import { GROUP_DISCRIMINATOR_MODES, type GroupDiscriminatorMode } from "../model/discriminator.ts";
import type { AdversarialKind } from "../losses/adversarial.ts";
import { CONSISTENCY_DISTANCES, type ConsistencyDistance } from "../losses/semantic_consistency.ts";
import { type Method, METHOD_DEFINITIONS } from "./registry.ts";
import { type OptionValue, resolveOptions } from "../lib/option_spec.ts";

/**
 * The training methods: the source-only lower bound, the adaptation methods,
 * and the target oracle (supervised on target labels: the upper bound).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHODS, resolveConfig } from "../mod.ts";
 * const configs = METHODS.map((method) => resolveConfig({ method, seg: { classes: 3 } }));
 * assert.deepEqual(configs.map((c) => c.method), [...METHODS]);
 * ```
 */
export const METHODS: readonly Method[] = Object.keys(METHOD_DEFINITIONS) as Method[];

export type { Method };

/** Loss weights. */
export interface Lambdas {
  /** λ_adv: adversarial term for G (and C): AdaptSegNet and CDGA. */
  adv: number;
  /** λ_adv of AdvEnt (ADVENT's adversarial term on self-information maps). */
  advEnt: number;
  /** λ_sc: semantic consistency. */
  sc: number;
  /** λ_orth: orthogonality. */
  orth: number;
  /** λ_bal: group balance. */
  bal: number;
  /** λ_ent: MinEnt's entropy. */
  ent: number;
  /**
   * λ_global: CDGA's global output-space term (`global`), added to the
   * group-level terms. [extension]
   */
  global: number;
}

/** Optimizer settings (AdaptSegNet's protocol). */
export interface OptimConfig {
  /** G's (and C's) optimizer: SGD with momentum (AdaptSegNet's protocol) or Adam. */
  segOptimizer: typeof SEG_OPTIMIZERS[number];
  /** G's base learning rate. */
  segLr: number;
  /** The factor of G's classifier head (and of C). */
  headMultiplier: number;
  /** SGD momentum. */
  momentum: number;
  /** SGD weight decay. */
  weightDecay: number;
  /** D's learning rate (Adam). */
  discLr: number;
  /** D's Adam β₁, β₂. */
  discBetas: [number, number];
  /** Steps of the poly decay (1 − t/steps)^power. */
  steps: number;
  /** Poly power. */
  power: number;
  /** Train batch-norm γ, β (default false: frozen, as AdaptSegNet). */
  trainNormAffine: boolean;
}

/**
 * How CDGA weighs pixels in the group class distributions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GROUP_DISTRIBUTIONS, methodDefaults } from "../mod.ts";
 * assert.ok(GROUP_DISTRIBUTIONS.includes(methodDefaults("cdga").groupDistribution));
 * ```
 */
export const GROUP_DISTRIBUTIONS = ["pixel", "class"] as const;

/**
 * What CDGA's grouping losses train: C alone, or G and C.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GROUPING_LOSSES_TRAIN, methodDefaults } from "../mod.ts";
 * assert.equal(methodDefaults("cdga").groupingLossesTrain, GROUPING_LOSSES_TRAIN[0]); // "C"
 * ```
 */
export const GROUPING_LOSSES_TRAIN = ["C", "G+C"] as const;

/**
 * Where D looks: at the input resolution, or at G's output resolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DISC_RESOLUTIONS, methodDefaults } from "../mod.ts";
 * assert.deepEqual(DISC_RESOLUTIONS, ["input", "output"]);
 * assert.equal(methodDefaults("adaptSegNet").discResolution, "input");
 * ```
 */
export const DISC_RESOLUTIONS = ["input", "output"] as const;

/**
 * CDGA's global output-space term beside the group-level ones: none (the
 * paper's reading), AdaptSegNet's D on P, or AdvEnt's D on the
 * self-information map. [extension]
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CDGA_GLOBAL_TERMS, resolveConfig } from "../mod.ts";
 * // "none" is the paper's reading: the group-level terms alone.
 * const paper = resolveConfig({ method: "cdga", seg: { classes: 5 }, global: CDGA_GLOBAL_TERMS[0] });
 * assert.equal(paper.global, "none");
 * ```
 */
export const CDGA_GLOBAL_TERMS = ["none", "adaptSegNet", "advEnt"] as const;

/**
 * What CDGA's group discriminator sees of group k: A_k ⊙ P (the softmax, the
 * reconstruction) or A_k ⊙ I with I = −P ⊙ log P, ADVENT's weighted
 * self-information map (group-level entropy alignment, an extension).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GROUP_SIGNALS, methodDefaults } from "../mod.ts";
 * assert.equal(methodDefaults("cdga").groupSignal, GROUP_SIGNALS[0]); // "probs"
 * ```
 */
export const GROUP_SIGNALS = ["probs", "entropy"] as const;

/**
 * G's and C's optimizers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { methodDefaults, SEG_OPTIMIZERS } from "../mod.ts";
 * assert.ok(SEG_OPTIMIZERS.includes(methodDefaults("cdga").optim.segOptimizer));
 * ```
 */
export const SEG_OPTIMIZERS = ["sgd", "adam"] as const;

/** A reading of the group class distributions (see `docs/method.md`). */
export type GroupDistribution = typeof GROUP_DISTRIBUTIONS[number];

/** A resolved method configuration. */
export interface MethodConfig {
  /** Which method. */
  method: Method;
  /** G. */
  seg: DeepLabConfig;
  /** K, CDGA's number of groups. */
  groups: number;
  /** C's input and width. */
  grouping: { input: "probs+feature" | "probs"; hidden: number };
  /** D's width, CDGA's variant, and the adversarial objective. */
  disc: { width: number; mode: GroupDiscriminatorMode; kind: AdversarialKind };
  /** Where D looks: the input resolution (upsampled, as AdaptSegNet) or G's output's. */
  discResolution: typeof DISC_RESOLUTIONS[number];
  /** CDGA: a global output-space term beside the group-level ones (weight `lambdas.global`). */
  global: typeof CDGA_GLOBAL_TERMS[number];
  /** CDGA: where the global term's D looks. */
  globalDiscResolution: typeof DISC_RESOLUTIONS[number];
  /** CDGA: what D sees of each group (P, or the self-information map). */
  groupSignal: typeof GROUP_SIGNALS[number];
  /** Loss weights. */
  lambdas: Lambdas;
  /**
   * CDGA's group class distributions: "pixel" (q_k weighs every pixel, the
   * first reading) or "class" (every class present weighs the same).
   * Reconstructed; see docs/method.md.
   */
  groupDistribution: GroupDistribution;
  /** Momentum of the batch-norm running statistics (PyTorch's 0.1). */
  normMomentum: number;
  /** L_sc's distance. */
  consistency: ConsistencyDistance;
  /** Weight D's losses by class-equivalence weights (CDGA). */
  classEquivalence: boolean;
  /** Target pseudo-labels below this top probability get no weight. */
  pseudoLabelThreshold: number;
  /**
   * What L_sc, L_orth and L_bal train: "C" (default: C's inputs detached for
   * them, so only the grouping learns from them and G is aligned by the
   * group-level adversarial term) or "G+C" (the method note's total, read
   * literally). Reconstructed; see docs/method.md.
   */
  groupingLossesTrain: typeof GROUPING_LOSSES_TRAIN[number];
  /** Optimizers. */
  optim: OptimConfig;
  /**
   * The method's own settings (its definition's `options`), by name, checked
   * and with their defaults filled in; empty for a method that has none.
   */
  options: Readonly<Record<string, OptionValue>>;
}

/** A partial configuration: `method` and `seg.classes` are required. */
export type MethodConfigInput =
  & Partial<Omit<MethodConfig, "lambdas" | "optim" | "grouping" | "disc" | "seg" | "options">>
  & {
    method: Method;
    seg: DeepLabConfig;
    lambdas?: Partial<Lambdas>;
    optim?: Partial<OptimConfig>;
    grouping?: Partial<MethodConfig["grouping"]>;
    disc?: Partial<MethodConfig["disc"]>;
    options?: Readonly<Record<string, unknown>>;
  };

/** AdvEnt's adversarial weight, λ_adv^AdvEnt (chosen by the sweep; `docs/tuning.md`). */
const ADVENT_LAMBDA = 0.01;

/**
 * The library's defaults, the one source of them (the jobs' flags default to
 * these): the short schedule of `docs/method.md` (Adam, a source-only warm-up
 * then a few hundred adaptation steps from scratch on CPUs), with each
 * method's adversarial settings chosen by the equal-budget sweep and the
 * design-space round after it (`docs/tuning.md`): D 64 wide on the input
 * resolution for all, λ_adv^AdvEnt for AdvEnt; a method's definition names
 * what it changes (its `defaults`: AdaptSegNet's λ_adv, CDGA's group D on
 * G's output). AdaptSegNet's published values are the jobs'
 * `--recipe published`.
 */
const DEFAULTS = {
  groups: 8,
  grouping: { input: "probs+feature" as const, hidden: 64 },
  disc: { width: 64, mode: "shared" as const, kind: "bce" as const },
  discResolution: "input" as typeof DISC_RESOLUTIONS[number],
  global: "adaptSegNet" as typeof CDGA_GLOBAL_TERMS[number],
  globalDiscResolution: "input" as typeof DISC_RESOLUTIONS[number],
  groupSignal: "probs" as const,
  lambdas: {
    adv: 0.03,
    advEnt: ADVENT_LAMBDA,
    // CDGA's grouping losses at 0.03 (0.1 until the design-space rounds: +0.33 over three
    // validation seeds, docs/tuning.md); `--recipe design-space` keeps 0.1.
    sc: 0.03,
    orth: 0.03,
    bal: 0.03,
    ent: 0.01,
    global: 0.03,
  },
  groupDistribution: "class" as const,
  normMomentum: 0.1,
  consistency: "l1" as const,
  classEquivalence: true,
  pseudoLabelThreshold: 0,
  groupingLossesTrain: "C" as const,
  optim: {
    segOptimizer: "adam" as typeof SEG_OPTIMIZERS[number],
    segLr: 1e-3,
    headMultiplier: 1,
    momentum: 0.9,
    weightDecay: 5e-4,
    discLr: 1e-3,
    discBetas: [0.9, 0.99] as [number, number],
    steps: 1600,
    power: 0.9,
    trainNormAffine: false,
  },
};

/** What a method's defaults change from the shared ones (its definition's `defaults`). */
export type MethodDefaults = {
  lambdas?: Partial<Lambdas>;
  discResolution?: typeof DISC_RESOLUTIONS[number];
  global?: typeof CDGA_GLOBAL_TERMS[number];
  globalDiscResolution?: typeof DISC_RESOLUTIONS[number];
};

/**
 * A method's default configuration, everything but G's (which the caller
 * gives): what {@linkcode resolveConfig} fills in for `method`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { methodDefaults } from "../mod.ts";
 * assert.deepEqual(methodDefaults("advEnt").discResolution, "input");
 * assert.deepEqual(methodDefaults("cdga").groupDistribution, "class");
 * ```
 */
export function methodDefaults(method: Method): Omit<MethodConfig, "seg" | "method"> {
  const own: MethodDefaults = METHOD_DEFINITIONS[method].defaults ?? {};
  return {
    groups: DEFAULTS.groups,
    grouping: { ...DEFAULTS.grouping },
    disc: { ...DEFAULTS.disc },
    discResolution: own.discResolution ?? DEFAULTS.discResolution,
    global: own.global ?? DEFAULTS.global,
    globalDiscResolution: own.globalDiscResolution ?? DEFAULTS.globalDiscResolution,
    groupSignal: DEFAULTS.groupSignal,
    lambdas: { ...DEFAULTS.lambdas, ...own.lambdas },
    groupDistribution: DEFAULTS.groupDistribution,
    normMomentum: DEFAULTS.normMomentum,
    consistency: DEFAULTS.consistency,
    classEquivalence: DEFAULTS.classEquivalence,
    pseudoLabelThreshold: DEFAULTS.pseudoLabelThreshold,
    groupingLossesTrain: DEFAULTS.groupingLossesTrain,
    optim: { ...DEFAULTS.optim, discBetas: [...DEFAULTS.optim.discBetas] },
    options: resolveOptions(METHOD_DEFINITIONS[method].options ?? {}, {}, `config: ${method}`),
  };
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`config: ${message}`);
}

/** `name` must be one of `choices`: an error naming the field, the choices and the value. */
function checkChoice(name: string, value: string, choices: readonly string[]): void {
  check(choices.includes(value), `${name} must be one of ${choices.join(", ")}, got ${value}`);
}

/** G's configuration: every field that `initDeepLab` would reject later, named now. */
function checkSeg(seg: DeepLabConfig): void {
  check(
    Number.isInteger(seg.classes) && seg.classes >= 2,
    `seg.classes must be an integer ≥ 2, got ${seg.classes}`,
  );
  checkChoice("seg.backbone", seg.backbone ?? "resnet", ["resnet", "mobilenetv2"]);
  if (seg.depth !== undefined) {
    check(
      (RESNET_DEPTHS as readonly number[]).includes(seg.depth),
      `seg.depth must be one of ${RESNET_DEPTHS.join(", ")}, got ${seg.depth}`,
    );
  }
  if (seg.width !== undefined) {
    check(
      Number.isFinite(seg.width) && seg.width > 0,
      `seg.width must be a number > 0, got ${seg.width}`,
    );
  }
  if (seg.variant !== undefined) checkChoice("seg.variant", seg.variant, RESNET_VARIANTS);
  if (seg.norm !== undefined) checkChoice("seg.norm", seg.norm, NORM_MODES);
  if (seg.atrousRates !== undefined) {
    check(
      seg.atrousRates.length > 0 && seg.atrousRates.every((r) => Number.isInteger(r) && r >= 1),
      `seg.atrousRates must be integers ≥ 1, got [${seg.atrousRates}]`,
    );
  }
}

/**
 * Fills in the defaults and validates: an unknown method, a K below 2 or a
 * negative λ is an error that names the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveConfig } from "../mod.ts";
 * const c = resolveConfig({ method: "adaptSegNet", seg: { classes: 11, depth: 18 }, lambdas: { adv: 0.01 } });
 * assert.deepEqual([c.lambdas.adv, c.optim.discLr], [0.01, 0.001]);
 * ```
 */
export function resolveConfig(input: MethodConfigInput): MethodConfig {
  check(
    METHODS.includes(input.method),
    `method must be one of ${METHODS.join(", ")}, got ${JSON.stringify(input.method)}`,
  );
  const d = methodDefaults(input.method);
  const config: MethodConfig = {
    method: input.method,
    seg: { ...input.seg },
    groups: input.groups ?? d.groups,
    grouping: { ...d.grouping, ...input.grouping },
    disc: { ...d.disc, ...input.disc },
    discResolution: input.discResolution ?? d.discResolution,
    global: input.global ?? d.global,
    globalDiscResolution: input.globalDiscResolution ?? d.globalDiscResolution,
    groupSignal: input.groupSignal ?? d.groupSignal,
    lambdas: { ...d.lambdas, ...input.lambdas },
    groupDistribution: input.groupDistribution ?? d.groupDistribution,
    normMomentum: input.normMomentum ?? d.normMomentum,
    consistency: input.consistency ?? d.consistency,
    classEquivalence: input.classEquivalence ?? d.classEquivalence,
    pseudoLabelThreshold: input.pseudoLabelThreshold ?? d.pseudoLabelThreshold,
    groupingLossesTrain: input.groupingLossesTrain ?? d.groupingLossesTrain,
    optim: { ...d.optim, ...input.optim },
    options: resolveOptions(
      METHOD_DEFINITIONS[input.method].options ?? {},
      input.options ?? {},
      `config: ${input.method}`,
    ),
  };
  checkSeg(config.seg);
  check(
    Number.isInteger(config.groups) && config.groups >= 2,
    `groups (K) must be an integer ≥ 2, got ${config.groups}`,
  );
  for (const [name, value] of Object.entries(config.lambdas)) {
    check(Number.isFinite(value) && value >= 0, `lambdas.${name} must be ≥ 0, got ${value}`);
  }
  checkChoice("groupingLossesTrain", config.groupingLossesTrain, GROUPING_LOSSES_TRAIN);
  checkChoice("groupDistribution", config.groupDistribution, GROUP_DISTRIBUTIONS);
  check(
    config.normMomentum > 0 && config.normMomentum <= 1,
    `normMomentum must be in (0, 1], got ${config.normMomentum}`,
  );
  checkChoice("consistency", config.consistency, CONSISTENCY_DISTANCES);
  checkChoice("disc.mode", config.disc.mode, GROUP_DISCRIMINATOR_MODES);
  check(
    ["bce", "ls"].includes(config.disc.kind),
    `disc.kind must be bce or ls, got ${config.disc.kind}`,
  );
  checkChoice("discResolution", config.discResolution, DISC_RESOLUTIONS);
  checkChoice("global", config.global, CDGA_GLOBAL_TERMS);
  checkChoice("globalDiscResolution", config.globalDiscResolution, DISC_RESOLUTIONS);
  checkChoice("groupSignal", config.groupSignal, GROUP_SIGNALS);
  check(
    ["probs+feature", "probs"].includes(config.grouping.input),
    `grouping.input must be probs+feature or probs, got ${config.grouping.input}`,
  );
  check(
    config.pseudoLabelThreshold >= 0 && config.pseudoLabelThreshold < 1,
    `pseudoLabelThreshold must be in [0, 1), got ${config.pseudoLabelThreshold}`,
  );
  for (const name of ["segLr", "headMultiplier", "discLr", "steps", "power"] as const) {
    check(
      Number.isFinite(config.optim[name]) && config.optim[name] > 0,
      `optim.${name} must be > 0, got ${config.optim[name]}`,
    );
  }
  check(
    config.optim.momentum >= 0 && config.optim.momentum < 1,
    `optim.momentum must be in [0, 1)`,
  );
  check(config.optim.weightDecay >= 0, `optim.weightDecay must be ≥ 0`);
  METHOD_DEFINITIONS[config.method].check?.(config);
  return config;
}
