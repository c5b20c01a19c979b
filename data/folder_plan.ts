/**
 * The plan of a folder data set (`--dataset folder`): its source and target
 * domains from `--data-root` or the two roots, one class list for every
 * split, and the splits opened, with a seeded share of a labelled training
 * split held out where a held-out split is missing.
 *
 * @example
 * ```ts ignore
 * const plan = await folderPlan({ ...options, dataRoot: "/data/mine" }, undefined, (data) => data);
 * ```
 *
 * @module
 */
import { dirname } from "node:path";
import { foldIn, key as rootKey } from "../lib/random.ts";
import { type Dataset, subset } from "./datasets.ts";
import { folder, type FolderSplit, readClasses, resolveDomain, resolveSplit } from "./folder.ts";
import type { ClassTable } from "./labels.ts";
import { DataError } from "./image_io.ts";
import type {
  DataOptions,
  DataPlan,
  DataSetDefinition,
  ReadObserver,
  SplitRecord,
} from "./plan.ts";
import { carve, record } from "./splits.ts";

type FolderDomain = Awaited<ReturnType<typeof resolveDomain>>;

/** The folder data set's source and target domains, from `--data-root` or the two roots. */
async function folderDomains(o: DataOptions) {
  let sourceRoot = o.sourceRoot, targetRoot = o.targetRoot;
  const above: string[] = [];
  if (o.dataRoot !== undefined) {
    if (sourceRoot !== undefined || targetRoot !== undefined) {
      throw new Error(
        "--data-root names source/ and target/ itself: drop --source-root and --target-root",
      );
    }
    sourceRoot = `${o.dataRoot}/source`;
    targetRoot = `${o.dataRoot}/target`;
    above.push(o.dataRoot);
  }
  if (sourceRoot === undefined || targetRoot === undefined) {
    throw new Error(
      "--dataset folder needs --data-root (a folder with source/ and target/), or --source-root and --target-root; see --help for the layout",
    );
  }
  // Per-root flags: a class list may also sit in the folder above each root.
  const source = await resolveDomain(
    sourceRoot,
    o.dataRoot ? above : [dirname(sourceRoot)],
    "source",
  );
  const target = await resolveDomain(
    targetRoot,
    o.dataRoot ? above : [dirname(targetRoot)],
    "target",
  );
  if (o.targetEvalRoot !== undefined) {
    if (target.splits.eval) {
      throw new Error(
        `--target-eval-root: ${target.root} already holds the reported split ${target.splits.eval.root}; give one`,
      );
    }
    target.splits.eval = await resolveSplit(
      o.targetEvalRoot,
      [targetRoot, ...above],
      "target eval",
    );
  }
  return { source, target };
}

/** One class list for every split: the source's; any other must say the same. */
async function oneClassList(source: FolderDomain, target: FolderDomain): Promise<ClassTable> {
  const sourceTrain = source.splits.train!;
  const splits: FolderSplit[] = [
    ...Object.values(source.splits),
    ...Object.values(target.splits),
  ] as FolderSplit[];
  const classes = await readClasses(sourceTrain.classesPath!);
  for (const s of splits) {
    if (!s.classesPath || s.classesPath === sourceTrain.classesPath) continue;
    const other = await readClasses(s.classesPath);
    const same = other.names.length === classes.names.length &&
      other.names.every((n, i) => n === classes.names[i]) &&
      other.lookup.every((v, i) => v === classes.lookup[i]);
    if (!same) {
      throw new DataError(
        s.classesPath,
        `the class list differs from the source's ${sourceTrain.classesPath} (names ${
          JSON.stringify(other.names)
        } against ${JSON.stringify(classes.names)}): every split must use one class list`,
      );
    }
  }
  return classes;
}

/**
 * Opens a split (`open`), or holds a seeded share out of a labelled one
 * (`hold`: the held-out part, and the indices left for training).
 */
function folderOpeners(o: DataOptions, classes: ClassTable, observe: ReadObserver | undefined) {
  const open = (split: FolderSplit, role: string, labels: boolean, labelsFor?: string) =>
    folder(split, {
      labels,
      labelsFor,
      classes,
      description: `${role} (${split.root})`,
      onRead: observe ? (path) => observe(role, path) : undefined,
      maxPixels: o.maxImagePixels,
    });
  const hold = async (
    split: FolderSplit,
    trainRole: string,
    heldRole: string,
    salt: number,
  ) => {
    const whole = await open(split, heldRole, true, `${heldRole} is held out from it`);
    if (whole.length < 2) {
      throw new DataError(
        `${split.root}/images`,
        `${whole.length} image: too few to hold out ${heldRole} from; give a ${heldRole} split`,
      );
    }
    const count = Math.min(whole.length - 1, Math.max(1, Math.round(o.holdout * whole.length)));
    const { picked, rest } = carve(whole.length, count, foldIn(rootKey(o.splitSeed), salt));
    const share =
      `${count} of ${whole.length} images held out of ${split.root} (split seed ${o.splitSeed})`;
    const images = count === 1 ? "image" : "images";
    return {
      held: subset(whole, picked, `${heldRole}: ${share}`),
      keep: rest,
      describeKept: `${trainRole} (${split.root}, less the ${count} ${images} of ${heldRole})`,
    };
  };
  return { open, hold };
}

type FolderOpeners = ReturnType<typeof folderOpeners>;

/** Source: train, and val (given, or held out of train). */
async function folderSource(
  source: FolderDomain,
  { open, hold }: FolderOpeners,
  scored: (data: Dataset, role: number) => Dataset,
  out: Record<string, SplitRecord>,
): Promise<{ sourceData: Dataset; sourceTest: Dataset }> {
  const sourceTrain = source.splits.train!;
  let sourceData: Dataset, sourceTest: Dataset;
  if (source.splits.val) {
    sourceData = await open(sourceTrain, "source/train", true, "source images are supervised");
    sourceTest = await open(source.splits.val, "source/val", true, "held-out source mIoU");
  } else {
    const { held, keep, describeKept } = await hold(sourceTrain, "source/train", "source/val", 1);
    sourceTest = held;
    const all = await open(sourceTrain, "source/train", true, "source images are supervised");
    sourceData = subset(all, keep, describeKept);
  }
  out["source/train"] = record(sourceData, sourceTrain.root);
  sourceTest = scored(sourceTest, 1);
  out["source/val"] = record(sourceTest, (source.splits.val ?? sourceTrain).root);
  return { sourceData, sourceTest };
}

/** Target: the reported split, the validation split, the adaptation images. */
async function folderTarget(
  o: DataOptions,
  target: FolderDomain,
  { open, hold }: FolderOpeners,
  scored: (data: Dataset, role: number) => Dataset,
  out: Record<string, SplitRecord>,
) {
  const targetTrain = target.splits.train!;
  let test: Dataset, validation: Dataset | undefined, testRole: string;
  let keep: number[] | undefined, describeKept: string | undefined;
  const wantVal = o.evaluateOn === "val";
  if (wantVal && !target.splits.val) {
    throw new Error(`--evaluate-on val: ${target.root} has no val/ split`);
  }
  if (target.splits.eval && !wantVal) {
    testRole = "target/eval";
    test = await open(
      target.splits.eval,
      testRole,
      true,
      "the reported target mIoU is scored on it",
    );
    if (target.splits.val) {
      validation = await open(target.splits.val, "target/val", true, "validation mIoU");
    }
  } else if (target.splits.val) {
    testRole = "target/val";
    test = await open(
      target.splits.val,
      testRole,
      true,
      "the reported target mIoU is scored on it",
    );
  } else if (targetTrain.labelled) {
    testRole = "target/eval";
    ({ held: test, keep, describeKept } = await hold(targetTrain, "target/train", testRole, 2));
  } else {
    throw new DataError(
      target.root,
      "no labelled target split to evaluate on: adaptation images need no labels, but the reported " +
        "target mIoU is scored against labels; add target/eval/ (images/ and labels/), or give " +
        "--target-eval-root, or put labels/ beside the target images (a seeded share is then held out)",
    );
  }
  test = scored(test, 0);
  out[testRole] = record(
    test,
    target.splits[testRole === "target/val" ? "val" : "eval"]?.root ?? targetTrain.root,
  );
  if (validation) {
    validation = scored(validation, 2);
    out["target/val"] = record(validation, target.splits.val!.root);
  }
  const kept = (data: Dataset) => (keep ? subset(data, keep, describeKept!) : data);
  const targetData = kept(await open(targetTrain, "target/train", false));
  out["target/train"] = record(targetData, targetTrain.root);
  const targetLabelled = targetTrain.labelled
    ? kept(await open(targetTrain, "target/train", true, "the oracle trains on them"))
    : undefined;
  return { test, validation, targetData, targetLabelled };
}

/**
 * Opens a folder data set's splits as the options name them (see the module
 * documentation); `observe` sees every file a split reads, `scored` makes a
 * held-out split's seeded subset for `--test-samples`.
 *
 * @example
 * ```ts ignore
 * const { test, splits } = await folderPlan(options, undefined, (data) => data);
 * ```
 */
export async function folderPlan(
  o: DataOptions,
  observe: ReadObserver | undefined,
  scored: (data: Dataset, role: number) => Dataset,
): Promise<
  Pick<
    DataPlan,
    | "classes"
    | "source"
    | "target"
    | "test"
    | "sourceTest"
    | "validation"
    | "targetLabelled"
    | "splits"
  >
> {
  const { source, target } = await folderDomains(o);
  const classes = await oneClassList(source, target);
  const openers = folderOpeners(o, classes, observe);
  const out: Record<string, SplitRecord> = {};
  const { sourceData, sourceTest } = await folderSource(source, openers, scored, out);
  const { test, validation, targetData, targetLabelled } = await folderTarget(
    o,
    target,
    openers,
    scored,
    out,
  );
  return {
    classes,
    source: sourceData,
    sourceTest,
    target: targetData,
    targetLabelled,
    test,
    validation,
    splits: out,
  };
}

/**
 * `--dataset folder`: any data set in the folder layout of `data/folder.ts`.
 * No flips by habit: measured on glyph benchmarks in this layout (3 seeds),
 * flips cost the held-out source 2.7–5.5 points and the target 1–3; street
 * scenes want `--flip on`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FOLDER } from "./folder_plan.ts";
 * assert.deepEqual(FOLDER.habits, { flip: false, shuffle: true });
 * ```
 */
export const FOLDER: DataSetDefinition = {
  description:
    "two generic folders (--data-root, or --source-root and --target-root; layout below)",
  readsFolderRoots: true,
  habits: { flip: false, shuffle: true },
  open: async ({ o, crop, scored, observe }) => ({
    ...await folderPlan(o, observe, scored),
    crop,
    protocols: {},
  }),
  classes: async (o) => {
    const root = o.dataRoot !== undefined ? `${o.dataRoot}/source` : o.sourceRoot ?? ".";
    const above = o.dataRoot !== undefined ? [o.dataRoot] : [dirname(root)];
    const source = await resolveDomain(root, above, "source");
    return await readClasses(source.splits.train!.classesPath!);
  },
};
