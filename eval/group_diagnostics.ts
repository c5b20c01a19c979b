/**
 * Whether CDGA's grouping groups the right things, measured on labelled
 * held-out data (for diagnosis only: nothing here is trained on). For a
 * trained G and C on a labelled split, with A = C(P, feature) the soft
 * assignment and Y the one-hot labels at G's output resolution:
 *
 *     classMass[k][c] = Σ_i A[i,k] · Y[i,c]     (class c's pixels in group k)
 *     styleMass[s][k] = Σ_{i in sub-domain s} A[i,k]
 *
 * From these, each group's class make-up (the share of class c's pixels
 * that group k holds: m_k[c] = classMass[k][c] / Σ_k classMass[k][c]), its
 * sub-domain make-up, and the agreement between a group's source and target
 * class distributions, the quantity L_sc drives: with the class-balanced
 * q_k[c] = m_k[c] / Σ_c' m_k[c'] over the classes present in both domains,
 * ‖q_k^s − q_k^t‖₁ per group (0: the group holds the same classes in both
 * domains; 2: disjoint).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupAgreement } from "./group_diagnostics.ts";
 * // Two groups, two classes: group 0 holds class 0 in both domains, group 1 class 1.
 * const same = { classMass: [[4, 0], [0, 2]], pixels: 6, styleMass: {} };
 * assert.deepEqual(groupAgreement(same, same), [0, 0]);
 * ```
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import { applyDeepLab, type DeepLabConfig, type DeepLabParams } from "../model/deeplab.ts";
import { applyGrouping, type GroupingConfig, type GroupingParams } from "../model/grouping.ts";
import type { Dataset } from "../data/datasets.ts";
import { type Normalisation, normalise } from "../data/stream.ts";
import { yieldToEventLoop } from "./segmentation.ts";

/** Assignment mass of a labelled split, summed over its pixels. */
export interface GroupMass {
  /** [K][C]: Σ A[i,k] over class c's pixels. */
  classMass: number[][];
  /** Pixels counted (ignored labels left out). */
  pixels: number;
  /** Per sub-domain, [K]: Σ A[i,k] over its pixels. */
  styleMass: Record<string, number[]>;
}

/**
 * Sums G and C's soft assignments over a labelled data set (G in evaluation
 * mode), labels taken by nearest neighbour at G's output resolution.
 *
 * @example
 * ```ts ignore
 * const mass = await groupMass(params.seg, params.group, segConfig, groupingConfig, data.validation, { normalise: "imagenet" });
 * ```
 */
export async function groupMass(
  seg: DeepLabParams,
  group: GroupingParams,
  segConfig: DeepLabConfig,
  grouping: GroupingConfig,
  data: Dataset,
  options: { normalise: Normalisation; batch?: number; samples?: number },
): Promise<GroupMass> {
  const classes = grouping.classes, k = grouping.groups;
  const classMass = Array.from({ length: k }, () => new Array<number>(classes).fill(0));
  const styleMass: Record<string, number[]> = {};
  let pixels = 0;
  const count = Math.min(options.samples ?? data.length, data.length);
  for (let index = 0; index < count; index++) {
    if (index % 16 === 0) await yieldToEventLoop();
    // One image at a time: split images may differ in size.
    const sample = await data.get(index);
    if (!sample.label) {
      throw new Error(`${data.description}: ${sample.name} has no labels to diagnose groups with`);
    }
    const { width: w, height: h } = sample;
    const [assignments, labels] = tf.tidy(() => {
      const image = tf.tensor4d(normalise(sample.image, options.normalise), [1, h, w, 3]);
      const { logits, feature } = applyDeepLab(seg, image, segConfig);
      const a = applyGrouping(group, { probs: tf.softmax(logits), feature }, grouping);
      const [, oh, ow] = a.shape;
      const label = tf.tensor4d(Float32Array.from(sample.label!), [1, h, w, 1]);
      const small = tf.image.resizeNearestNeighbor(label, [oh!, ow!], false, true);
      return [a, small];
    });
    const a = await assignments.data(), y = await labels.data();
    tf.dispose([assignments, labels]);
    const style = styleMass[sample.style ?? "all"] ??= new Array<number>(k).fill(0);
    for (let i = 0; i < y.length; i++) {
      const c = y[i];
      if (!(c >= 0 && c < classes)) continue;
      pixels++;
      for (let g = 0; g < k; g++) {
        classMass[g][c] += a[i * k + g];
        style[g] += a[i * k + g];
      }
    }
  }
  return { classMass, pixels, styleMass };
}

/**
 * m_k[c]: the share of class c's pixels held by group k (each present
 * class's column sums to 1 over groups; an absent class's is 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classShares } from "./group_diagnostics.ts";
 * assert.deepEqual(classShares([[3, 0], [1, 0]]), [[0.75, 0], [0.25, 0]]);
 * ```
 */
export function classShares(classMass: readonly (readonly number[])[]): number[][] {
  const classes = classMass[0]?.length ?? 0;
  const totals = Array.from({ length: classes }, (_, c) => classMass.reduce((s, r) => s + r[c], 0));
  return classMass.map((row) => row.map((v, c) => (totals[c] > 0 ? v / totals[c] : 0)));
}

/**
 * Per group, the share of each sub-domain's pixels it holds, [K] per
 * sub-domain (each sub-domain's shares sum to 1 over groups).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { styleShares } from "./group_diagnostics.ts";
 * assert.deepEqual(styleShares({ a: [1, 3] }), { a: [0.25, 0.75] });
 * ```
 */
export function styleShares(
  styleMass: Readonly<Record<string, number[]>>,
): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(styleMass).map(([style, mass]) => {
      const total = mass.reduce((a, b) => a + b, 0);
      return [style, mass.map((v) => (total > 0 ? v / total : 0))];
    }),
  );
}

/**
 * ‖q_k^s − q_k^t‖₁ per group, with q_k the class-balanced class
 * distribution of group k over the classes present in both domains (a group
 * holding none of them in a domain counts as uniform there).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupAgreement } from "./group_diagnostics.ts";
 * const source = { classMass: [[4, 0], [0, 2]], pixels: 6, styleMass: {} };
 * const swapped = { classMass: [[0, 4], [2, 0]], pixels: 6, styleMass: {} };
 * assert.deepEqual(groupAgreement(source, swapped), [2, 2]);
 * ```
 */
export function groupAgreement(source: GroupMass, target: GroupMass): number[] {
  const ms = classShares(source.classMass), mt = classShares(target.classMass);
  const classes = ms[0]?.length ?? 0;
  const present = Array.from(
    { length: classes },
    (_, c) => source.classMass.some((r) => r[c] > 0) && target.classMass.some((r) => r[c] > 0),
  );
  const shared = present.filter(Boolean).length;
  const distribution = (row: number[]) => {
    const kept = row.map((v, c) => (present[c] ? v : 0));
    const total = kept.reduce((a, b) => a + b, 0);
    return kept.map((v, c) => (total > 0 ? v / total : present[c] ? 1 / shared : 0));
  };
  return ms.map((row, k) => {
    const qs = distribution(row), qt = distribution(mt[k]);
    return qs.reduce((sum, v, c) => sum + Math.abs(v - qt[c]), 0);
  });
}
