/**
 * Helpers the loss tests share: scalar reads, a tolerance, one-pixel-row maps,
 * L_sc's distances, and the generators of the orthogonality properties.
 */
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import type { ConsistencyDistance } from "../losses/semantic_consistency.ts";

/** The value of a scalar computed by `f` (its tensors freed). */
export const scalar = (f: () => tf.Tensor): number => {
  const t = tf.tidy(f);
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

/** `a` and `b` agree to a relative (or, below 1, absolute) tolerance. */
export const close = (a: number, b: number, tol = 1e-5): boolean =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

/** Rows (pixels × channels) as a [1, 1, M, C] map. */
export const asMap = (rows: number[][]): tf.Tensor4D =>
  tf.tensor4d(rows.flat(), [1, 1, rows.length, rows[0].length]);

/** Class ids as a one-hot [1, 1, M, C] map. */
export const oneHot = (ids: number[], c: number): tf.Tensor4D =>
  asMap(ids.map((id) => Array.from({ length: c }, (_, j) => (j === id ? 1 : 0))));

/** Every distance L_sc can use. */
export const DISTANCES: ConsistencyDistance[] = ["l1", "l2", "js"];

/** Rows of positive weights normalised to sum 1: M pixels × K. */
export const simplexRows = (m: number, k: number): fc.Arbitrary<number[][]> =>
  fc.array(
    fc.array(fc.float({ min: Math.fround(0.01), max: 10, noNaN: true }), {
      minLength: k,
      maxLength: k,
    }),
    { minLength: m, maxLength: m },
  ).map((rows) => rows.map((r) => r.map((x) => x / r.reduce((a, b) => a + b, 0))));

/** A random order of 0 … n − 1. */
export const permutationArb = (n: number): fc.Arbitrary<number[]> =>
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n })
    .map((keys) => keys.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i));

/**
 * Group class distributions q [K, 6] where each class belongs to one group,
 * and, in some draws, one class also sits in a second group (`shared`).
 */
export const ownedSupportsArb: fc.Arbitrary<{ q: number[][]; shared: boolean }> = fc
  .integer({ min: 2, max: 4 })
  .chain((k) =>
    fc.record({
      k: fc.constant(k),
      owner: fc.array(fc.nat(k - 1), { minLength: 6, maxLength: 6 }), // class → group
      mass: fc.array(fc.float({ min: Math.fround(0.1), max: 1, noNaN: true }), {
        minLength: 6,
        maxLength: 6,
      }),
      overlap: fc.option(fc.record({ cls: fc.nat(5), group: fc.nat(k - 1) }), { nil: undefined }),
    })
  )
  .map(({ k, owner, mass, overlap }) => {
    const q = Array.from({ length: k }, (_, g) => owner.map((o, c) => (o === g ? mass[c] : 0)));
    let shared = false;
    if (overlap && owner[overlap.cls] !== overlap.group) {
      q[overlap.group][overlap.cls] = 0.5;
      shared = true;
    }
    return { q, shared };
  });

/**
 * Duplicate groups: groups 0 and 1 hold class `shared` alone (at `scales`),
 * the other groups any mass on the other classes. q is [K, C].
 */
export const duplicateGroupsArb: fc.Arbitrary<
  { k: number; c: number; shared: number; scales: number[]; q: number[][] }
> = fc.record({ k: fc.integer({ min: 2, max: 5 }), c: fc.integer({ min: 2, max: 6 }) })
  .chain(({ k, c }) =>
    fc.record({
      k: fc.constant(k),
      c: fc.constant(c),
      shared: fc.nat(c - 1),
      scales: fc.array(fc.float({ min: Math.fround(0.1), max: 1, noNaN: true }), {
        minLength: 2,
        maxLength: 2,
      }),
      others: fc.array(
        fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: c, maxLength: c }),
        { minLength: k - 2, maxLength: k - 2 },
      ),
    })
  )
  .map(({ k, c, shared, scales, others }) => ({
    k,
    c,
    shared,
    scales,
    q: [
      ...scales.map((s) => Array.from({ length: c }, (_, x) => (x === shared ? s : 0))),
      ...others.map((row) => row.map((v, x) => (x === shared ? 0 : v))),
    ],
  }));
