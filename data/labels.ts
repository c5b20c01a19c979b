/**
 * Class tables: the classes a data set is trained with, their colours, and
 * how the raw values in its label files map onto class indices. The official
 * tables are kept as data (`tables/cityscapes_labels.json`, from
 * cityscapesScripts' `labels.py`).
 *
 * - Cityscapes and GTA5 label files hold Cityscapes label ids (0 … 33), mapped
 *   to the 19 train ids; ids without a train id become 255 (ignored).
 * - SYNTHIA-RAND-CITYSCAPES holds its own ids (0 … 22), mapped to the train
 *   ids of the 16 classes it shares with Cityscapes.
 * - Protocols: the 19-, 16- and 13-class subsets of the papers. A table can be
 *   compacted to a protocol's classes (indices 0 … 15 for "16").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cityscapesTable, mapLabels } from "./labels.ts";
 * const table = cityscapesTable();
 * assert.deepEqual([table.names.length, mapLabels(table, new Uint8Array([7, 26, 0]), "x.png")], [19, Uint8Array.from([0, 13, 255])]);
 * ```
 *
 * @module
 */
import raw from "./tables/cityscapes_labels.json" with { type: "json" };
import { DataError } from "./image_io.ts";
import { IGNORE_LABEL } from "../losses/cross_entropy.ts";

/** The label value of ignored pixels: the losses' `IGNORE_LABEL`, one definition. */
export const IGNORE: typeof IGNORE_LABEL = IGNORE_LABEL;

/** A class table. */
export interface ClassTable {
  /** Class names, by class index. */
  names: string[];
  /** RGB colour of each class. */
  palette: [number, number, number][];
  /**
   * Raw label value → class index, or 255 (ignored), or −1 (unknown: an
   * error when met in a label file).
   */
  lookup: Int16Array;
}

/** The Cityscapes protocols by name: their classes as Cityscapes train ids. */
export const PROTOCOLS: Readonly<Record<"19" | "16" | "13", readonly number[]>> = raw.protocols;

type LabelRow = [number, string, number, [number, number, number]];
const ROWS = raw.labels as LabelRow[];
const TRAIN = Array.from({ length: 19 }, (_, t) => ROWS.find((r) => r[2] === t)!);

/** The 19 Cityscapes class names in train-id order. */
export const CITYSCAPES_CLASSES: readonly string[] = TRAIN.map((r) => r[1]);

function cityscapesLookup(): Int16Array {
  const lookup = new Int16Array(65536).fill(-1);
  for (const [id, , trainId] of ROWS) lookup[id] = trainId;
  lookup[IGNORE] = IGNORE;
  return lookup;
}

function restrict(table: ClassTable, protocol?: "19" | "16" | "13"): ClassTable {
  if (!protocol || protocol === "19") return table;
  const keep = PROTOCOLS[protocol];
  if (!keep) throw new Error(`labels: protocol must be 19, 16 or 13, got ${protocol}`);
  const compact = new Int16Array(256).fill(IGNORE);
  keep.forEach((trainId, i) => (compact[trainId] = i));
  const lookup = table.lookup.map((v) => (v < 0 ? -1 : v === IGNORE ? IGNORE : compact[v]));
  return {
    names: keep.map((t) => table.names[t]),
    palette: keep.map((t) => table.palette[t]),
    lookup,
  };
}

/**
 * Cityscapes (and GTA5): label ids → the 19 train ids, or a protocol's
 * compact indices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cityscapesTable } from "./labels.ts";
 * assert.deepEqual(cityscapesTable("13").names.length, 13);
 * ```
 */
export function cityscapesTable(protocol?: "19" | "16" | "13"): ClassTable {
  return restrict({
    names: [...CITYSCAPES_CLASSES],
    palette: TRAIN.map((r) => r[3]),
    lookup: cityscapesLookup(),
  }, protocol);
}

/**
 * SYNTHIA-RAND-CITYSCAPES: its ids → Cityscapes train ids (16 shared classes;
 * the rest ignored), compacted to the "16" protocol unless told otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapLabels, synthiaTable } from "./labels.ts";
 * assert.deepEqual(mapLabels(synthiaTable(), new Uint8Array([3, 21, 16]), "x.png"), Uint8Array.from([0, 3, 255]));
 * ```
 */
export function synthiaTable(protocol: "19" | "16" | "13" = "16"): ClassTable {
  const lookup = new Int16Array(65536).fill(-1);
  for (const id of raw.synthia.known) lookup[id] = IGNORE;
  for (const [id, trainId] of Object.entries(raw.synthia.toTrainId)) lookup[Number(id)] = trainId;
  return restrict({
    names: [...CITYSCAPES_CLASSES],
    palette: TRAIN.map((r) => r[3]),
    lookup,
  }, protocol);
}

/**
 * A table for the digits benchmark: background and the ten digits, labels
 * already class indices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digitsTable } from "./labels.ts";
 * assert.deepEqual(digitsTable().names[3], "digit 2");
 * ```
 */
export function digitsTable(glyphs: "digits" | "letters" = "digits"): ClassTable {
  const names = [
    "background",
    ...Array.from(
      { length: 10 },
      (_, d) => (glyphs === "letters" ? `letter ${"ABCDEFGHIJ"[d]}` : `digit ${d}`),
    ),
  ];
  const lookup = new Int16Array(65536).fill(-1);
  names.forEach((_, i) => (lookup[i] = i));
  lookup[IGNORE] = IGNORE;
  return { names, palette: paletteFor(names.length), lookup };
}

/**
 * A table from a user's class list (`classes.json`): `names`, optional `ids`
 * (the label value of each class, default 0 … n−1), optional `palette`, and
 * optional `ignore` (default 255). `path` names the file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromJson } from "./labels.ts";
 * const t = tableFromJson('{"names": ["sky", "road"], "ids": [10, 20]}', "classes.json");
 * assert.deepEqual(t.lookup[20], 1);
 * ```
 */
export function tableFromJson(text: string, path: string): ClassTable {
  let spec: { names?: unknown; ids?: unknown; palette?: unknown; ignore?: unknown };
  try {
    spec = JSON.parse(text);
  } catch (error) {
    throw new DataError(
      path,
      `the class list does not parse as JSON (${(error as Error).message})`,
    );
  }
  const names = spec?.names;
  if (!Array.isArray(names) || names.length < 2 || !names.every((n) => typeof n === "string")) {
    throw new DataError(path, '"names" must be an array of at least 2 strings');
  }
  const ids = spec.ids ?? names.map((_, i) => i);
  if (
    !Array.isArray(ids) || ids.length !== names.length ||
    !ids.every((v) => Number.isInteger(v) && v >= 0 && v < 65536) ||
    new Set(ids).size !== ids.length
  ) {
    throw new DataError(path, '"ids" must be distinct integers in 0 … 65535, one per name');
  }
  const ignore = spec.ignore ?? IGNORE;
  if (!Number.isInteger(ignore) || (ignore as number) < 0 || (ignore as number) > 65535) {
    throw new DataError(path, '"ignore" must be an integer in 0 … 65535');
  }
  if (ids.includes(ignore)) {
    throw new DataError(path, `the ignore value ${ignore} is also a class id`);
  }
  if (names.length > 255) throw new DataError(path, "at most 255 classes are supported");
  const palette = spec.palette ?? paletteFor(names.length);
  if (
    !Array.isArray(palette) || palette.length !== names.length ||
    !palette.every((c) =>
      Array.isArray(c) && c.length === 3 &&
      c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)
    )
  ) {
    throw new DataError(path, '"palette" must give one [r, g, b] (0 … 255) per name');
  }
  const lookup = new Int16Array(65536).fill(-1);
  (ids as number[]).forEach((id, i) => (lookup[id] = i));
  lookup[ignore as number] = IGNORE;
  return { names: names as string[], palette: palette as [number, number, number][], lookup };
}

/** Distinct colours for n classes (Pascal VOC's bit-interleaved palette). */
export function paletteFor(n: number): [number, number, number][] {
  return Array.from({ length: n }, (_, i) => {
    const rgb: [number, number, number] = [0, 0, 0];
    let c = i;
    for (let bit = 7; bit >= 0 && c > 0; bit--) {
      for (let ch = 0; ch < 3; ch++) rgb[ch] |= ((c >> ch) & 1) << bit;
      c >>= 3;
    }
    return rgb;
  });
}

/**
 * Maps raw label values to class indices (255: ignored). An unknown value is
 * a {@linkcode DataError} naming the file and the value.
 *
 * @example
 * ```ts
 * import { cityscapesTable, mapLabels } from "./labels.ts";
 * try { mapLabels(cityscapesTable(), new Uint8Array([40]), "bad.png"); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function mapLabels(
  table: ClassTable,
  values: ArrayLike<number>,
  path: string,
): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const mapped = table.lookup[values[i]];
    if (mapped === undefined || mapped < 0) {
      throw new DataError(path, `unknown class id ${values[i]} at pixel ${i}`);
    }
    out[i] = mapped;
  }
  return out;
}

/** A class table as plain JSON: names, palette, and every raw label value with its class (or 255). */
export interface ClassTableJson {
  names: string[];
  palette: [number, number, number][];
  /** [raw label value, class index or 255 (ignore)] for every value the table knows. */
  values: [number, number][];
}

/**
 * A class table as JSON (for checkpoints: prediction then needs no data set).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromJsonValue, tableToJson, tableFromJson } from "./labels.ts";
 * const t = tableFromJson('{"names": ["sky", "road"], "ids": [10, 20]}', "classes.json");
 * const back = tableFromJsonValue(tableToJson(t), "checkpoint");
 * assert.deepEqual([back.lookup[20], back.lookup[255]], [1, 255]);
 * ```
 */
export function tableToJson(table: ClassTable): ClassTableJson {
  const values: [number, number][] = [];
  table.lookup.forEach((c, v) => {
    if (c >= 0) values.push([v, c]);
  });
  return { names: [...table.names], palette: table.palette.map((c) => [...c]), values };
}

/**
 * The class table back from {@linkcode tableToJson}'s form; a malformed one
 * is a {@linkcode DataError} naming `path`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromJsonValue } from "./labels.ts";
 * const t = tableFromJsonValue({ names: ["a", "b"], palette: [[0, 0, 0], [9, 9, 9]], values: [[0, 0], [1, 1]] }, "x");
 * assert.deepEqual(t.lookup[1], 1);
 * ```
 */
export function tableFromJsonValue(value: unknown, path: string): ClassTable {
  const v = value as Partial<ClassTableJson> | null;
  const ok = v && Array.isArray(v.names) && v.names.every((n) => typeof n === "string") &&
    Array.isArray(v.palette) && v.palette.length === v.names.length &&
    Array.isArray(v.values) &&
    v.values.every((pair) =>
      Array.isArray(pair) && Number.isInteger(pair[0]) && pair[0] >= 0 && pair[0] < 65536 &&
      Number.isInteger(pair[1]) &&
      (pair[1] === IGNORE || (pair[1] >= 0 && pair[1] < v.names!.length))
    );
  if (!ok) throw new DataError(path, "the stored class table is malformed");
  const lookup = new Int16Array(65536).fill(-1);
  for (const [raw, c] of v.values!) lookup[raw] = c;
  return { names: v.names!, palette: v.palette!, lookup };
}
