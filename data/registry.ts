/**
 * The data sets `--dataset` can name: one line per data set. The option's
 * choices and help are derived from this list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DATASETS } from "./registry.ts";
 * assert.deepEqual(Object.keys(DATASETS), ["digits", "gta5-cityscapes", "synthia-cityscapes", "folder"]);
 * ```
 *
 * @module
 */
import { GTA5_CITYSCAPES, SYNTHIA_CITYSCAPES } from "./cityscapes_plan.ts";
import { DIGITS } from "./digits_plan.ts";
import { FOLDER } from "./folder_plan.ts";
import type { DataSetDefinition } from "./plan.ts";

/** Every data set by its `--dataset` name, in the order `--help` lists them. */
export const DATASETS = {
  digits: DIGITS,
  "gta5-cityscapes": GTA5_CITYSCAPES,
  "synthia-cityscapes": SYNTHIA_CITYSCAPES,
  folder: FOLDER,
} as const satisfies Record<string, DataSetDefinition>;

/** The names `--dataset` accepts. */
export type DatasetName = keyof typeof DATASETS;
