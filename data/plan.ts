/**
 * The data plan of a run: which data set feeds each stream (source and
 * target training, the oracle's labelled target images) and which held-out
 * splits are scored (the reported target split, the target validation split,
 * the held-out source split), with a record of the files each one holds.
 *
 * No evaluation split shares an image with a training stream: a folder data
 * set's `eval/` (or `val/`) split, Cityscapes' `val`, the digits' test and
 * validation splits; where a folder has no such split, a seeded share
 * (`holdout`) of its labelled training images is held out and removed from
 * training, and the run folder's `splits.json` lists every file of every
 * split.
 *
 * @example
 * ```ts ignore
 * const plan = await openData({ ...options, dataset: "folder", dataRoot: "/data/mine" }, key(0));
 * console.log(plan.test.description, Object.keys(plan.splits));
 * ```
 *
 * @module
 */
import { foldIn, type Key, key as rootKey } from "../lib/random.ts";
import { type Dataset, subset } from "./datasets.ts";
import type { ClassTable } from "./labels.ts";
import type { TargetShift } from "./digits.ts";
import { DATASETS } from "./registry.ts";
import { carve } from "./splits.ts";
import type { Normalisation } from "./stream.ts";

/** What one split of a run holds, for the run folder's `splits.json`. */
export interface SplitRecord {
  /** What the split is, as logs and reports name it. */
  description: string;
  /** The number of samples. */
  count: number;
  /** The folder its files are under, where it is made of files. */
  root?: string;
  /** Its image files relative to `root`, in sample order. */
  files?: string[];
  /** Each file's size in bytes, in the order of `files` (filled in by the jobs). */
  sizes?: number[];
}

/** The data of a run. */
export interface DataPlan {
  classes: ClassTable;
  normalise: Normalisation;
  source: Dataset;
  target: Dataset;
  /** Held-out labelled target data: the reported split. */
  test: Dataset;
  /** Held-out labelled source data, where the data set has it or one was held out. */
  sourceTest?: Dataset;
  /** Labelled target validation data, for the intermediate evaluations, where it exists. */
  validation?: Dataset;
  /** The target training data with its labels, for the oracle, where they exist. */
  targetLabelled?: Dataset;
  crop?: [number, number];
  scale?: [number, number];
  flip: boolean;
  /** Whether training batches draw their samples in a shuffled order. */
  shuffle: boolean;
  /** Protocol subsets by class name, where they apply. */
  protocols: Record<string, readonly string[]>;
  /** Every split of the run by role (`source/train`, `target/eval`, …). */
  splits: Record<string, SplitRecord>;
}

/** The options the data plan reads (a subset of `deno task train`'s). */
export interface DataOptions {
  dataset: string;
  /** The most pixels an image file may declare before it is decoded. */
  maxImagePixels?: number;
  backbone: string;
  /** The ResNet variant ("caffe" changes the normalisation). */
  resnetVariant?: string;
  crop: number;
  glyphs: "digits" | "letters";
  /** The digits benchmark's target shift (default "per-image"). */
  targetShift?: TargetShift;
  canvas: number;
  digitScaleMin: number;
  digitScaleMax: number;
  digitsMin: number;
  digitsMax: number;
  evaluateOn: string;
  /** Samples of each held-out split scored (digits: 300 when absent; files: all). */
  testSamples?: number;
  sourceRoot?: string;
  targetRoot?: string;
  dataRoot?: string;
  targetEvalRoot?: string;
  /** The share of a training split held out where a folder has no held-out split. */
  holdout: number;
  /** The seed of held-out shares and of scored subsets (fixed across training seeds). */
  splitSeed: number;
  /** Random horizontal flips: "auto" (the data set's habit), "on" or "off" (default "auto"). */
  flip?: string;
}

/**
 * How images are scaled for G: x/127.5 − 1 for MobileNetV2, BGR minus
 * Caffe's means for the Caffe ResNet, ImageNet's mean and std otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalisationOf } from "./plan.ts";
 * assert.equal(normalisationOf({ backbone: "resnet", resnetVariant: "caffe" }), "caffe");
 * ```
 */
export function normalisationOf(o: { backbone: string; resnetVariant?: string }): Normalisation {
  if (o.backbone === "mobilenetv2") return "symmetric";
  return o.resnetVariant === "caffe" ? "caffe" : "imagenet";
}

/** Called with a split's role and each file's path before a stream reads it. */
export type ReadObserver = (role: string, path: string) => void;

/** What every data set's plan is opened with: the options and their readings. */
export interface PlanContext {
  o: DataOptions;
  /** `--crop` as a square, if given. */
  crop: [number, number] | undefined;
  /** A seeded subset of a held-out split when `--test-samples` asks for fewer samples. */
  scored: (data: Dataset, role: number) => Dataset;
  /** A root flag the data set needs, or a clear error naming it. */
  need: (root: string | undefined, flag: string) => string;
  /** Sees every file a split reads, where the caller watches. */
  observe?: ReadObserver;
}

/**
 * A data set `--dataset` can name: how its plan opens, its class list, and
 * its habits where the options leave a choice to it. One value of this type
 * in a file of its own, plus its line in `DATASETS` (`data/registry.ts`), is
 * all a new data set takes: the `--dataset` choices and help come from there.
 */
export interface DataSetDefinition {
  /** What `--dataset`'s help says of it. */
  description: string;
  /** Whether it reads `--data-root` and `--target-eval-root` (the folder layout's flags). */
  readsFolderRoots: boolean;
  /**
   * What it does where the options leave it open: random horizontal flips
   * under `--flip auto`; shuffled batches (off where every index is already
   * a fresh sample, as the generated scenes are).
   */
  habits: { flip: boolean; shuffle: boolean };
  /** Its streams and held-out splits; the plan's flip, shuffle and normalisation are added. */
  open(context: PlanContext, k: Key): Promise<Omit<DataPlan, "flip" | "shuffle" | "normalise">>;
  /** Its class list, without listing any split (for prediction, where only the classes matter). */
  classes(o: DataOptions): ClassTable | Promise<ClassTable>;
}

/** The definition `--dataset` names, or a clear error listing the known ones. */
function definitionOf(name: string): DataSetDefinition {
  const definition = (DATASETS as Record<string, DataSetDefinition>)[name];
  if (!definition) {
    throw new Error(`unknown dataset ${name} (known: ${Object.keys(DATASETS).join(", ")})`);
  }
  return definition;
}

/** Opens the data sets the options name; `observe` sees every file a split reads. */
export async function openData(
  o: DataOptions,
  k: Key,
  observe?: ReadObserver,
): Promise<DataPlan> {
  const definition = definitionOf(o.dataset);
  const need = (root: string | undefined, flag: string) => {
    if (!root) throw new Error(`--${flag} is required for --dataset ${o.dataset}`);
    return root;
  };
  if (!definition.readsFolderRoots) {
    for (
      const [flag, value] of [["data-root", o.dataRoot], ["target-eval-root", o.targetEvalRoot]]
    ) {
      if (value !== undefined) {
        throw new Error(`--${flag} applies to --dataset folder, not ${o.dataset}`);
      }
    }
  }
  if ((o.targetShift ?? "per-image") !== "per-image" && o.dataset !== "digits") {
    // A stranger's folder target is what its files are: the flag would change nothing.
    throw new Error(
      `--target-shift ${o.targetShift} applies to --dataset digits (the embedded benchmarks), not ${o.dataset}`,
    );
  }
  const crop: [number, number] | undefined = o.crop > 0 ? [o.crop, o.crop] : undefined;
  const splitKey = rootKey(o.splitSeed);
  const scored = (data: Dataset, role: number): Dataset => {
    if (o.testSamples === undefined || o.testSamples >= data.length) return data;
    const { picked } = carve(data.length, o.testSamples, foldIn(splitKey, 100 + role));
    return subset(
      data,
      picked,
      `${data.description}, ${o.testSamples} of its ${data.length} samples (split seed ${o.splitSeed})`,
    );
  };
  const opened = await definition.open({ o, crop, scored, need, observe }, k);
  return {
    ...opened,
    normalise: normalisationOf(o),
    flip: o.flip === "on" ? true : o.flip === "off" ? false : definition.habits.flip,
    shuffle: definition.habits.shuffle,
  };
}

/**
 * The class list of the data the options name, without listing any split
 * (for prediction, where only the classes matter).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classesOf } from "./plan.ts";
 * const table = await classesOf({ dataset: "digits", glyphs: "letters" } as Parameters<typeof classesOf>[0]);
 * assert.equal(table.names[0], "background");
 * ```
 */
export async function classesOf(o: DataOptions): Promise<ClassTable> {
  return await definitionOf(o.dataset).classes(o);
}

/**
 * Reads every sample of the file-backed held-out splits (a bad file is
 * found before training, not after it); returns how many.
 *
 * @example
 * ```ts ignore
 * const checked = await checkHeldOut(plan);
 * ```
 */
export async function checkHeldOut(data: DataPlan): Promise<number> {
  let count = 0;
  for (const split of [data.test, data.validation, data.sourceTest]) {
    if (!split?.files) continue;
    for (let i = 0; i < split.length; i++) {
      const sample = await split.get(i);
      if (!sample.label) throw new Error(`${split.description}: ${sample.name} has no labels`);
      count++;
    }
  }
  return count;
}
