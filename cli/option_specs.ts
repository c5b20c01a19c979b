/**
 * The options of `deno task train` (and of `--config` files), declared once
 * and grouped by concern: each entry's kind, default, help and checks. The
 * parsing, the recipes and the stored-options migration are in `options.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OPTIONS } from "./option_specs.ts";
 * assert.equal(OPTIONS.steps.kind, "integer");
 * ```
 *
 * @module
 */
import { methodDefaults, METHODS, SEG_OPTIMIZERS } from "../methods/config.ts";
import { NORM_MODES } from "../model/layers.ts";
import { BACKEND_CHOICES } from "../lib/backend.ts";
import { DATASETS } from "../data/registry.ts";
import { MAX_IMAGE_PIXELS } from "../data/image_io.ts";
import { TARGET_SHIFTS } from "../data/digits.ts";
import { RESNET_VARIANTS } from "../model/resnet.ts";
import { METHOD_OPTIONS } from "./method_options.ts";
import type { OptionSpec } from "../lib/option_spec.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";

export type { OptionSpec };

/** The recipes' names (`--recipe`). */
export const RECIPE_NAMES = [
  "short",
  "design-space",
  "equal-budget",
  "pre-sweep",
  "published",
  "v1",
] as const;

const CDGA = methodDefaults("cdga");

/** Methods, phases and schedule. */
const RUN_SHAPE_OPTIONS = {
  recipe: {
    kind: "string",
    default: "short",
    choices: RECIPE_NAMES,
    help:
      "a named set of defaults: short (the library's, tuned for short runs on CPUs), design-space (the short recipe before the grouping losses moved to 0.03: λ_sc = λ_orth = λ_bal = 0.1, the 5-seed tables' earlier CDGA), equal-budget (the short recipe as the equal-budget sweep left it, before the design-space rounds), pre-sweep (the short recipe before the equal-budget sweep), published (AdaptSegNet's protocol), v1 (this project's earlier defaults); explicit flags win",
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
} as const satisfies Record<string, OptionSpec>;

/** Data. */
const DATA_OPTIONS = {
  dataset: {
    kind: "string",
    default: "digits",
    choices: Object.keys(DATASETS),
    help: `source→target data, one of: ${
      Object.entries(DATASETS).map(([name, d]) => `${name} — ${d.description}`).join("; ")
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
  targetShift: {
    kind: "string",
    default: "per-image",
    choices: TARGET_SHIFTS,
    help:
      "digits benchmark: how the target departs from the source: per-image (each scene one sub-style, every class alike) or per-class (three class groups, each its own stroke appearance on the same photographs)",
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
} as const satisfies Record<string, OptionSpec>;

/** Model (G). */
const MODEL_OPTIONS = {
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
} as const satisfies Record<string, OptionSpec>;

/** Optimisers. */
const OPTIMISER_OPTIONS = {
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
} as const satisfies Record<string, OptionSpec>;

/** Backend. */
const BACKEND_OPTIONS = {
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
} as const satisfies Record<string, OptionSpec>;

/** Run control and output. */
const RUN_OPTIONS = {
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

/**
 * The sections of each method's own settings (its definition's `options`):
 * one per method that has some, after the shared method settings. A name
 * that another option already has is refused here, when the module loads.
 */
function methodOwnSections(
  shared: Readonly<Record<string, OptionSpec>>,
): { title: string; options: Readonly<Record<string, OptionSpec>> }[] {
  const taken = new Map(Object.keys(shared).map((name) => [name, "a shared option"]));
  const sections = [];
  for (const [method, definition] of Object.entries(METHOD_DEFINITIONS)) {
    const options = definition.options ?? {};
    for (const name of Object.keys(options)) {
      if (taken.has(name)) {
        throw new Error(
          `methods: ${method}'s option ${JSON.stringify(name)} clashes with ${taken.get(name)}`,
        );
      }
      taken.set(name, `${method}'s`);
    }
    if (Object.keys(options).length) {
      sections.push({ title: `${definition.label}'s own settings`, options });
    }
  }
  return sections;
}

/**
 * Every option of `deno task train` (and of `--config` files) that every run
 * has: kind, default, help and checks. The type of the parsed options
 * (`Options`) is read from it.
 */
export const OPTIONS = {
  ...RUN_SHAPE_OPTIONS,
  ...DATA_OPTIONS,
  ...MODEL_OPTIONS,
  ...METHOD_OPTIONS,
  ...OPTIMISER_OPTIONS,
  ...BACKEND_OPTIONS,
  ...RUN_OPTIONS,
} as const;

/**
 * The sections of `deno task train --help`, by concern, each with its
 * options; each method's own settings in a section of their own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OPTION_SECTIONS } from "./options.ts";
 * assert.ok(OPTION_SECTIONS.some((s) => s.title === "Data" && "dataset" in s.options));
 * ```
 */
export const OPTION_SECTIONS: readonly {
  title: string;
  options: Readonly<Record<string, OptionSpec>>;
}[] = [
  { title: "Methods, phases and schedule", options: RUN_SHAPE_OPTIONS },
  { title: "Data", options: DATA_OPTIONS },
  { title: "Model (G)", options: MODEL_OPTIONS },
  { title: "Method settings (C, D and the loss weights)", options: METHOD_OPTIONS },
  ...methodOwnSections(OPTIONS),
  { title: "Optimisers", options: OPTIMISER_OPTIONS },
  { title: "Backend", options: BACKEND_OPTIONS },
  { title: "Run control and output", options: RUN_OPTIONS },
];

/**
 * Every option by name, each method's own settings among them: what the
 * parser, `--config`, stored options and resume checks read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OPTION_SPECS } from "./option_specs.ts";
 * assert.equal(OPTION_SPECS.seed.kind, "integer");
 * ```
 */
export const OPTION_SPECS: Readonly<Record<string, OptionSpec>> = Object.fromEntries(
  OPTION_SECTIONS.flatMap((section) => Object.entries(section.options)),
);
