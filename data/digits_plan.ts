/**
 * The embedded digits (or letters) benchmark as a `--dataset` definition:
 * source and target scenes generated from the key, the test digits on
 * unseen photographs as the reported split, and a validation split of its
 * own (`data/digits.ts` builds the scenes).
 *
 * @module
 */
import type { Key } from "../lib/random.ts";
import { digitsDataset } from "./datasets.ts";
import { loadDigitsBenchmark } from "./digits.ts";
import { digitsTable } from "./labels.ts";
import type { DataSetDefinition, PlanContext } from "./plan.ts";
import { record } from "./splits.ts";

const DIGITS_TEST_SAMPLES = 300;

/** The generated scenes' streams and their held-out splits. */
async function openDigits({ o }: PlanContext, k: Key) {
  const bench = await loadDigitsBenchmark({ glyphs: o.glyphs });
  const scenes = {
    size: o.canvas,
    scale: [o.digitScaleMin, o.digitScaleMax] as [number, number],
    digits: [o.digitsMin, o.digitsMax] as [number, number],
    shift: o.targetShift ?? "per-image",
  };
  const huge = 2 ** 31 - 1;
  const length = o.testSamples ?? DIGITS_TEST_SAMPLES;
  const generated = (split: "train" | "val" | "eval", domain: "source" | "target", n: number) =>
    digitsDataset(bench, k, { split, domain, length: n }, scenes);
  const source = generated("train", "source", huge);
  const target = generated("train", "target", huge);
  // The reported split ("eval": test digits on unseen photographs) or the validation split.
  const heldOut = o.evaluateOn === "val" ? "val" : "eval";
  const test = generated(heldOut, "target", length);
  const sourceTest = generated(heldOut, "source", length);
  const validation = generated("val", "target", length);
  return {
    classes: source.classes,
    source,
    target,
    targetLabelled: target,
    test,
    sourceTest,
    validation,
    protocols: {},
    splits: {
      "source/train": { description: "generated source scenes (training digits)", count: huge },
      "target/train": { description: "generated target scenes (training digits)", count: huge },
      [`target/${heldOut}`]: record(test),
      [`source/${heldOut}`]: record(sourceTest),
      ...(heldOut === "val" ? {} : { "target/val": record(validation) }),
    },
  };
}

/**
 * `--dataset digits`: the embedded benchmark. No flips by habit (glyphs are
 * not mirror-symmetric), no shuffling (every index is a fresh scene).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DIGITS } from "./digits_plan.ts";
 * const table = await DIGITS.classes({ glyphs: "digits" } as Parameters<typeof DIGITS.classes>[0]);
 * assert.equal(table.names.length, 11);
 * ```
 */
export const DIGITS: DataSetDefinition = {
  description: "the embedded digits benchmark (--glyphs letters: its letters variant)",
  readsFolderRoots: false,
  habits: { flip: false, shuffle: false },
  open: openDigits,
  classes: (o) => digitsTable(o.glyphs),
};
