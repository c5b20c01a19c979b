/**
 * Prediction at the input size: G's stride-8 logits upsampled bilinearly
 * (PyTorch's `align_corners=False`, as training and evaluation do) and turned
 * into a label map, optionally with the class probabilities.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initDeepLab, predict, random, tf } from "../mod.ts";
 *
 * const config = { depth: 18 as const, width: 0.125, classes: 3 };
 * const params = initDeepLab(random.key(0), config);
 * const images = tf.zeros([2, 24, 32, 3]) as tf.Tensor4D;
 * const { labels, probabilities } = predict(params, config, images, { probabilities: true });
 * assert.deepEqual([labels.shape, labels.dtype, probabilities?.shape], [[2, 24, 32], "int32", [2, 24, 32, 3]]);
 * tf.dispose([images, labels, probabilities!]);
 * ```
 *
 * @module
 */
import { type Tensor, type Tensor3D, type Tensor4D, tf } from "../lib/tf.ts";
import { applyDeepLab, type DeepLabConfig, type DeepLabParams } from "./deeplab.ts";

/** What {@linkcode predict} returns. */
export interface Prediction {
  /** The class of every pixel, int32 [N, H, W] at the images' size. */
  labels: Tensor3D;
  /** The softmax over classes, [N, H, W, C] at the images' size, when asked for. */
  probabilities?: Tensor4D;
}

/** Options of {@linkcode predict}. */
export interface PredictOptions {
  /** Also return the class probabilities (default false). */
  probabilities?: boolean;
  /**
   * Images per forward pass (default: all at once). Smaller batches bound
   * the memory of large inputs; batch norm uses running statistics in
   * evaluation, so the result does not depend on it.
   */
  batchSize?: number;
  /**
   * Tiled (sliding-window) inference for images larger than `tile` × `tile`
   * pixels (a multiple of 8): G runs on one window at a time, so the memory
   * of its forward pass is bounded by the tile, not the image. Windows start
   * on G's stride-8 grid and overlap by `overlap` pixels; each stride-8 cell
   * takes its logits from the window it lies deepest inside (the centre of
   * every overlap is the seam), and the stitched stride-8 logits are
   * upsampled to the image in bands of rows as whole-image inference does.
   * An image that fits in one tile is predicted whole, with the same labels
   * as without the option. Default: no tiling.
   */
  tile?: number;
  /** Pixels shared by neighbouring windows, a multiple of 8 below `tile` (default: a quarter of `tile`, rounded down to a multiple of 8). */
  overlap?: number;
}

/** One axis of a tiled prediction: the windows' starts and the stride-8 cells each one owns. */
export interface TileAxis {
  /** The window's first pixel on this axis, a multiple of 8, for each window. */
  starts: number[];
  /** The window's extent in pixels (the tile, or the padded image where that is smaller). */
  extent: number;
  /** The stride-8 cells [from, to) each window's logits fill, partitioning the axis's cells. */
  owned: [number, number][];
}

/**
 * The windows along one axis of `size` pixels for tiles of `tile` pixels
 * overlapping by `overlap` (both multiples of 8): starts on the stride-8
 * grid, the last window flush with the padded end, and the seams at the
 * centres of the overlaps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tileAxis } from "./predict.ts";
 * const axis = tileAxis(100, 48, 16);
 * assert.deepEqual(axis.starts, [0, 32, 56]);
 * assert.deepEqual(axis.owned, [[0, 5], [5, 8], [8, 13]]);
 * ```
 */
export function tileAxis(size: number, tile: number, overlap: number): TileAxis {
  const padded = Math.ceil(size / 8) * 8;
  const extent = Math.min(tile, padded);
  const starts = [0];
  while (starts.at(-1)! + extent < padded) {
    starts.push(Math.min(starts.at(-1)! + extent - overlap, padded - extent));
  }
  const cells = extent / 8;
  const owned: [number, number][] = starts.map((start, i) => {
    const from = i === 0 ? 0 : Math.floor((start / 8 + starts[i - 1] / 8 + cells) / 2);
    const next = starts[i + 1];
    const to = next === undefined ? padded / 8 : Math.floor((next / 8 + start / 8 + cells) / 2);
    return [from, to];
  });
  return { starts, extent, owned };
}

function checkTiling(tile: number, overlap: number): void {
  if (!Number.isInteger(tile) || tile < 16 || tile % 8 !== 0) {
    throw new Error(`predict: tile must be a multiple of 8, at least 16, got ${tile}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap % 8 !== 0 || overlap >= tile) {
    throw new Error(
      `predict: overlap must be a multiple of 8 from 0 to below the tile (${tile}), got ${overlap}`,
    );
  }
}

/**
 * Bilinear upsampling of logits [h8, w8, C] to [h, w] as
 * `resizeBilinear(…, alignCorners false, halfPixelCenters true)` computes
 * it, done in bands of rows so that no [h, w, C] tensor exists; returns the
 * argmax labels [h, w] (int32) and, if asked, the softmax [h, w, C]. The
 * caller disposes both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upsampleLogits } from "./predict.ts";
 * import { tf } from "../mod.ts";
 * const cells = tf.randomNormal([3, 5, 4]) as tf.Tensor3D;
 * const [labels] = upsampleLogits(cells, 24, 37, false);
 * const whole = tf.argMax(tf.image.resizeBilinear(cells, [24, 37], false, true), -1);
 * assert.deepEqual(await labels.array(), await whole.array());
 * tf.dispose([cells, labels, whole]);
 * ```
 */
export function upsampleLogits(
  cells: Tensor3D,
  h: number,
  w: number,
  withProbabilities: boolean,
): [Tensor, Tensor | undefined] {
  const [h8, w8] = cells.shape;
  const source = (r: number, ratio: number, last: number) => {
    const frac = ratio * (r + 0.5) - 0.5;
    const low = Math.max(0, Math.floor(frac));
    return { low, high: Math.min(last, Math.ceil(frac)), t: frac - low };
  };
  const columns = Array.from({ length: w }, (_, c) => source(c, w8 / w, w8 - 1));
  const band = Math.max(1, Math.floor(2 ** 22 / Math.max(1, w * cells.shape[2])));
  const labelBands: Tensor[] = [], probabilityBands: Tensor[] = [];
  const colLow = tf.tensor1d(columns.map((c) => c.low), "int32");
  const colHigh = tf.tensor1d(columns.map((c) => c.high), "int32");
  const colT = tf.tensor3d(columns.map((c) => c.t), [1, w, 1]);
  for (let r0 = 0; r0 < h; r0 += band) {
    const rows = Array.from(
      { length: Math.min(band, h - r0) },
      (_, i) => source(r0 + i, h8 / h, h8 - 1),
    );
    const [labels, probabilities] = tf.tidy(() => {
      const alongColumns = (rowIndex: number[]) => {
        const picked = tf.gather(cells, tf.tensor1d(rowIndex, "int32"), 0);
        const left = tf.gather(picked, colLow, 1), right = tf.gather(picked, colHigh, 1);
        return tf.add(left, tf.mul(tf.sub(right, left), colT));
      };
      const top = alongColumns(rows.map((r) => r.low));
      const bottom = alongColumns(rows.map((r) => r.high));
      const rowT = tf.tensor3d(rows.map((r) => r.t), [rows.length, 1, 1]);
      const up = tf.add(top, tf.mul(tf.sub(bottom, top), rowT));
      return [tf.argMax(up, -1).toInt(), withProbabilities ? tf.softmax(up) : undefined];
    });
    labelBands.push(labels);
    if (probabilities) probabilityBands.push(probabilities);
  }
  tf.dispose([colLow, colHigh, colT]);
  const joined = (parts: Tensor[]) => {
    if (parts.length === 1) return parts[0];
    const out = tf.concat(parts, 0);
    tf.dispose(parts);
    return out;
  };
  return [joined(labelBands), withProbabilities ? joined(probabilityBands) : undefined];
}

/** One image [1, H, W, 3] by windows: stitched stride-8 logits, then upsampled in bands. */
function predictTiled(
  params: DeepLabParams,
  config: DeepLabConfig,
  image: Tensor4D,
  tile: number,
  overlap: number,
  withProbabilities: boolean,
): [Tensor, Tensor | undefined] {
  const [, h, w] = image.shape;
  const down = tileAxis(h, tile, overlap), across = tileAxis(w, tile, overlap);
  const rowsOfCells: Tensor[] = [];
  for (let i = 0; i < down.starts.length; i++) {
    const pieces: Tensor[] = [];
    for (let j = 0; j < across.starts.length; j++) {
      pieces.push(tf.tidy(() => {
        const y = down.starts[i], x = across.starts[j];
        const height = Math.min(down.extent, h - y), width = Math.min(across.extent, w - x);
        let window: Tensor4D = tf.slice(image, [0, y, x, 0], [1, height, width, 3]);
        if (height < down.extent || width < across.extent) {
          // Past the image's end (its size is not a multiple of 8): zeros, as G's own padding.
          window = tf.pad(window, [[0, 0], [0, down.extent - height], [0, across.extent - width], [
            0,
            0,
          ]]);
        }
        const logits = applyDeepLab(params, window, config).logits as Tensor4D;
        const [, lh, lw] = logits.shape;
        if (lh !== down.extent / 8 || lw !== across.extent / 8) {
          throw new Error(
            `predict: G gave ${lh}×${lw} logits for a ${down.extent}×${across.extent} window`,
          );
        }
        const [rowFrom, rowTo] = down.owned[i], [colFrom, colTo] = across.owned[j];
        return tf.slice(
          logits,
          [0, rowFrom - y / 8, colFrom - x / 8, 0],
          [1, rowTo - rowFrom, colTo - colFrom, -1],
        ).squeeze([0]);
      }));
    }
    rowsOfCells.push(pieces.length === 1 ? pieces[0] : tf.concat(pieces, 1));
    if (pieces.length > 1) tf.dispose(pieces);
  }
  const stitched =
    (rowsOfCells.length === 1 ? rowsOfCells[0] : tf.concat(rowsOfCells, 0)) as Tensor3D;
  if (rowsOfCells.length > 1) tf.dispose(rowsOfCells);
  // Whole-image inference upsamples ceil(H/8) cells to H pixels: the same here.
  const cells = tf.tidy(() =>
    tf.slice(stitched, [0, 0, 0], [Math.ceil(h / 8), Math.ceil(w / 8), -1]) as Tensor3D
  );
  stitched.dispose();
  const out = upsampleLogits(cells, h, w, withProbabilities);
  cells.dispose();
  return out;
}

/**
 * G in evaluation mode on a batch of images [N, H, W, 3] (normalised as G
 * was trained: `normalise`): the label map at the images' size, and the
 * probabilities if `options.probabilities`. The caller disposes the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initDeepLab, predict, random, tf } from "../mod.ts";
 *
 * const config = { depth: 18 as const, width: 0.125, classes: 4 };
 * const params = initDeepLab(random.key(1), config);
 * const images = tf.randomNormal([3, 16, 16, 3]) as tf.Tensor4D;
 * const whole = predict(params, config, images).labels;
 * const inTwos = predict(params, config, images, { batchSize: 2 }).labels;
 * assert.deepEqual(await whole.array(), await inTwos.array());
 * tf.dispose([images, whole, inTwos]);
 * ```
 */
export function predict(
  params: DeepLabParams,
  config: DeepLabConfig,
  images: Tensor4D,
  options: PredictOptions = {},
): Prediction {
  if (images.rank !== 4 || images.shape[3] !== 3) {
    throw new Error(`predict: images must be [N, H, W, 3], got [${images.shape}]`);
  }
  const batchSize = options.batchSize ?? images.shape[0];
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`predict: batchSize must be an integer ≥ 1, got ${batchSize}`);
  }
  const [n, h, w] = images.shape;
  const labels: Tensor3D[] = [];
  const probabilities: Tensor4D[] = [];
  if (options.tile !== undefined) {
    const overlap = options.overlap ?? Math.floor(options.tile / 32) * 8;
    checkTiling(options.tile, overlap);
    if (h > options.tile || w > options.tile) {
      for (let i = 0; i < n; i++) {
        const image = n === 1 ? images : tf.slice(images, [i, 0, 0, 0], [1, h, w, 3]);
        const [l, p] = predictTiled(
          params,
          config,
          image,
          options.tile,
          overlap,
          !!options.probabilities,
        );
        if (image !== images) image.dispose();
        labels.push(tf.tidy(() => l.expandDims(0)) as Tensor3D);
        l.dispose();
        if (p) {
          probabilities.push(tf.tidy(() => p.expandDims(0)) as Tensor4D);
          p.dispose();
        }
      }
      return finish(labels, probabilities, !!options.probabilities);
    }
  } else if (options.overlap !== undefined) {
    throw new Error("predict: overlap applies to tiled inference; give a tile too");
  }
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const [l, p] = tf.tidy(() => {
      const part = size === n ? images : tf.slice(images, [start, 0, 0, 0], [size, h, w, 3]);
      const { logits } = applyDeepLab(params, part, config);
      const up = tf.image.resizeBilinear(logits as Tensor4D, [h, w], false, true);
      const classes = tf.argMax(up, -1).toInt() as Tensor3D;
      return [classes, options.probabilities ? tf.softmax(up) as Tensor4D : undefined];
    });
    labels.push(l);
    if (p) probabilities.push(p);
  }
  return finish(labels, probabilities, !!options.probabilities);
}

function finish(
  labels: Tensor3D[],
  probabilities: Tensor4D[],
  withProbabilities: boolean,
): Prediction {
  const join = <T extends Tensor>(parts: T[]): T => {
    if (parts.length === 1) return parts[0];
    const joined = tf.concat(parts, 0) as T;
    tf.dispose(parts);
    return joined;
  };
  return {
    labels: join(labels),
    ...(withProbabilities ? { probabilities: join(probabilities) } : {}),
  };
}
