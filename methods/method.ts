/**
 * What a training method is made of, and the helpers the methods share.
 *
 * A method is a {@linkcode MethodDefinition}: which images G reads, which
 * domain's labels supervise L_seg, how its extra parts (C, D) are
 * initialised, the generator's extra objective terms, and D's objective.
 * The shared pure step (`step.ts`) runs G, adds L_seg, asks the method for
 * its terms and updates every part. D's inputs travel from the generator's
 * objective to D's as a typed {@linkcode DiscriminatorInputs}, detached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_DEFINITIONS } from "./registry.ts";
 * assert.deepEqual(METHOD_DEFINITIONS.oracle.supervision, "target");
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../lib/tf.ts";
import type { Key } from "../lib/random.ts";
import type { DeepLabParams } from "../model/deeplab.ts";
import type { GroupingParams } from "../model/grouping.ts";
import type { GroupDiscriminatorParams, PatchDiscriminatorParams } from "../model/discriminator.ts";
import type { MethodConfig, MethodConfigInput, MethodDefaults } from "./config.ts";
import type { OptionSpec, OptionValue, ValuesOfSpecs } from "../lib/option_spec.ts";
import type { Tree } from "../lib/tree.ts";
import type { GradientTransformation } from "../lib/optim/mod.ts";

/**
 * One training batch: labelled source images and target images; target
 * labels only for the oracle (no adaptation method reads them).
 */
export type Batch = {
  /**
   * Source images [N, H, W, 3], normalised as the backbone expects by
   * `normalise(rgb, how)` (exported by `mod.ts`): `"imagenet"`, (x/255 −
   * mean)/std with ImageNet's statistics, for ResNet; `"symmetric"`,
   * x/127.5 − 1, for MobileNetV2. Class ids [N, H, W] (int32; 255 = ignore).
   */
  source: { images: Tensor; labels: Tensor };
  /** Target images [N, H, W, 3], normalised the same way; class ids for the oracle only. */
  target: { images: Tensor; labels?: Tensor };
};

/**
 * D's parameters: a patch discriminator, or CDGA's group discriminator (with
 * the global term's D_g where CDGA has one).
 */
export type DiscParams =
  | PatchDiscriminatorParams
  | (GroupDiscriminatorParams & { global?: PatchDiscriminatorParams });

/** The parts a method adds beside G, by name (CDGA's: `group`, C, and `disc`, D). */
export type Parts = { readonly [part: string]: Tree };

/**
 * All trainable parameters: G (`seg`) and the method's parts, by name; the
 * parts of this library's methods are typed by name for their readers.
 */
export type Params = {
  seg: DeepLabParams;
  group?: GroupingParams;
  disc?: DiscParams;
  readonly [part: string]: Tree | undefined;
};

/**
 * How a part beside G trains: which objective's gradient moves it, and with
 * which optimiser (`methods/optimizers.ts` has the library's: the head's
 * rule for parts trained with G, D's Adam).
 */
export interface PartTraining {
  /** G's objective (the part trains with G, as C does) or D's (on detached inputs). */
  objective: "generator" | "discriminator";
  /** Its optimiser, from the configuration. */
  optimizer(config: MethodConfig): GradientTransformation;
}

/** G's outputs on one domain's images. */
export interface Predictions {
  /** Class scores [N, h, w, C] at output stride 8. */
  logits: Tensor;
  /** The backbone feature [N, h, w, F]. */
  feature: Tensor;
}

/**
 * What D trains on, made inside the generator's objective and detached:
 * its source and target inputs and, for CDGA's class equivalence, the
 * weights of its output cells.
 */
export type DiscriminatorInputs = {
  /** D's source input (for CDGA: [K, N, H', W', C], or [N, H', W', K·C] for the stacked D). */
  source: Tensor;
  /** D's target input. */
  target: Tensor;
  /** Per-cell weights of D's source output, [K, N, h', w'] (CDGA). */
  sourceWeights?: Tensor;
  /** Per-cell weights of D's target output (CDGA). */
  targetWeights?: Tensor;
  /** CDGA with a global term: D_g's source input. */
  globalSource?: Tensor;
  /** CDGA with a global term: D_g's target input. */
  globalTarget?: Tensor;
};

/** What G's objective is handed; `P` is the method's parts. */
export interface GeneratorContext<P extends Parts = Parts> {
  /** The resolved configuration. */
  config: MethodConfig;
  /**
   * G and the method's parts: those G's objective trains (C) as trained in
   * this step, those D's objective trains held constant.
   */
  params: { seg: DeepLabParams } & P;
  /** The batch. */
  batch: Batch;
  /** G on the source images, where the method reads them. */
  source?: Predictions;
  /** G on the target images, where the method reads them. */
  target?: Predictions;
  /**
   * Updates each part has had before this step (its optimizer's count, a
   * scalar), by part name: `seg` counts G's updates since its warm-up began,
   * a method's own parts those of this phase (they start with it). Read-only,
   * never differentiated; a part whose optimizer keeps no count is absent.
   */
  updateCounts: Readonly<Record<string, Scalar>>;
}

/** A method's terms of G's objective, beyond L_seg. */
export interface GeneratorTerms {
  /** The weighted sum of the extra terms (none: L_seg alone). */
  loss?: Tensor;
  /** Scalar terms (unweighted) and monitors, for the metrics. */
  metrics: Record<string, Tensor>;
  /** What D trains on, where the method has a D. */
  disc?: DiscriminatorInputs;
}

/**
 * A training method: everything the step, the jobs and the reports need to
 * know of it. One value of this type in a file of its own, plus its line in the
 * registry (`methods/registry.ts`), is a new method: `METHODS`, `--method`,
 * `--also`, the flags of its own settings, the table labels and the loss
 * chart come from there.
 * `P` is the type of its parts (a record of named trees beside G), so that
 * its objectives take them as it made them, with no casts (a definition
 * over its own `P` is assignable to the registry's `MethodDefinition`: its
 * objectives are methods). Another part (a second
 * discriminator, an auxiliary classifier) is one more entry of `initParts`
 * and `parts`, in the method's file.
 */
export interface MethodDefinition<P extends Parts = Parts> {
  /** Its name in tables and reports. */
  label: string;
  /** The metrics of `generator` that the loss chart of `plot.svg` draws beside L_seg. */
  plotted: readonly string[];
  /** What its defaults change from the shared ones (`methodDefaults`). */
  defaults?: MethodDefaults;
  /**
   * Its own settings, each with its kind, default, help and checks: they
   * become flags of `deno task train` (a `--help` section of their own) and
   * keys of `--config` files, and reach its objectives, resolved and
   * checked, as `config.options` (`ownOptions` reads them typed). A name
   * must not be taken by another option.
   */
  options?: Readonly<Record<string, OptionSpec>>;
  /**
   * Checks of its own settings that need the rest of the configuration (the
   * class count, another setting): `resolveConfig` runs it, so a bad value is
   * refused before anything trains; an error names the option.
   */
  check?(config: MethodConfig): void;
  /**
   * Named variants a phase may ask for (`--also cdga.pixel`): what the label
   * adds and the settings the variant changes.
   */
  variants?: Readonly<Record<string, { label: string; overrides: Partial<MethodConfigInput> }>>;
  /**
   * Which images G reads in a step, and whether source and target images
   * must share a size (CDGA pools both domains' group assignments).
   */
  reads: { source: boolean; target: boolean; sameSize?: boolean };
  /** Whose labels L_seg uses: the source's, or the target's (the oracle). */
  supervision: "source" | "target";
  /**
   * How each part it adds trains (by the part's name; `{}` for none): the
   * step builds one optimiser per part from this (G's own is the step's).
   */
  parts?: { readonly [K in keyof P]: PartTraining };
  /** Its parts beside G, initialised (C and D, where the method has them). */
  initParts(k: Key, config: MethodConfig): P;
  /** G's (and its parts') extra terms. */
  generator(context: GeneratorContext<P>): GeneratorTerms;
  /**
   * D's objective on detached inputs (methods with a part trained by it),
   * differentiated with respect to the parts whose `objective` is
   * "discriminator"; the others are handed as they stood before the step.
   */
  discriminator?(
    config: MethodConfig,
    parts: P,
    inputs: DiscriminatorInputs,
  ): { loss: Tensor; metrics: Record<string, Tensor> };
}

/**
 * Bilinear resize of NHWC maps to [h, w] (PyTorch's align_corners=False).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resize } from "./method.ts";
 * import { tf } from "../mod.ts";
 * assert.deepEqual(resize(tf.zeros([1, 2, 2, 3]), [4, 4]).shape, [1, 4, 4, 3]);
 * ```
 */
export function resize(x: Tensor, size: [number, number]): Tensor {
  const [, h, w] = x.shape;
  if (h === size[0] && w === size[1]) return x;
  return tf.image.resizeBilinear(x as tf.Tensor4D, size, false, true);
}

/**
 * Class ids [N, H, W] → nearest-neighbour ids at [h, w].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { downsampleLabels } from "./method.ts";
 * import { tf } from "../mod.ts";
 * assert.deepEqual(downsampleLabels(tf.zeros([1, 4, 4], "int32"), [2, 2]).shape, [1, 2, 2]);
 * ```
 */
export function downsampleLabels(labels: Tensor, size: [number, number]): Tensor {
  const [, h, w] = labels.shape;
  if (h === size[0] && w === size[1]) return labels;
  const asFloat = tf.expandDims(tf.cast(labels, "float32"), -1) as tf.Tensor4D;
  const small = tf.image.resizeNearestNeighbor(asFloat, size, false, true);
  return tf.cast(tf.squeeze(small, [3]), "int32");
}

/**
 * Where D looks: the input resolution (AdaptSegNet) or G's output's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discSize } from "./method.ts";
 * assert.deepEqual(discSize("output", [64, 64], [8, 8]), [8, 8]);
 * ```
 */
export function discSize(
  where: MethodConfig["discResolution"],
  input: [number, number],
  output: [number, number],
): [number, number] {
  return where === "input" ? input : output;
}

/**
 * A method's own settings from its resolved configuration, typed by their
 * specs (the `options` of its definition): a number option reads as a
 * number, a string option with choices as the union of its choices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ownOptions } from "../mod.ts";
 * const specs = { lambdaX: { kind: "number", default: 0.1, help: "" } } as const;
 * const config = { method: "minEnt", options: { lambdaX: 0.2 } } as const;
 * const { lambdaX } = ownOptions(config, specs); // a number
 * assert.equal(lambdaX * 10, 2);
 * ```
 */
export function ownOptions<S extends Readonly<Record<string, OptionSpec>>>(
  config: Pick<MethodConfig, "method" | "options">,
  specs: S,
): ValuesOfSpecs<S> {
  const out: Record<string, OptionValue> = {};
  for (const name of Object.keys(specs)) {
    const value = config.options[name];
    if (value === undefined) {
      throw new Error(`config: ${config.method} has no value of its option ${name}`);
    }
    out[name] = value;
  }
  return out as ValuesOfSpecs<S>;
}
