/**
 * GTA5 → Cityscapes and SYNTHIA → Cityscapes as `--dataset` definitions,
 * from the folders `--source-root` and `--target-root` name: Cityscapes'
 * `val` is the reported split, its `train` labels (where readable) train the
 * oracle.
 *
 * @module
 */
import { cityscapes, type Dataset, gta5, synthia } from "./datasets.ts";
import {
  CITYSCAPES_CLASSES,
  cityscapesTable,
  type ClassTable,
  PROTOCOLS,
  synthiaTable,
} from "./labels.ts";
import type { DataSetDefinition, PlanContext } from "./plan.ts";
import { record } from "./splits.ts";

/** The plan of one source → Cityscapes pair, in the Cityscapes protocol the source shares. */
function cityscapesPair(
  openSource: (root: string) => Promise<Dataset>,
  protocol: "19" | "16",
) {
  return async ({ o, crop, scored, need }: PlanContext) => {
    const sourceRoot = need(o.sourceRoot, "source-root"),
      targetRoot = need(o.targetRoot, "target-root");
    const source = await openSource(sourceRoot);
    const target = await cityscapes(targetRoot, "train", { labels: false, protocol });
    const test = scored(await cityscapes(targetRoot, "val", { protocol }), 0);
    return {
      classes: source.classes,
      source,
      target,
      // The oracle needs Cityscapes' train labels; without them there is no oracle, and why is said.
      targetLabelled: await cityscapes(targetRoot, "train", { protocol }).catch((error) => {
        console.error(
          `no target oracle: Cityscapes' train labels cannot be read (${(error as Error).message})`,
        );
        return undefined;
      }),
      test,
      crop: crop ?? [512, 512] as [number, number],
      scale: [0.5, 1.0] as [number, number],
      protocols: {
        "16": PROTOCOLS["16"].map((i) => CITYSCAPES_CLASSES[i]),
        "13": PROTOCOLS["13"].map((i) => CITYSCAPES_CLASSES[i]),
      },
      splits: {
        "source/train": record(source, sourceRoot),
        "target/train": record(target, targetRoot),
        "target/val": record(test, targetRoot),
      },
    };
  };
}

/** Street scenes: flipped and shuffled by habit. */
const STREET_HABITS = { flip: true, shuffle: true };

/**
 * `--dataset gta5-cityscapes`: GTA5's frames → Cityscapes, 19 classes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GTA5_CITYSCAPES } from "./cityscapes_plan.ts";
 * const table = await GTA5_CITYSCAPES.classes({} as Parameters<typeof GTA5_CITYSCAPES.classes>[0]);
 * assert.equal(table.names.length, 19);
 * ```
 */
export const GTA5_CITYSCAPES: DataSetDefinition = {
  description: "GTA5→Cityscapes (--source-root, --target-root)",
  readsFolderRoots: false,
  habits: STREET_HABITS,
  open: cityscapesPair(gta5, "19"),
  classes: (): ClassTable => cityscapesTable("19"),
};

/**
 * `--dataset synthia-cityscapes`: SYNTHIA-RAND-CITYSCAPES → Cityscapes, 16 classes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SYNTHIA_CITYSCAPES } from "./cityscapes_plan.ts";
 * const table = await SYNTHIA_CITYSCAPES.classes({} as Parameters<typeof SYNTHIA_CITYSCAPES.classes>[0]);
 * assert.equal(table.names.length, 16);
 * ```
 */
export const SYNTHIA_CITYSCAPES: DataSetDefinition = {
  description: "SYNTHIA→Cityscapes (--source-root, --target-root)",
  readsFolderRoots: false,
  habits: STREET_HABITS,
  open: cityscapesPair(synthia, "16"),
  classes: (): ClassTable => synthiaTable("16"),
};
