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
import {
  applyGrouping,
  cellAppearance,
  type GroupingConfig,
  type GroupingParams,
} from "../model/grouping.ts";
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
      const appearance = (grouping.appearanceChannels ?? 0) > 0
        ? cellAppearance(image, [logits.shape[1]!, logits.shape[2]!])
        : undefined;
      const a = applyGrouping(group, { probs: tf.softmax(logits), feature, appearance }, grouping);
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

/** Distances below which two groups' class distributions count as the same (L1, of 2). */
export const DUPLICATE_DISTANCE = 0.5;

/** Total class share (Σ_c m_k[c], in classes) below which a group counts as empty. */
export const EMPTY_GROUP_SHARE = 0.01;

/** How many distinct groups a grouping has, and which pairs duplicate each other. */
export interface GroupDistinctness {
  /** Groups holding at least {@linkcode EMPTY_GROUP_SHARE} of the classes' pixels in all. */
  used: number;
  /** Groups once duplicates are merged (connected components of the duplicate pairs). */
  distinct: number;
  /** Pairs [k, l], k < l, of used groups within {@linkcode DUPLICATE_DISTANCE} of each other. */
  duplicates: [number, number][];
}

/**
 * Distinct groups and duplicate pairs from class shares m [K][C] (each
 * class's pixels over groups, {@linkcode classShares}): group k's class
 * distribution is its row normalised over classes (every class weighing the
 * same, as L_orth's class-balanced q_k), and two used groups whose
 * distributions are within {@linkcode DUPLICATE_DISTANCE} in L1 are
 * duplicates.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupDistinctness } from "./group_diagnostics.ts";
 * // Groups 0 and 1 each hold half of class 0; group 2 holds class 1; group 3 nothing.
 * const shares = [[0.5, 0], [0.5, 0], [0, 1], [0, 0]];
 * assert.deepEqual(groupDistinctness(shares), { used: 3, distinct: 2, duplicates: [[0, 1]] });
 * ```
 */
export function groupDistinctness(shares: readonly (readonly number[])[]): GroupDistinctness {
  const totals = shares.map((row) => row.reduce((a, b) => a + b, 0));
  const used = shares.map((_, k) => k).filter((k) => totals[k] >= EMPTY_GROUP_SHARE);
  const q = shares.map((row, k) => row.map((v) => (totals[k] > 0 ? v / totals[k] : 0)));
  const duplicates: [number, number][] = [];
  const root = shares.map((_, k) => k);
  const find = (k: number): number => (root[k] === k ? k : (root[k] = find(root[k])));
  for (const [i, k] of used.entries()) {
    for (const l of used.slice(i + 1)) {
      const distance = q[k].reduce((s, v, c) => s + Math.abs(v - q[l][c]), 0);
      if (distance < DUPLICATE_DISTANCE) {
        duplicates.push([k, l]);
        root[find(l)] = find(k);
      }
    }
  }
  const distinct = new Set(used.map(find)).size;
  return { used: used.length, distinct, duplicates };
}

/**
 * The adjusted Rand index (Hubert & Arabie 1985) of two labellings of the
 * same items: 1 for the same partition, about 0 for independent ones,
 * negative below chance. Two partitions that are each a single cluster (or
 * each all singletons) agree fully: 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adjustedRandIndex } from "./group_diagnostics.ts";
 * assert.equal(adjustedRandIndex([0, 0, 1, 1], [5, 5, 7, 7]), 1);
 * assert.ok(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]) < 0);
 * assert.throws(() => adjustedRandIndex([0], [0, 1]), /same items/);
 * ```
 */
export function adjustedRandIndex(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) {
    throw new Error(
      `adjustedRandIndex: two labellings of the same items, got ${a.length} and ${b.length}`,
    );
  }
  const pairs = (n: number) => (n * (n - 1)) / 2;
  const count = (labels: readonly number[]) => {
    const m = new Map<number, number>();
    for (const v of labels) m.set(v, (m.get(v) ?? 0) + 1);
    return [...m.values()];
  };
  const joint = count(a.map((v, i) => v * 1_000_003 + b[i]));
  const index = joint.reduce((s, n) => s + pairs(n), 0);
  const sumA = count(a).reduce((s, n) => s + pairs(n), 0);
  const sumB = count(b).reduce((s, n) => s + pairs(n), 0);
  const expected = (sumA * sumB) / Math.max(pairs(a.length), 1);
  const maximum = (sumA + sumB) / 2;
  if (maximum === expected) return 1;
  return (index - expected) / (maximum - expected);
}

/**
 * How well the groups follow known class groups (on a benchmark whose
 * target shifts per class group, the groups that share a shift): each class
 * of `reference` (class id → its group, −1 for classes without one, such as
 * the background) goes to the group holding most of its pixels, and the
 * adjusted Rand index compares that partition of the classes with the
 * reference's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shiftGroupAgreement } from "./group_diagnostics.ts";
 * // Classes 1, 2 in group 0 and 3, 4 in group 1: the reference's partition exactly.
 * const shares = [[1, 0.9, 0.8, 0, 0.1], [0, 0.1, 0.2, 1, 0.9]];
 * assert.equal(shiftGroupAgreement(shares, [-1, 0, 0, 1, 1]), 1);
 * ```
 */
export function shiftGroupAgreement(
  shares: readonly (readonly number[])[],
  reference: readonly number[],
): number {
  const classes = reference.map((g, c) => [g, c]).filter(([g]) => g >= 0).map(([, c]) => c);
  const holder = classes.map((c) => {
    let best = 0;
    for (let k = 1; k < shares.length; k++) if (shares[k][c] > shares[best][c]) best = k;
    return best;
  });
  return adjustedRandIndex(holder, classes.map((c) => reference[c]));
}
