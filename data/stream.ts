/**
 * From a data set to training batches: a seeded order, seeded augmentations
 * (random scale, crop, horizontal flip), the normalisation the backbone
 * expects, and a prefetching iterator that can start at any position (for an
 * exact resume).
 *
 * Sample t of a stream (t = 0, 1, …) is element `order_e[t mod n]` of epoch
 * e = ⌊t/n⌋, where order_e is a permutation drawn from `foldIn(key, e)` (or
 * the identity when `shuffle` is off); its augmentation draws from
 * `foldIn(augmentKey, t)`. Both are pure functions of the key and t.
 *
 * @example
 * ```ts ignore
 * const stream = batches(dataset, { key: key(0), batchSize: 2, crop: [321, 321], scale: [0.5, 1.5], flip: true });
 * for await (const batch of stream) { ... batch.images.dispose(); batch.labels?.dispose(); }
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { foldIn, type Key, permutation, split, uniformValues } from "../lib/random.ts";
import { IGNORE } from "./labels.ts";
import type { Dataset, Sample } from "./datasets.ts";

/** How pixels are scaled for the backbone. */
export type Normalisation = "imagenet" | "symmetric" | "unit" | "caffe";

/** Stream options. */
export interface StreamOptions {
  /** The key of the order and the augmentations. */
  key: Key;
  /** Samples per batch. */
  batchSize: number;
  /** Shuffle every epoch (default true). */
  shuffle?: boolean;
  /** Random rescaling range (default none: [1, 1]). */
  scale?: [number, number];
  /** Random crop [height, width] (default none: whole images, which must then share a size). */
  crop?: [number, number];
  /** Random horizontal flips (default false). */
  flip?: boolean;
  /**
   * "imagenet": (x/255 − mean)/std with ImageNet's statistics (ResNet);
   * "symmetric": x/127.5 − 1 (Keras MobileNetV2); "unit": x/255; "caffe":
   * the channels in BGR order minus Caffe's ImageNet means (104.00698793,
   * 116.66876762, 122.67891434), unscaled, as DeepLab-V2's Caffe weights
   * and AdaptSegNet expect.
   * Default "imagenet".
   */
  normalise?: Normalisation;
  /** The first sample's position t (default 0), for resuming. */
  start?: number;
  /** Stop after this many batches (default: one pass over the data set). */
  batches?: number;
  /** Batches read ahead (default 2). */
  prefetch?: number;
}

/** One batch. */
export interface Batch {
  /** Images [N, H, W, 3], normalised. */
  images: Tensor;
  /** Class indices [N, H, W] (int32, 255 = ignore) where the data set is labelled. */
  labels?: Tensor;
  /** Each sample's name and sub-style. */
  samples: { name: string; style?: string }[];
  /** The stream position after this batch (pass as `start` to resume). */
  next: number;
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const CAFFE_BGR_MEAN = [104.00698793, 116.66876762, 122.67891434];

/** Bilinear resize of RGB bytes. */
function resizeImage(rgb: Uint8Array, w: number, h: number, nw: number, nh: number): Uint8Array {
  const out = new Uint8Array(nw * nh * 3);
  for (let y = 0; y < nh; y++) {
    const sy = Math.max(0, Math.min(h - 1, ((y + 0.5) * h) / nh - 0.5));
    const y0 = Math.floor(sy), y1 = Math.min(h - 1, y0 + 1), fy = sy - y0;
    for (let x = 0; x < nw; x++) {
      const sx = Math.max(0, Math.min(w - 1, ((x + 0.5) * w) / nw - 0.5));
      const x0 = Math.floor(sx), x1 = Math.min(w - 1, x0 + 1), fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const top = rgb[(y0 * w + x0) * 3 + c] * (1 - fx) + rgb[(y0 * w + x1) * 3 + c] * fx;
        const bottom = rgb[(y1 * w + x0) * 3 + c] * (1 - fx) + rgb[(y1 * w + x1) * 3 + c] * fx;
        out[(y * nw + x) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

/** Nearest-neighbour resize of a label map. */
function resizeLabel(label: Uint8Array, w: number, h: number, nw: number, nh: number): Uint8Array {
  const out = new Uint8Array(nw * nh);
  for (let y = 0; y < nh; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / nh));
    for (let x = 0; x < nw; x++) {
      out[y * nw + x] = label[sy * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / nw))];
    }
  }
  return out;
}

/**
 * Applies the seeded augmentations to one sample: rescale, crop (padding with
 * black pixels and ignored labels where the image is smaller), flip.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { augment } from "./stream.ts";
 * import { random } from "../mod.ts";
 * const s = { name: "x", width: 4, height: 2, image: new Uint8Array(24), label: new Uint8Array(8) };
 * assert.deepEqual(augment(s, random.key(0), { crop: [3, 3], flip: true }).width, 3);
 * ```
 */
export function augment(
  sample: Sample,
  k: Key,
  options: Pick<StreamOptions, "scale" | "crop" | "flip">,
): Sample {
  const [s, cy, cx, f] = uniformValues(k, 4);
  let { width: w, height: h, image, label } = sample;
  const [lo, hi] = options.scale ?? [1, 1];
  if (!(lo > 0 && hi >= lo)) {
    throw new Error(`augment: scale must be [min > 0, max ≥ min], got [${lo}, ${hi}]`);
  }
  const factor = lo + (hi - lo) * s;
  if (factor !== 1) {
    const nw = Math.max(1, Math.round(w * factor)), nh = Math.max(1, Math.round(h * factor));
    image = resizeImage(image, w, h, nw, nh);
    if (label) label = resizeLabel(label, w, h, nw, nh);
    [w, h] = [nw, nh];
  }
  if (options.crop) {
    const [ch, cw] = options.crop;
    const y0 = Math.floor(cy * Math.max(0, h - ch + 1)),
      x0 = Math.floor(cx * Math.max(0, w - cw + 1));
    const img = new Uint8Array(ch * cw * 3);
    const lab = label ? new Uint8Array(ch * cw).fill(IGNORE) : undefined;
    for (let y = 0; y < Math.min(ch, h - y0); y++) {
      const from = (y0 + y) * w + x0, n = Math.min(cw, w - x0);
      img.set(image.subarray(from * 3, (from + n) * 3), y * cw * 3);
      if (lab && label) lab.set(label.subarray(from, from + n), y * cw);
    }
    [image, label, w, h] = [img, lab, cw, ch];
  }
  if (options.flip && f < 0.5) {
    const img = new Uint8Array(image.length);
    const lab = label ? new Uint8Array(label.length) : undefined;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const to = y * w + x, from = y * w + (w - 1 - x);
        img.set(image.subarray(from * 3, from * 3 + 3), to * 3);
        if (lab && label) lab[to] = label[from];
      }
    }
    [image, label] = [img, lab];
  }
  return { ...sample, width: w, height: h, image, label };
}

/**
 * Pixels → float32 for the backbone: "imagenet" (x/255 − mean)/std with
 * ImageNet's RGB statistics (ResNet); "symmetric" x/127.5 − 1
 * (MobileNetV2); "unit" x/255; "caffe" BGR minus Caffe's means, unscaled
 * (DeepLab-V2's Caffe weights). The channel order of the output is RGB
 * except for "caffe".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalise } from "../mod.ts";
 * assert.deepEqual(normalise(new Uint8Array([255, 0, 51]), "symmetric"), Float32Array.from([1, -1, -0.6]));
 * ```
 */
export function normalise(rgb: Uint8Array, how: Normalisation): Float32Array {
  const out = new Float32Array(rgb.length);
  if (how === "caffe") {
    for (let i = 0; i < rgb.length; i += 3) {
      out[i] = rgb[i + 2] - CAFFE_BGR_MEAN[0];
      out[i + 1] = rgb[i + 1] - CAFFE_BGR_MEAN[1];
      out[i + 2] = rgb[i] - CAFFE_BGR_MEAN[2];
    }
    return out;
  }
  for (let i = 0; i < rgb.length; i++) {
    const v = rgb[i];
    out[i] = how === "unit"
      ? v / 255
      : how === "symmetric"
      ? v / 127.5 - 1
      : (v / 255 - MEAN[i % 3]) / STD[i % 3];
  }
  return out;
}

/**
 * The data-set index of stream position t.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { streamIndex } from "./stream.ts";
 * import { random } from "../mod.ts";
 * assert.deepEqual(streamIndex(random.key(0), 5, 3, false), 3); // unshuffled: position t is sample t mod n
 * assert.deepEqual(streamIndex(random.key(0), 5, 8, false), 3);
 * ```
 */
export function streamIndex(k: Key, length: number, t: number, shuffle: boolean): number {
  if (!shuffle) return t % length;
  const epoch = Math.floor(t / length);
  if (cachedOrder?.key !== k || cachedOrder.length !== length || cachedOrder.epoch !== epoch) {
    cachedOrder = { key: k, length, epoch, order: permutation(foldIn(k, epoch), length) };
  }
  return cachedOrder.order[t % length];
}

// The last epoch's permutation, kept because consecutive positions share it.
let cachedOrder: { key: Key; length: number; epoch: number; order: Int32Array } | undefined;

/**
 * A prefetching iterator of batches over a data set.
 *
 * @example
 * ```ts ignore
 * for await (const batch of batches(dataset, { key: key(1), batchSize: 4 })) { ... }
 * ```
 */
export async function* batches(dataset: Dataset, options: StreamOptions): AsyncGenerator<Batch> {
  const size = options.batchSize;
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`stream: batchSize must be a positive integer, got ${size}`);
  }
  const shuffle = options.shuffle ?? true;
  const [orderKey, augmentKey] = split(options.key);
  const start = options.start ?? 0;
  const total = options.batches ?? Math.ceil(dataset.length / size);
  const how = options.normalise ?? "imagenet";
  const indexAt = (t: number) => streamIndex(orderKey, dataset.length, t, shuffle);
  const load = async (b: number) => {
    const first = start + b * size;
    const indices = Array.from({ length: size }, (_, i) => indexAt(first + i));
    const samples = await Promise.all(
      indices.map(async (index, i) =>
        augment(await dataset.get(index), foldIn(augmentKey, first + i), options)
      ),
    );
    return { samples, indices, next: first + size };
  };
  const ahead = Math.max(1, options.prefetch ?? 2);
  const queue: Promise<Awaited<ReturnType<typeof load>>>[] = [];
  // A batch read ahead may fail before it is awaited: its error reaches the
  // consumer when it asks for that batch, never as an unhandled rejection.
  const enqueue = (b: number) => {
    const pending = load(b);
    pending.catch(() => {});
    queue.push(pending);
  };
  for (let b = 0; b < Math.min(ahead, total); b++) enqueue(b);
  for (let b = 0; b < total; b++) {
    const { samples, indices, next } = await queue.shift()!;
    if (b + ahead < total) enqueue(b + ahead);
    const { width, height } = samples[0];
    // Where a sample came from, for the error only (not built for every batch).
    const where = (i: number) =>
      dataset.files?.[indices[i]] ?? `${dataset.description}, sample ${indices[i]}`;
    samples.forEach((s, i) => {
      if (s.width !== width || s.height !== height) {
        throw new Error(
          `images of one batch differ in size: ${where(i)} is ${s.width}×${s.height}, ` +
            `${where(0)} ${width}×${height} (after augmentation). Give a crop size ` +
            "(--crop N, at most the smallest image's side) or make the images one size",
        );
      }
    });
    const pixels = new Float32Array(size * width * height * 3);
    samples.forEach((s, i) => pixels.set(normalise(s.image, how), i * width * height * 3));
    const labelled = samples.every((s) => s.label);
    let labels: Tensor | undefined;
    if (labelled) {
      const ids = new Int32Array(size * width * height);
      samples.forEach((s, i) => ids.set(s.label!, i * width * height));
      labels = tf.tensor3d(ids, [size, height, width], "int32");
    }
    yield {
      images: tf.tensor4d(pixels, [size, height, width, 3]),
      labels,
      samples: samples.map((s) => ({ name: s.name, style: s.style })),
      next,
    };
  }
}

/** What of a data plan says how its training batches are drawn. */
export interface TrainingDraw {
  /** Shuffled order. */
  shuffle: boolean;
  /** Random crop [height, width], if any. */
  crop?: [number, number];
  /** Random rescaling range, if any. */
  scale?: [number, number];
  /** Random horizontal flips. */
  flip: boolean;
  /** How images are scaled for G. */
  normalise: Normalisation;
}

/**
 * The training batches of a data set as a plan draws them (its order,
 * augmentations and normalisation), so that every trainer of a run (the CLI's
 * phases, the page's live adaptation) reads the same batches.
 *
 * @example
 * ```ts ignore
 * const sources = trainingBatches(plan.source, plan, { key: keys.source, batchSize: 8 });
 * ```
 */
export function trainingBatches(
  dataset: Dataset,
  draw: TrainingDraw,
  options: Pick<StreamOptions, "key" | "batchSize" | "start" | "batches">,
): AsyncGenerator<Batch> {
  const { shuffle, crop, scale, flip, normalise } = draw;
  return batches(dataset, { ...options, shuffle, crop, scale, flip, normalise });
}
