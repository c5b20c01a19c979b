/**
 * The options of `deno task train` that configure the methods' shared
 * settings (a section of `option_specs.ts`; a setting of one method only is
 * declared in that method's file, its definition's `options`).
 *
 * @module
 */
import {
  CDGA_GLOBAL_TERMS,
  DISC_RESOLUTIONS,
  GROUP_DISTRIBUTIONS,
  GROUP_SIGNALS,
  GROUPING_LOSSES_TRAIN,
  methodDefaults,
} from "../methods/config.ts";
import { CONSISTENCY_DISTANCES } from "../losses/semantic_consistency.ts";
import { GROUP_DISCRIMINATOR_MODES } from "../model/discriminator.ts";
import type { OptionSpec } from "../lib/option_spec.ts";

const CDGA = methodDefaults("cdga");

/**
 * The settings the methods share (C, D and the loss weights): each
 * option's default is the library's (`methodDefaults`), so that it has one
 * source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_OPTIONS } from "./method_options.ts";
 * assert.equal(METHOD_OPTIONS.groups.default, 8);
 * ```
 */
export const METHOD_OPTIONS = {
  groups: {
    kind: "integer",
    default: CDGA.groups,
    min: 2,
    max: 64,
    help: "K, CDGA's number of groups",
  },
  lambdaAdv: {
    kind: "number",
    default: methodDefaults("adaptSegNet").lambdas.adv,
    min: 0,
    help: "λ_adv, the adversarial term's weight",
  },
  lambdaAdvCdga: {
    kind: "number",
    default: CDGA.lambdas.adv,
    min: 0,
    help:
      "λ_adv of CDGA (the group-level adversarial weight; apart from AdaptSegNet's --lambda-adv)",
  },
  lambdaAdvEnt: {
    kind: "number",
    default: methodDefaults("advEnt").lambdas.advEnt,
    min: 0,
    help: "λ_adv of AdvEnt (ADVENT's adversarial weight; published 0.001)",
  },
  lambdaSc: {
    kind: "number",
    default: CDGA.lambdas.sc,
    min: 0,
    help: "λ_sc, semantic consistency",
  },
  lambdaOrth: { kind: "number", default: CDGA.lambdas.orth, min: 0, help: "λ_orth, orthogonality" },
  lambdaBal: {
    kind: "number",
    default: CDGA.lambdas.bal,
    min: 0,
    help: "λ_bal, group balance (0 disables)",
  },
  lambdaEnt: {
    kind: "number",
    default: methodDefaults("minEnt").lambdas.ent,
    min: 0,
    help: "λ_ent, MinEnt's entropy weight",
  },
  groupingLossesTrain: {
    kind: "string",
    default: CDGA.groupingLossesTrain,
    choices: GROUPING_LOSSES_TRAIN,
    help:
      "what L_sc, L_orth and L_bal train: C alone (they shape the grouping) or G and C (the method note's total read literally)",
  },
  groupDistribution: {
    kind: "string",
    default: CDGA.groupDistribution,
    choices: GROUP_DISTRIBUTIONS,
    help:
      "CDGA's group class distributions: every pixel weighs the same (pixel) or every class present does (class)",
  },
  consistency: {
    kind: "string",
    default: CDGA.consistency,
    choices: CONSISTENCY_DISTANCES,
    help: "L_sc's distance",
  },
  discMode: {
    kind: "string",
    default: CDGA.disc.mode,
    choices: GROUP_DISCRIMINATOR_MODES,
    help: "CDGA's group discriminator variant",
  },
  discWidth: {
    kind: "integer",
    default: CDGA.disc.width,
    min: 1,
    help: "D's base width (AdaptSegNet: 64)",
  },
  discResolution: {
    kind: "string",
    default: methodDefaults("adaptSegNet").discResolution,
    choices: DISC_RESOLUTIONS,
    help:
      "D sees predictions at G's output resolution (cheap) or upsampled to the input's (AdaptSegNet)",
  },
  cdgaDiscResolution: {
    kind: "string",
    default: CDGA.discResolution,
    choices: DISC_RESOLUTIONS,
    help:
      "where CDGA's group discriminator looks: the input resolution (AdaptSegNet's; --disc-mode stacked makes it affordable) or G's output resolution",
  },
  cdgaGlobal: {
    kind: "string",
    default: CDGA.global,
    choices: CDGA_GLOBAL_TERMS,
    help:
      "CDGA [extension]: add a global output-space term to the group-level ones, AdaptSegNet's (D on P) or AdvEnt's (D on the self-information map); its weight and D resolution: --lambda-cdga-global, --cdga-global-disc-resolution",
  },
  lambdaCdgaGlobal: {
    kind: "number",
    default: CDGA.lambdas.global,
    min: 0,
    help: "CDGA [extension]: λ_global, the weight of the global term of --cdga-global",
  },
  cdgaGlobalDiscResolution: {
    kind: "string",
    default: CDGA.globalDiscResolution,
    choices: DISC_RESOLUTIONS,
    help: "CDGA [extension]: where the global term's D looks",
  },
  groupSignal: {
    kind: "string",
    default: CDGA.groupSignal,
    choices: GROUP_SIGNALS,
    help:
      "CDGA: what the group discriminator sees of group k: A_k ⊙ P (probs) or A_k ⊙ (−P log P), the group-level form of ADVENT's self-information (entropy) [extension]",
  },
  pseudoLabelThreshold: {
    kind: "number",
    default: CDGA.pseudoLabelThreshold,
    min: 0,
    max: 0.999,
    help:
      "CDGA: target pixels whose top probability is below this get no class-equivalence weight (0: every pixel counts)",
  },
  adventDiscResolution: {
    kind: "string",
    default: methodDefaults("advEnt").discResolution,
    choices: DISC_RESOLUTIONS,
    help:
      "where AdvEnt's D looks: the input resolution (ADVENT; it keeps AdvEnt stable at its weight) or G's output resolution",
  },
  classEquivalence: {
    kind: "boolean",
    default: CDGA.classEquivalence,
    help: "weight D's losses by class-equivalence weights",
  },
} as const satisfies Record<string, OptionSpec>;
