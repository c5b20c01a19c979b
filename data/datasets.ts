/**
 * Data sets as random-access lists of samples, read from disk one sample at a
 * time (a data set is never held in memory): the real UDA data sets in their
 * standard layouts, a generic folder of image/label pairs, and the embedded
 * digits benchmark.
 *
 * | data set | layout (under its root) |
 * | --- | --- |
 * | Cityscapes | `leftImg8bit/{split}/{city}/*_leftImg8bit.png`, `gtFine/{split}/{city}/*_gtFine_labelIds.png` |
 * | GTA5 | `images/*.png`, `labels/*.png` (Cityscapes label ids) |
 * | SYNTHIA-RAND-CITYSCAPES | `RGB/*.png`, `GT/LABELS/*.png` (16-bit, class id in the first channel) |
 * | folder | `data/folder.ts`: `images/*.png`, `labels/*.png` (same names), `classes.json`, in named splits |
 *
 * Every problem with a file is a `DataError` that names it: a corrupt or
 * truncated image, an image and label of different sizes, a label id outside
 * the table, an empty or missing folder, a class list that does not parse.
 *
 * @example
 * ```ts ignore
 * const train = await cityscapes("/data/cityscapes", "train");
 * const sample = await train.get(0);
 * console.log(sample.name, sample.width, sample.height);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import type { Key } from "../lib/random.ts";
import { DataError, type RawImage, readImage, toRgb } from "./image_io.ts";
import {
  cityscapesTable,
  type ClassTable,
  digitsTable,
  mapLabels,
  synthiaTable,
} from "./labels.ts";
import type { DigitsBenchmark, DigitsOptions, DigitsSplit } from "./digits.ts";

/** One sample: RGB bytes and (for labelled data) class indices, 255 = ignore. */
export interface Sample {
  /** A name for reports: the file's base name, or the scene index. */
  name: string;
  width: number;
  height: number;
  /** RGB bytes, row-major. */
  image: Uint8Array;
  /** Class indices (255: ignore), row-major; absent for unlabelled data. */
  label?: Uint8Array;
  /** The target sub-style, where the data set has them. */
  style?: string;
}

/** A random-access data set. */
export interface Dataset {
  /** A description for logs. */
  readonly description: string;
  /** The number of samples. */
  readonly length: number;
  /** The classes. */
  readonly classes: ClassTable;
  /** Reads sample `index` (0 ≤ index < length). */
  get(index: number): Promise<Sample>;
  /** Each sample's image file, in index order, where the samples are files (for the run's split record). */
  readonly files?: readonly string[];
}

/** One sample's files. */
export interface Pair {
  /** The name for reports (the image's base name). */
  name: string;
  /** The image's path. */
  image: string;
  /** The label map's path, for labelled data. */
  label?: string;
  /** The sample's sub-domain, where the data set names them. */
  style?: string;
}

/** How a data set of files reads them. */
export interface PairedOptions {
  /** Labels hold the class id in a 16-bit image's first channel (SYNTHIA). */
  labelFirstChannel?: boolean;
  /** Called with each file's path before it is read (to record what a stream opens). */
  onRead?: (path: string) => void;
  /** The most pixels an image may declare (default `MAX_IMAGE_PIXELS`). */
  maxPixels?: number;
}

async function listFiles(dir: string, suffix: string, what: string): Promise<string[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    throw new DataError(dir, `cannot read the ${what} folder (${(error as Error).message})`);
  }
  const files = entries.filter((e) => e.isFile && e.name.endsWith(suffix)).map((e) => e.name)
    .sort();
  if (files.length === 0) throw new DataError(dir, `the ${what} folder has no *${suffix} file`);
  return files;
}

async function listDirs(dir: string, what: string): Promise<string[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    throw new DataError(dir, `cannot read the ${what} folder (${(error as Error).message})`);
  }
  const dirs = entries.filter((e) => e.isDirectory).map((e) => e.name).sort();
  if (dirs.length === 0) throw new DataError(dir, `the ${what} folder is empty`);
  return dirs;
}

/** Reads the label channel: 8-bit grey or palette indices; 16-bit first channel. */
function labelValues(image: RawImage, path: string, firstChannel: boolean): ArrayLike<number> {
  if (image.channels === 1) return image.data;
  if (!firstChannel) {
    throw new DataError(path, `a label map must have one channel, this one has ${image.channels}`);
  }
  const n = image.width * image.height;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = image.data[i * image.channels];
  return out;
}

/**
 * A data set over image (and label) files: sample i reads `pairs[i]`.
 *
 * @example
 * ```ts ignore
 * const data = pairedDataset("mine", [{ name: "a.png", image: "/d/a.png", label: "/d/a_label.png" }], table);
 * ```
 */
export function pairedDataset(
  description: string,
  pairs: readonly Pair[],
  classes: ClassTable,
  options: PairedOptions = {},
): Dataset {
  const read = (path: string, how?: { expandPalette: boolean }) => {
    options.onRead?.(path);
    return readImage(path, { ...how, maxPixels: options.maxPixels });
  };
  return {
    description,
    length: pairs.length,
    classes,
    files: pairs.map((p) => p.image),
    async get(index) {
      const pair = pairs[index];
      if (!pair) throw new RangeError(`${description}: no sample ${index} (of ${pairs.length})`);
      const image = await read(pair.image);
      const rgb = toRgb(image, pair.image);
      const style = pair.style === undefined ? {} : { style: pair.style };
      if (!pair.label) {
        return { name: pair.name, width: image.width, height: image.height, image: rgb, ...style };
      }
      const labelImage = await read(pair.label, { expandPalette: false });
      if (labelImage.width !== image.width || labelImage.height !== image.height) {
        throw new DataError(
          pair.label,
          `label map is ${labelImage.width}×${labelImage.height} but its image ${pair.image} is ${image.width}×${image.height}`,
        );
      }
      const values = labelValues(labelImage, pair.label, options.labelFirstChannel ?? false);
      return {
        name: pair.name,
        width: image.width,
        height: image.height,
        image: rgb,
        label: mapLabels(classes, values, pair.label),
        ...style,
      };
    },
  };
}

/**
 * The samples of `data` at `indices`, in that order, as a data set of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { subset } from "./datasets.ts";
 * import { digitsTable } from "./labels.ts";
 * const whole = { description: "d", length: 3, classes: digitsTable(), files: ["a", "b", "c"],
 *   get: (i: number) => Promise.resolve({ name: String(i), width: 1, height: 1, image: new Uint8Array(3) }) };
 * const part = subset(whole, [2, 0], "d, two of it");
 * assert.deepEqual([part.length, part.files], [2, ["c", "a"]]);
 * ```
 */
export function subset(data: Dataset, indices: readonly number[], description: string): Dataset {
  for (const i of indices) {
    if (!(Number.isInteger(i) && i >= 0 && i < data.length)) {
      throw new RangeError(`${data.description}: no sample ${i} (of ${data.length})`);
    }
  }
  return {
    description,
    length: indices.length,
    classes: data.classes,
    ...(data.files ? { files: indices.map((i) => data.files![i]) } : {}),
    get(index) {
      if (!(index >= 0 && index < indices.length)) {
        return Promise.reject(
          new RangeError(`${description}: no sample ${index} (of ${indices.length})`),
        );
      }
      return data.get(indices[index]);
    },
  };
}

/**
 * Pairs the PNG images of a folder with the labels of the same base name in
 * another (a missing label is an error naming it); without a label folder,
 * images alone.
 *
 * @example
 * ```ts ignore
 * const pairs = await pairByName("/d/images", "/d/labels");
 * ```
 */
export async function pairByName(
  imageDir: string,
  labelDir: string | undefined,
  rename: (imageName: string) => string = (n) => n,
): Promise<Pair[]> {
  const images = await listFiles(imageDir, ".png", "image");
  if (!labelDir) return images.map((n) => ({ name: n, image: join(imageDir, n) }));
  const labels = new Set(await listFiles(labelDir, ".png", "label"));
  return images.map((n) => {
    const label = rename(n);
    if (!labels.has(label)) {
      throw new DataError(join(labelDir, label), `missing label for ${join(imageDir, n)}`);
    }
    return { name: n, image: join(imageDir, n), label: join(labelDir, label) };
  });
}

/** Options of the real data sets. */
export interface LoaderOptions {
  /** Read labels (default true; false for unlabelled target training). */
  labels?: boolean;
  /** The class protocol (default "19"; SYNTHIA defaults to "16"). */
  protocol?: "19" | "16" | "13";
}

/**
 * Cityscapes: `leftImg8bit/{split}/{city}/*_leftImg8bit.png` with
 * `gtFine/{split}/{city}/*_gtFine_labelIds.png`, label ids mapped to train ids.
 *
 * @example
 * ```ts ignore
 * const val = await cityscapes("/data/cityscapes", "val");
 * ```
 */
export async function cityscapes(
  root: string,
  split: "train" | "val" | "test",
  options: LoaderOptions = {},
): Promise<Dataset> {
  const withLabels = options.labels ?? true;
  const imageRoot = join(root, "leftImg8bit", split);
  const pairs: Pair[] = [];
  for (const city of await listDirs(imageRoot, "city")) {
    const found = await pairByName(
      join(imageRoot, city),
      withLabels ? join(root, "gtFine", split, city) : undefined,
      (n) => n.replace(/_leftImg8bit\.png$/, "_gtFine_labelIds.png"),
    );
    pairs.push(...found.filter((p) => p.name.endsWith("_leftImg8bit.png")));
  }
  return pairedDataset(`cityscapes ${split}`, pairs, cityscapesTable(options.protocol));
}

/**
 * GTA5: `images/*.png` with `labels/*.png` in Cityscapes label ids.
 *
 * @example
 * ```ts ignore
 * const gta = await gta5("/data/gta5");
 * ```
 */
export async function gta5(root: string, options: LoaderOptions = {}): Promise<Dataset> {
  const pairs = await pairByName(
    join(root, "images"),
    options.labels === false ? undefined : join(root, "labels"),
  );
  return pairedDataset("gta5", pairs, cityscapesTable(options.protocol));
}

/**
 * SYNTHIA-RAND-CITYSCAPES: `RGB/*.png` with `GT/LABELS/*.png` (16-bit, class
 * id in the first channel), mapped to the 16 shared classes (or 13).
 *
 * @example
 * ```ts ignore
 * const synthia = await synthia("/data/synthia", { protocol: "13" });
 * ```
 */
export async function synthia(root: string, options: LoaderOptions = {}): Promise<Dataset> {
  const pairs = await pairByName(
    join(root, "RGB"),
    options.labels === false ? undefined : join(root, "GT", "LABELS"),
  );
  return pairedDataset("synthia", pairs, synthiaTable(options.protocol ?? "16"), {
    labelFirstChannel: true,
  });
}

/**
 * The digits benchmark as a data set: `length` scenes of one split and
 * domain, each a pure function of `key` and its index.
 *
 * @example
 * ```ts ignore
 * const target = digitsDataset(await loadDigitsBenchmark(), key(0), { split: "eval", domain: "target", length: 600 });
 * ```
 */
export function digitsDataset(
  bench: DigitsBenchmark,
  k: Key,
  where: { split: DigitsSplit; domain: "source" | "target"; length: number },
  options: DigitsOptions = {},
): Dataset {
  if (!Number.isInteger(where.length) || where.length < 1) {
    throw new Error(`digits: a data set needs a positive length, got ${where.length}`);
  }
  return {
    description: `${bench.glyphs} ${where.split} ${where.domain}${
      where.domain === "target" && options.shift === "per-class" ? " (per-class shift)" : ""
    }`,
    length: where.length,
    classes: digitsTable(bench.glyphs),
    get(index) {
      if (!(index >= 0 && index < where.length)) {
        return Promise.reject(new RangeError(`digits: no sample ${index} (of ${where.length})`));
      }
      const scene = bench.scene(k, index, where, options);
      return Promise.resolve({
        name: `${where.split}-${where.domain}-${index}`,
        width: scene.width,
        height: scene.height,
        image: scene.image,
        label: scene.label,
        style: scene.style,
      });
    },
  };
}
