// The orthogonality forms beside the cosine one (docs/method.md, "A grouping
// that cannot collapse"): each keeps L_orth's meaning (0, or its floor, when
// groups hold distinct classes) and, unlike the cosine, gives two groups that
// hold one and the same class a direction of first-order descent.
import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { on } from "./helpers.ts";
import { groupClassDistributions } from "../losses/group_distribution.ts";
import { orthogonality } from "../losses/orthogonality.ts";
import { gramOrthogonality } from "../losses/gram_orthogonality.ts";
import { sinkhornOrthogonality } from "../losses/sinkhorn_orthogonality.ts";
import {
  asMap,
  duplicateGroupsArb,
  oneHot,
  ownedSupportsArb,
  permutationArb,
  scalar,
  simplexRows,
} from "./loss_helpers.ts";
await on("cpu");

/** ∂L/∂q of a form at q [K, C]. */
function gradientOf(form: (q: tf.Tensor) => tf.Scalar, q: number[][]): number[][] {
  const t = tf.tensor2d(q);
  const g = tf.grad((x: tf.Tensor) => form(x))(t);
  const rows = g.arraySync() as number[][];
  tf.dispose([t, g]);
  return rows;
}

/**
 * The steepest first-order change of a form when a duplicate group moves
 * mass from its class to another one (q stays on its scale): min over
 * x ≠ shared of ∂L/∂q[g][x] − ∂L/∂q[g][shared]. Negative: a descent direction.
 */
function steepestMove(rows: number[][], g: number, shared: number): number {
  let best = Infinity;
  for (let x = 0; x < rows[g].length; x++) {
    if (x !== shared) best = Math.min(best, rows[g][x] - rows[g][shared]);
  }
  return best;
}

Deno.test("gram orthogonality lies in [0, 1], is 0 exactly on disjoint supports, invariant to group order", () => {
  fc.assert(
    fc.property(
      fc.record({
        m: fc.integer({ min: 1, max: 24 }),
        k: fc.integer({ min: 2, max: 5 }),
        c: fc.integer({ min: 2, max: 6 }),
      })
        .chain(({ m, k, c }) =>
          fc.record({
            a: simplexRows(m, k),
            y: fc.array(fc.nat(c - 1), { minLength: m, maxLength: m }),
            c: fc.constant(c),
            order: permutationArb(k),
          })
        ),
      ({ a, y, c, order }) => {
        const q = tf.tidy(() => groupClassDistributions(asMap(a), oneHot(y, c)));
        const v = scalar(() => gramOrthogonality(q));
        const permuted = scalar(() => gramOrthogonality(tf.gather(q, order)));
        q.dispose();
        assert.ok(v >= -1e-7 && v <= 1 + 1e-6, `value ${v}`);
        assert.ok(Math.abs(v - permuted) < 1e-5, `${v} against ${permuted} after a permutation`);
      },
    ),
    { numRuns: 60 },
  );
  // The cosine test's construction: each class owned by one group, and optionally one overlap.
  fc.assert(
    fc.property(ownedSupportsArb, ({ q, shared }) => {
      const v = scalar(() => gramOrthogonality(tf.tensor2d(q)));
      if (shared) assert.ok(v > 1e-4, `overlapping supports give ${v}`);
      else assert.equal(v, 0);
    }),
    { numRuns: 80 },
  );
});

Deno.test("gram orthogonality: two groups holding the same single class are no stationary point (the cosine's are)", () => {
  fc.assert(
    fc.property(duplicateGroupsArb, ({ k, shared, q }) => {
      const gram = gradientOf(gramOrthogonality, q);
      const cosine = gradientOf(orthogonality, q);
      for (const g of [0, 1]) {
        // Moving a share of a duplicate's mass to any other class lowers the gram form at first order …
        assert.ok(
          steepestMove(gram, g, shared) < -1e-3 / (k * (k - 1)),
          `gram, group ${g}: steepest move ${steepestMove(gram, g, shared)}`,
        );
        // … and never lowers the cosine form (the control: its duplicates are a local minimum).
        assert.ok(
          steepestMove(cosine, g, shared) > -1e-5,
          `cosine, group ${g}: steepest move ${steepestMove(cosine, g, shared)}`,
        );
      }
    }),
    { numRuns: 60 },
  );
});

/** A membership m [K, C] from positive weights: every column sums to 1 over the groups. */
function membershipOf(weights: number[][]): number[][] {
  const k = weights.length, c = weights[0].length;
  const totals = Array.from({ length: c }, (_, x) => weights.reduce((s, r) => s + r[x], 0));
  return Array.from({ length: k }, (_, g) => weights[g].map((v, x) => v / totals[x]));
}

Deno.test("sinkhorn orthogonality: finite, ≥ 0, invariant to group order, blind to absent classes", () => {
  fc.assert(
    fc.property(
      fc.record({ k: fc.integer({ min: 2, max: 5 }), c: fc.integer({ min: 2, max: 6 }) }).chain((
        { k, c },
      ) =>
        fc.record({
          weights: fc.array(
            fc.array(fc.float({ min: Math.fround(0.01), max: 10, noNaN: true }), {
              minLength: c,
              maxLength: c,
            }),
            { minLength: k, maxLength: k },
          ),
          order: permutationArb(k),
        })
      ),
      ({ weights, order }) => {
        const m = membershipOf(weights);
        const v = scalar(() => sinkhornOrthogonality(tf.tensor2d(m)));
        const permuted = scalar(() => sinkhornOrthogonality(tf.gather(tf.tensor2d(m), order)));
        // An absent class: a column of zeros changes nothing.
        const withAbsent = scalar(() =>
          sinkhornOrthogonality(tf.tensor2d(m.map((r) => [...r, 0])))
        );
        assert.ok(Number.isFinite(v) && v >= 0, `value ${v}`);
        assert.ok(Math.abs(v - permuted) < 1e-4 * (1 + v), `${v} against ${permuted}`);
        assert.ok(Math.abs(v - withAbsent) < 1e-4 * (1 + v), `${v} against ${withAbsent}`);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("sinkhorn orthogonality: two groups splitting one class are no stationary point (K ≤ present classes)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 5 }).chain((k) =>
        fc.record({
          k: fc.constant(k),
          c: fc.integer({ min: k, max: 7 }),
        })
      ).chain(({ k, c }) =>
        fc.record({
          k: fc.constant(k),
          c: fc.constant(c),
          shared: fc.nat(c - 1),
          split: fc.float({ min: Math.fround(0.3), max: Math.fround(0.7), noNaN: true }),
          // Where the other classes sit, among groups 2 … K−1.
          others: fc.array(
            fc.array(fc.float({ min: Math.fround(0.5), max: 10, noNaN: true }), {
              minLength: k - 2,
              maxLength: k - 2,
            }),
            { minLength: c, maxLength: c },
          ),
        })
      ),
      ({ k, c, shared, split, others }) => {
        const floor = 0.01;
        const weights = Array.from({ length: k }, (_, g) =>
          Array.from({ length: c }, (_, x) => {
            if (x === shared) return g === 0 ? split : g === 1 ? 1 - split : floor;
            return g < 2 ? floor : others[x][g - 2];
          }));
        const m = membershipOf(weights);
        const rows = gradientOf((x) => sinkhornOrthogonality(x), m);
        // Moving class x's share from a group g ≥ 2 into duplicate 0 or 1 (columns keep summing to 1).
        let steepest = Infinity;
        for (const into of [0, 1]) {
          for (let x = 0; x < c; x++) {
            if (x === shared) continue;
            for (let from = 2; from < k; from++) {
              steepest = Math.min(steepest, rows[into][x] - rows[from][x]);
            }
          }
        }
        assert.ok(steepest < -1e-2, `steepest move ${steepest} (K ${k}, C ${c})`);
      },
    ),
    { numRuns: 60 },
  );
});
