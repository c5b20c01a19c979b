/**
 * Segmentation metrics from a confusion matrix accumulated over a stream.
 *
 *     IoU_c = TP_c / (TP_c + FP_c + FN_c),   mIoU = mean of IoU_c over the classes considered,
 *     pixel accuracy = Σ_c TP_c / Σ labelled pixels
 *
 * Pixels labelled 255 (ignore) are not counted. A class that appears neither
 * in the labels nor in the predictions has no IoU (NaN) and is left out of
 * the mean, as the papers' nanmean does. Protocol subsets (Cityscapes' 16
 * and 13 classes) are read off the same matrix by class name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfusionMatrix } from "../mod.ts";
 * const m = new ConfusionMatrix(3);
 * m.add(new Uint8Array([0, 1, 2, 2]), new Uint8Array([0, 1, 1, 255]));
 * assert.deepEqual(m.iou(), [1, 0.5, 0]);
 * ```
 *
 * @module
 */

/**
 * A C×C confusion matrix: rows are labels, columns predictions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfusionMatrix } from "../mod.ts";
 * // Labels [0, 0, 1, 1] predicted as [0, 1, 1, 1]: IoU 1/2 for class 0, 2/3 for class 1.
 * const matrix = new ConfusionMatrix(2).add([0, 1, 1, 1], [0, 0, 1, 1]); // (prediction, label)
 * assert.equal(matrix.meanIoU().toFixed(4), ((1 / 2 + 2 / 3) / 2).toFixed(4));
 * ```
 */
export class ConfusionMatrix {
  /** Number of classes. */
  readonly classes: number;
  /** Counts, row-major (label × prediction). */
  readonly counts: Float64Array;

  /** An empty matrix for `classes` classes. */
  constructor(classes: number) {
    if (!Number.isInteger(classes) || classes < 1) {
      throw new Error(`metrics: classes must be ≥ 1, got ${classes}`);
    }
    this.classes = classes;
    this.counts = new Float64Array(classes * classes);
  }

  /**
   * Adds one prediction map and its labels (same length). Labels 255 are
   * skipped; any other label or prediction outside [0, C) is an error.
   */
  add(prediction: ArrayLike<number>, label: ArrayLike<number>, ignore = 255): this {
    if (prediction.length !== label.length) {
      throw new Error(`metrics: ${prediction.length} predictions for ${label.length} labels`);
    }
    const c = this.classes;
    for (let i = 0; i < label.length; i++) {
      const y = label[i];
      if (y === ignore) continue;
      const p = prediction[i];
      if (!(y >= 0 && y < c && p >= 0 && p < c)) {
        throw new Error(
          `metrics: label ${y} or prediction ${p} outside 0 … ${c - 1} at pixel ${i}`,
        );
      }
      this.counts[y * c + p]++;
    }
    return this;
  }

  /** Adds another matrix's counts. */
  merge(other: ConfusionMatrix): this {
    if (other.classes !== this.classes) {
      throw new Error("metrics: merging matrices of different sizes");
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  /** IoU of every class (NaN where a class is absent from labels and predictions). */
  iou(): number[] {
    const c = this.classes;
    return Array.from({ length: c }, (_, k) => {
      let row = 0, column = 0;
      for (let j = 0; j < c; j++) {
        row += this.counts[k * c + j];
        column += this.counts[j * c + k];
      }
      const tp = this.counts[k * c + k];
      const union = row + column - tp;
      return union > 0 ? tp / union : NaN;
    });
  }

  /** Mean IoU over the given class indices (default all), NaNs left out. */
  meanIoU(subset?: readonly number[]): number {
    const iou = this.iou();
    const values = (subset ?? iou.map((_, i) => i)).map((i) => iou[i]).filter((v) =>
      !Number.isNaN(v)
    );
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
  }

  /** Correct pixels over labelled pixels. */
  pixelAccuracy(): number {
    let correct = 0, total = 0;
    for (let k = 0; k < this.classes; k++) correct += this.counts[k * this.classes + k];
    for (const v of this.counts) total += v;
    return total > 0 ? correct / total : NaN;
  }
}

/** A named evaluation: per-class IoU, mIoU per protocol, pixel accuracy. */
export interface Evaluation {
  /** The class names, in matrix order. */
  classes: string[];
  /** IoU per class (NaN: absent). */
  iou: number[];
  /** mIoU over all classes, and over each protocol that applies. */
  miou: Record<string, number>;
  /** Pixel accuracy. */
  pixelAccuracy: number;
  /** Labelled pixels counted. */
  pixels: number;
}

/**
 * Summarises a matrix; `protocols` maps a protocol's name to its class
 * names; a protocol applies when all its classes are in the matrix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfusionMatrix, evaluate } from "../mod.ts";
 * const m = new ConfusionMatrix(2).add([0, 1], [0, 1]);
 * assert.deepEqual(evaluate(m, ["a", "b"]).miou.all, 1);
 * ```
 */
export function evaluate(
  matrix: ConfusionMatrix,
  names: string[],
  protocols: Record<string, readonly string[]> = {},
): Evaluation {
  if (names.length !== matrix.classes) {
    throw new Error(`metrics: ${names.length} names for ${matrix.classes} classes`);
  }
  const miou: Record<string, number> = { all: matrix.meanIoU() };
  for (const [name, members] of Object.entries(protocols)) {
    const indices = members.map((m) => names.indexOf(m));
    if (indices.every((i) => i >= 0) && indices.length !== names.length) {
      miou[name] = matrix.meanIoU(indices);
    }
  }
  return {
    classes: names,
    iou: matrix.iou(),
    miou,
    pixelAccuracy: matrix.pixelAccuracy(),
    pixels: matrix.counts.reduce((a, b) => a + b, 0),
  };
}
