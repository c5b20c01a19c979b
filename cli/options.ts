/**
 * The training job's options: one schema gives the command-line flags, the
 * keys of `--config file.json`, their validation and `--help`. An unknown key
 * or a value of the wrong type is an error that names it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions } from "./options.ts";
 * const options = await parseOptions(["--steps", "100", "--method", "adaptSegNet"]);
 * assert.deepEqual([options.steps, options.method], [100, "adaptSegNet"]);
 * ```
 *
 * @module
 */
import { commandHelp, type FlagSpec } from "./command.ts";
import { parseCommandArgs } from "./arguments.ts";
import {
  CDGA_GLOBAL_TERMS,
  DISC_RESOLUTIONS,
  GROUP_DISTRIBUTIONS,
  GROUP_SIGNALS,
  GROUPING_LOSSES_TRAIN,
  methodDefaults,
  METHODS,
  SEG_OPTIMIZERS,
} from "../methods/config.ts";
import { CONSISTENCY_DISTANCES } from "../losses/semantic_consistency.ts";
import { GROUP_DISCRIMINATOR_MODES } from "../model/discriminator.ts";
import { NORM_MODES } from "../model/layers.ts";
import { BACKEND_CHOICES } from "../lib/backend.ts";
import { FOLDER_LAYOUT } from "../data/folder.ts";
import { DATASETS } from "../data/registry.ts";
import { MAX_IMAGE_PIXELS } from "../data/image_io.ts";
import { RESNET_VARIANTS } from "../model/resnet.ts";

type Kind = "string" | "number" | "integer" | "boolean";

interface OptionSpec {
  kind: Kind;
  default: string | number | boolean | undefined;
  help: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Not settable from --config (a run-control flag). */
  flagOnly?: boolean;
}

/** The recipes' names (`--recipe`). */
export const RECIPE_NAMES = ["short", "equal-budget", "pre-sweep", "published", "v1"] as const;

/**
 * Named recipes: values that replace the defaults of the options they name
 * (a flag or config key given explicitly still wins). The defaults are the
 * library's (`methods/config.ts`, `methodDefaults`): the short schedule with
 * each method's adversarial settings chosen by the equal-budget sweep and
 * the design-space round after it; that is `short`. `equal-budget` is the
 * short recipe as the equal-budget sweep left it (AdaptSegNet's λ_adv 0.03,
 * CDGA's global term at λ_global 0.01 on G's output). `pre-sweep` is the short recipe as it stood
 * before the sweep (the values the sweep's grids were written against). `published` is
 * AdaptSegNet's protocol (SGD 2.5e-4 with the head ×10, λ_adv 0.001, D's
 * Adam at 1e-4, D 64 wide on the input resolution), tuned for 250,000 steps
 * from ImageNet weights. `v1` is this project's defaults before the
 * adaptation work (300 + 400 steps, Adam 3e-4, λ_adv 0.001, D at 1e-4,
 * pixel-weighted CDGA groups). Typed: a key that is not an option, or a
 * value of the wrong type, does not compile.
 */
export const RECIPES = {
  short: {},
  "equal-budget": {
    lambdaAdv: 0.03,
    lambdaCdgaGlobal: 0.01,
    cdgaGlobalDiscResolution: "output",
  },
  "pre-sweep": {
    segOptimizer: "adam",
    segLr: 1e-3,
    headMultiplier: 1,
    lambdaAdv: 0.01,
    lambdaAdvCdga: 0.01,
    lambdaAdvEnt: 0.03,
    lambdaEnt: 0.01,
    lambdaCdgaGlobal: 0.01,
    discLr: 1e-3,
    discWidth: 16,
    discResolution: "output",
    cdgaDiscResolution: "output",
    adventDiscResolution: "input",
    cdgaGlobal: "none",
    cdgaGlobalDiscResolution: "output",
    groupDistribution: "class",
  },
  published: {
    segOptimizer: "sgd",
    segLr: 2.5e-4,
    headMultiplier: 10,
    lambdaAdv: 0.001,
    lambdaAdvCdga: 0.001,
    lambdaAdvEnt: 0.001,
    lambdaEnt: 0.001,
    lambdaCdgaGlobal: 0.001,
    discLr: 1e-4,
    discWidth: 64,
    discResolution: "input",
    cdgaDiscResolution: "input",
    adventDiscResolution: "input",
    cdgaGlobal: "none",
    cdgaGlobalDiscResolution: "input",
  },
  v1: {
    warmupSteps: 300,
    steps: 400,
    segOptimizer: "adam",
    segLr: 3e-4,
    headMultiplier: 1,
    lambdaAdv: 0.001,
    lambdaAdvCdga: 0.001,
    lambdaAdvEnt: 0.001,
    lambdaEnt: 0.001,
    lambdaCdgaGlobal: 0.001,
    discLr: 1e-4,
    adventDiscResolution: "output",
    discWidth: 16,
    discResolution: "output",
    cdgaDiscResolution: "output",
    cdgaGlobal: "none",
    cdgaGlobalDiscResolution: "output",
    groupDistribution: "pixel",
  },
} as const satisfies Record<typeof RECIPE_NAMES[number], Partial<Options>>;

const CDGA = methodDefaults("cdga");

/** Every option, with its default and help. */
export const OPTIONS = {
  recipe: {
    kind: "string",
    default: "short",
    choices: RECIPE_NAMES,
    help:
      "a named set of defaults: short (the library's, tuned for short runs on CPUs), equal-budget (the short recipe as the equal-budget sweep left it, before the design-space rounds), pre-sweep (the short recipe before the equal-budget sweep), published (AdaptSegNet's protocol), v1 (this project's earlier defaults); explicit flags win",
  },
  dataset: {
    kind: "string",
    default: "digits",
    choices: Object.keys(DATASETS),
    help: `source→target data: ${
      Object.entries(DATASETS).map(([name, d]) => `${name} (${d.description})`).join("; ")
    }`,
  },
  dataRoot: {
    kind: "string",
    default: undefined,
    help:
      "folder data: a data-set root holding source/ and target/ with named splits (layout below)",
  },
  sourceRoot: {
    kind: "string",
    default: undefined,
    help:
      "root folder of the source data set (GTA5, SYNTHIA, or a folder: one split, or train/ and val/)",
  },
  targetRoot: {
    kind: "string",
    default: undefined,
    help:
      "root folder of the target data set (Cityscapes, or a folder: one split, or train/, val/ and eval/)",
  },
  targetEvalRoot: {
    kind: "string",
    default: undefined,
    help: "folder data: the labelled target split the final tables score (images/, labels/)",
  },
  holdout: {
    kind: "number",
    default: 0.1,
    min: 0.01,
    max: 0.5,
    help:
      "folder data: the share of labelled training images held out (and never trained on) where a domain has no held-out split",
  },
  splitSeed: {
    kind: "integer",
    default: 0,
    min: 0,
    help:
      "folder data: the seed of held-out shares and scored subsets (apart from --seed, so that every seed is scored on the same images)",
  },
  method: {
    kind: "string",
    default: "cdga",
    choices: METHODS,
    help: "the adaptation method trained after the warm-up",
  },
  baseline: {
    kind: "string",
    default: "sourceOnly",
    choices: ["sourceOnly", "none"],
    help:
      "also continue source-only training from the warm-up for as many steps, for the comparison row",
  },
  also: {
    kind: "string",
    default: "auto",
    help:
      "more methods to train from the same warm-up for as many steps, comma-separated (for comparisons); auto: beside CDGA, the strongest baseline (AdaptSegNet, after equal tuning), else none",
  },
  oracle: {
    kind: "boolean",
    default: true,
    help:
      "also train the target oracle (G on labelled target images, from the warm-up, for as many steps): the upper bound; skipped where the target has no labels",
  },
  backbone: {
    kind: "string",
    default: "resnet",
    choices: ["resnet", "mobilenetv2"],
    help: "G's backbone",
  },
  depth: { kind: "integer", default: 18, choices: ["18", "34", "50", "101"], help: "ResNet depth" },
  resnetVariant: {
    kind: "string",
    default: "default",
    choices: RESNET_VARIANTS,
    help:
      "where converted weights land: default (this project's), torchvision (torchvision's ResNet weights), caffe (DeepLab-V2's Caffe weights, as AdaptSegNet and ADVENT start from; BGR mean-subtracted input)",
  },
  asppRates: {
    kind: "string",
    default: "6,12,18,24",
    help:
      "G's ASPP branches (dilation rates, summed): 6,12,18,24 as ADVENT; 6,12 is what AdaptSegNet's published network sums (its loop returns after the second branch)",
  },
  width: {
    kind: "number",
    default: 0.25,
    min: 0.01,
    max: 4,
    help: "ResNet channel multiplier (1 = published widths)",
  },
  norm: {
    kind: "string",
    default: "batch",
    choices: NORM_MODES,
    help: "batch norm: batch statistics (from scratch) or frozen running statistics (pretrained)",
  },
  pretrained: {
    kind: "boolean",
    default: false,
    help: "MobileNetV2 only: start from the ImageNet weights in npm:nsfwjs",
  },
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
  warmupSteps: {
    kind: "integer",
    default: 1000,
    min: 0,
    help: "source-only steps before the adaptation",
  },
  steps: {
    kind: "integer",
    default: 600,
    min: 1,
    help: "steps of the method (and of the baseline) after the warm-up",
  },
  batch: { kind: "integer", default: 8, min: 1, help: "images per domain per step" },
  maxImagePixels: {
    kind: "integer",
    default: MAX_IMAGE_PIXELS,
    min: 1,
    help:
      "folder data: the most pixels an image file may declare; a larger one is refused from its header, before it is decoded",
  },
  crop: {
    kind: "integer",
    default: 0,
    min: 0,
    help: "random square crop for real data sets (0: the digits' canvas)",
  },
  flip: {
    kind: "string",
    default: "auto",
    choices: ["auto", "on", "off"],
    help:
      "random horizontal flips of training images: auto is on for GTA5/SYNTHIA→Cityscapes, off for the digits and folders (measured: flips hurt glyph data; pass --flip on for street scenes)",
  },
  glyphs: {
    kind: "string",
    default: "digits",
    choices: ["digits", "letters"],
    help:
      "digits benchmark: MNIST's digits, or the letters A–J rendered from fonts (other glyphs; test fonts unseen in training)",
  },
  canvas: { kind: "integer", default: 64, min: 32, help: "digits benchmark canvas side" },
  digitScaleMin: {
    kind: "number",
    default: 2.0,
    min: 0.1,
    help: "digits benchmark: smallest digit scale (× 28 px)",
  },
  digitScaleMax: {
    kind: "number",
    default: 2.3,
    min: 0.1,
    help: "digits benchmark: largest digit scale (28 × it must fit the canvas)",
  },
  digitsMin: {
    kind: "integer",
    default: 1,
    min: 1,
    help: "digits benchmark: fewest digits per scene",
  },
  digitsMax: {
    kind: "integer",
    default: 2,
    min: 1,
    help: "digits benchmark: most digits per scene",
  },
  segOptimizer: {
    kind: "string",
    default: CDGA.optim.segOptimizer,
    choices: SEG_OPTIMIZERS,
    help:
      "G's and C's optimizer: SGD with momentum 0.9 (AdaptSegNet, for pretrained backbones) or Adam (from scratch)",
  },
  segLr: {
    kind: "number",
    default: CDGA.optim.segLr,
    min: 0,
    help: "G's learning rate (C: × the head multiplier)",
  },
  headMultiplier: {
    kind: "number",
    default: CDGA.optim.headMultiplier,
    min: 0,
    help: "learning-rate factor of G's ASPP head and of C (DeepLab with a pretrained backbone: 10)",
  },
  discLr: { kind: "number", default: CDGA.optim.discLr, min: 0, help: "D's Adam learning rate" },
  backend: { kind: "string", default: "auto", choices: BACKEND_CHOICES, help: "tfjs backend" },
  threads: {
    kind: "integer",
    default: 0,
    min: 0,
    max: 8,
    help:
      "wasm backend: threads of our kernels, or of XNNPACK's with --tfjs-kernels (0: the machine's logical cores, at most 8)",
  },
  tfjsKernels: {
    kind: "boolean",
    default: false,
    help:
      "wasm backend: tfjs's own kernels (XNNPACK's convolutions on its thread pool) instead of ours (fused multiply-add convolutions, vectorised elementwise kernels)",
  },
  seed: { kind: "integer", default: 0, min: 0, help: "the random seed of everything" },
  out: { kind: "string", default: "runs", help: "folder under which the run folder is made" },
  name: {
    kind: "string",
    default: undefined,
    help: "run folder name (default: the method, dataset and seed)",
  },
  evalEvery: {
    kind: "integer",
    default: 100,
    min: 0,
    help: "evaluate on held-out target scenes every N steps (0: only at the end)",
  },
  evalSamples: {
    kind: "integer",
    default: 48,
    min: 1,
    help: "held-out samples per intermediate evaluation",
  },
  testSamples: {
    kind: "integer",
    default: undefined,
    min: 1,
    help:
      "held-out samples scored in the final evaluation (default: 300 generated scenes for digits, every image of a split of files; fewer: a seeded subset)",
  },
  evaluateOn: {
    kind: "string",
    default: "test",
    choices: ["test", "val"],
    help:
      "digits: the final tables on the test split (test digits on photographs training never saw) or on the validation split (held-out training digits; for choosing settings)",
  },
  checkpointEvery: {
    kind: "integer",
    default: 50,
    min: 1,
    help: "write the checkpoint every N steps",
  },
  resume: {
    kind: "boolean",
    default: false,
    flagOnly: true,
    help: "continue the run in --out/--name from its checkpoints",
  },
  acceptChanges: {
    kind: "boolean",
    default: false,
    flagOnly: true,
    help:
      "with --resume: continue although options that change the result differ from the run's (each is logged)",
  },
  warmupFrom: {
    kind: "string",
    default: undefined,
    help:
      "start every phase from this finished warm-up checkpoint (another run's checkpoints/warmup.ckpt, made with the same data, model, seed and schedule: checked) instead of training a warm-up",
  },
  initFrom: {
    kind: "string",
    default: undefined,
    help: "load G's weights only from a checkpoint or a .safetensors file",
  },
  config: {
    kind: "string",
    default: undefined,
    flagOnly: true,
    help: "read options from a JSON file (flags given too win)",
  },
  help: { kind: "boolean", default: false, flagOnly: true, help: "this text" },
} as const satisfies Record<string, OptionSpec>;

type Specs = typeof OPTIONS;
// A string option with choices takes the union of its choices (the tuples beside the
// types they name: METHODS, RESNET_VARIANTS, …), so no caller casts.
type ValueOf<S extends OptionSpec> = S["kind"] extends "boolean" ? boolean
  : S["kind"] extends "string" ? (S extends { choices: readonly (infer C)[] } ? C : string)
  : number;

/** The resolved options. */
export type Options = {
  -readonly [K in keyof Specs]:
    | ValueOf<Specs[K]>
    | (Specs[K]["default"] extends undefined ? undefined : never);
};

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function check(
  name: string,
  spec: OptionSpec,
  value: unknown,
  where: string,
  typed = false,
): string | number | boolean {
  const fail = (why: string): never => {
    throw new Error(`${where}: ${name} ${why}`);
  };
  let v = value;
  // Flags are text and are read as their option's type; JSON values must have it already.
  if (typed && spec.kind !== "string" && typeof v === "string") {
    fail(
      `must be ${spec.kind === "boolean" ? "true or false" : "a number"} (not in quotes), got ${
        JSON.stringify(value)
      }`,
    );
  }
  if (spec.kind === "boolean") {
    if (typeof v === "string") v = v === "true" ? true : v === "false" ? false : v;
    if (typeof v !== "boolean") fail(`must be true or false, got ${JSON.stringify(value)}`);
    return v as boolean;
  }
  if (spec.kind === "number" || spec.kind === "integer") {
    if (typeof v === "string" && v.trim() !== "") v = Number(v);
    if (typeof v !== "number" || !Number.isFinite(v)) {
      fail(`must be a number, got ${JSON.stringify(value)}`);
    }
    if (spec.kind === "integer" && !Number.isInteger(v)) {
      fail(`must be an integer, got ${JSON.stringify(value)}`);
    }
    if (spec.min !== undefined && (v as number) < spec.min) fail(`must be ≥ ${spec.min}, got ${v}`);
    if (spec.max !== undefined && (v as number) > spec.max) fail(`must be ≤ ${spec.max}, got ${v}`);
    if (spec.choices && !spec.choices.includes(String(v))) {
      fail(`must be one of ${spec.choices.join(", ")}, got ${v}`);
    }
    return v as number;
  }
  if (typeof v !== "string") fail(`must be a string, got ${JSON.stringify(value)}`);
  if (spec.choices && !spec.choices.includes(v as string)) {
    fail(`must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v as string;
}

/**
 * The help text: every flag with its default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpText } from "./options.ts";
 * assert.deepEqual(helpText("deno task train").includes("--steps"), true);
 * ```
 */
export function helpText(usage: string): string {
  const flags: Record<string, FlagSpec> = {};
  for (const [name, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    const on = spec.kind === "boolean" && spec.default === true;
    flags[kebab(name)] = {
      kind: spec.kind,
      value: spec.kind === "boolean" ? undefined : spec.kind === "string" ? "S" : "N",
      help: on ? `${spec.help} (on by default; --no-${kebab(name)} turns it off)` : spec.help,
      default: spec.kind === "boolean" ? undefined : spec.default,
      choices: spec.choices,
    };
  }
  return commandHelp({
    usage: `${usage} [flags]`,
    flags,
    notes: `Folder data sets (--dataset folder):\n\n${FOLDER_LAYOUT}`,
  });
}

/** The options given as flags (camelCase names), values as written. */
function readFlags(args: string[], specs: Record<string, OptionSpec>): Record<string, unknown> {
  const parseSpec: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    parseSpec[kebab(name)] = { type: spec.kind === "boolean" ? "boolean" : "string" };
    if (spec.kind === "boolean") parseSpec[`no-${kebab(name)}`] = { type: "boolean" };
  }
  // `--steps -5`: a value that starts with "-" goes with its flag, for our own checks to judge it.
  let parsed;
  try {
    parsed = parseCommandArgs(args, parseSpec);
  } catch (error) {
    throw new Error(`flags: ${(error as Error).message}`);
  }
  const fromFlags: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = parsed.values[kebab(name)];
    if (value !== undefined) fromFlags[name] = value;
    if (spec.kind === "boolean" && parsed.values[`no-${kebab(name)}`]) fromFlags[name] = false;
  }
  return fromFlags;
}

/** The options of a `--config` JSON file, each checked against its spec. */
async function readConfigFile(
  configPath: string,
  specs: Record<string, OptionSpec>,
): Promise<Record<string, unknown>> {
  const fromFile: Record<string, unknown> = {};
  let text: string, json: unknown;
  try {
    text = await Deno.readTextFile(configPath);
  } catch (error) {
    throw new Error(`${configPath}: cannot read the config (${(error as Error).message})`);
  }
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${configPath}: the config is not valid JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${configPath}: the config must be a JSON object`);
  }
  for (const [key, value] of Object.entries(json)) {
    const spec = specs[key];
    if (!spec || spec.flagOnly) {
      const camel = key.replace(/^-+/, "").replace(
        /-([a-z])/g,
        (_, c: string) => c.toUpperCase(),
      );
      const hint = spec?.flagOnly
        ? " (a command-line flag only)"
        : specs[camel] && !specs[camel].flagOnly
        ? ` (did you mean ${JSON.stringify(camel)}? config keys are written in camelCase)`
        : "";
      throw new Error(`${configPath}: unknown key ${JSON.stringify(key)}${hint}`);
    }
    fromFile[key] = check(key, spec, value, configPath, true);
  }
  return fromFile;
}

/** The checks that involve more than one option, or a value's form beyond its type. */
function checkTogether(options: Record<string, unknown>): void {
  const name = options.name;
  if (typeof name === "string" && name !== "" && !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) {
    throw new Error(
      `--name must be a folder name (letters, digits, . _ + -, no path), got ${
        JSON.stringify(options.name)
      }`,
    );
  }
  if (options.acceptChanges && !options.resume) {
    throw new Error(
      "--accept-changes only goes with --resume (it lets a resumed run change options)",
    );
  }
  const rates = String(options.asppRates).split(",").map((r) => Number(r.trim()));
  if (rates.length === 0 || !rates.every((r) => Number.isInteger(r) && r >= 1)) {
    throw new Error(
      `--aspp-rates must be positive integers separated by commas, got ${
        JSON.stringify(options.asppRates)
      }`,
    );
  }
}

/**
 * Parses flags (and `--config` JSON, which flags override) into validated
 * options.
 *
 * @example
 * ```ts
 * import { parseOptions } from "./options.ts";
 * try { await parseOptions(["--steps", "-3"]); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export async function parseOptions(args: string[]): Promise<Options> {
  const specs = OPTIONS as Record<string, OptionSpec>;
  const fromFlags = readFlags(args, specs);
  const configPath = fromFlags.config as string | undefined;
  const fromFile = configPath ? await readConfigFile(configPath, specs) : {};
  const options: Record<string, unknown> = {};
  const recipeName = check(
    "recipe",
    specs.recipe,
    fromFlags.recipe ?? fromFile.recipe ?? specs.recipe.default,
    fromFlags.recipe !== undefined ? "--recipe" : "config",
  ) as keyof typeof RECIPES;
  const recipe: Record<string, unknown> = RECIPES[recipeName];
  for (const [name, spec] of Object.entries(specs)) {
    const raw = fromFlags[name] ?? fromFile[name] ?? recipe[name] ?? spec.default;
    options[name] = raw === undefined
      ? undefined
      : check(name, spec, raw, fromFlags[name] !== undefined ? `--${kebab(name)}` : "config");
  }
  checkTogether(options);
  return options as Options;
}

/**
 * The version of the options as `config.json` and checkpoints store them.
 * 2: CDGA's adversarial weight and D resolution became options of their own
 * (`lambdaAdvCdga`, `cdgaDiscResolution`; version 1 runs used `lambdaAdv` and
 * `discResolution`), and `cdgaGlobal`, `groupSignal`, `pseudoLabelThreshold`
 * were added. 3: CDGA's global term got its own weight and D resolution
 * (`lambdaCdgaGlobal`, `cdgaGlobalDiscResolution`; version 2 runs used their
 * baseline's), and every option's default became the library's.
 */
export const OPTIONS_VERSION = 3;

/**
 * Stored options brought to the present version: a version 1 run's CDGA
 * read AdaptSegNet's weight and D resolution, and had none of the later
 * extensions; a version 2 run's global term read its baseline's weight and
 * D resolution; those are filled in as the run had them. Other keys pass
 * through untouched (they are validated where they are read).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upgradeStoredOptions } from "./options.ts";
 * const v3 = upgradeStoredOptions({ lambdaAdv: 0.01, discResolution: "output" });
 * assert.deepEqual([v3.optionsVersion, v3.lambdaAdvCdga, v3.cdgaDiscResolution], [3, 0.01, "output"]);
 * const global = upgradeStoredOptions({ optionsVersion: 2, cdgaGlobal: "advEnt", lambdaAdvEnt: 0.03, adventDiscResolution: "input" });
 * assert.deepEqual([global.lambdaCdgaGlobal, global.cdgaGlobalDiscResolution], [0.03, "input"]);
 * ```
 */
export function upgradeStoredOptions(stored: Record<string, unknown>): Record<string, unknown> {
  let options = stored;
  if ((options.optionsVersion ?? 1) === 1) {
    options = {
      ...options,
      optionsVersion: 2,
      lambdaAdvCdga: options.lambdaAdvCdga ?? options.lambdaAdv,
      cdgaDiscResolution: options.cdgaDiscResolution ?? options.discResolution,
      cdgaGlobal: options.cdgaGlobal ?? "none",
      groupSignal: options.groupSignal ?? "probs",
      pseudoLabelThreshold: options.pseudoLabelThreshold ?? 0,
    };
  }
  if (options.optionsVersion === 2) {
    const fromAdvEnt = options.cdgaGlobal === "advEnt";
    options = {
      ...options,
      optionsVersion: 3,
      lambdaCdgaGlobal: options.lambdaCdgaGlobal ??
        (fromAdvEnt ? options.lambdaAdvEnt : options.lambdaAdv),
      cdgaGlobalDiscResolution: options.cdgaGlobalDiscResolution ??
        (fromAdvEnt ? options.adventDiscResolution : options.discResolution),
    };
  }
  return options;
}

/**
 * Options renamed since they were first stored: old name → new name (empty
 * so far). A rename adds an entry here, so that old runs still read.
 */
const RENAMED: Readonly<Record<string, string>> = {};

/**
 * A run's options from their stored form (a checkpoint's or `config.json`):
 * renamed options mapped, every value validated, options added since the
 * run filled with their defaults. An unknown option, or a version newer than
 * this code, is an error naming `where`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { optionsFromStored } from "./options.ts";
 * const o = optionsFromStored({ optionsVersion: 1, dataset: "digits", steps: 10 }, "run/config.json");
 * assert.deepEqual([o.steps, o.method], [10, "cdga"]);
 * assert.throws(() => optionsFromStored({ stepz: 1 }, "x"), /x: stored option "stepz" is unknown/);
 * ```
 */
export function optionsFromStored(original: Record<string, unknown>, where: string): Options {
  const stored = upgradeStoredOptions(original);
  const version = stored.optionsVersion ?? 1;
  if (typeof version !== "number" || !(version >= 1 && version <= OPTIONS_VERSION)) {
    throw new Error(
      `${where}: options version ${
        JSON.stringify(version)
      }; this version of uda-seg reads 1 to ${OPTIONS_VERSION}`,
    );
  }
  const specs = OPTIONS as Record<string, OptionSpec>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) {
    if (key === "optionsVersion" || key === "classes") continue;
    const name = RENAMED[key] ?? key;
    const spec = specs[name];
    if (!spec) {
      throw new Error(
        `${where}: stored option ${JSON.stringify(key)} is unknown to this version of uda-seg`,
      );
    }
    out[name] = value === undefined || value === null ? undefined : check(name, spec, value, where);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (!(name in out)) out[name] = spec.default;
  }
  return out as Options;
}
