import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { on } from "./helpers.ts";
import { groupClassDistributions } from "../losses/group_distribution.ts";
import { semanticConsistency } from "../losses/semantic_consistency.ts";
import { orthogonality } from "../losses/orthogonality.ts";
import { groupBalance, groupUsage } from "../losses/group_balance.ts";
import { classEquivalenceWeights } from "../losses/class_equivalence.ts";
import {
  asMap,
  close,
  DISTANCES,
  duplicateGroupsArb,
  oneHot,
  ownedSupportsArb,
  permutationArb,
  scalar,
  simplexRows,
} from "./loss_helpers.ts";
await on("cpu");

// ---------------------------------------------------------------- helpers

/** One domain's pixels: assignments A (M × K) and one-hot class ids (M). */
const domainArb = (m: number, k: number, c: number) =>
  fc.record({ a: simplexRows(m, k), y: fc.array(fc.nat(c - 1), { minLength: m, maxLength: m }) });

const sizesArb = fc.record({
  m: fc.integer({ min: 1, max: 24 }),
  k: fc.integer({ min: 2, max: 5 }),
  c: fc.integer({ min: 2, max: 6 }),
});

const qOf = (a: number[][], ids: number[], c: number) =>
  tf.tidy(() => groupClassDistributions(asMap(a), oneHot(ids, c)));

function permute<T>(xs: T[], order: number[]): T[] {
  return order.map((i) => xs[i]);
}

// ------------------------------------------------------ semantic consistency

Deno.test("semantic consistency: ≥ 0, symmetric, 0 on equal distributions", () => {
  fc.assert(
    fc.property(
      sizesArb.chain(({ m, k, c }) =>
        fc.record({ s: domainArb(m, k, c), t: domainArb(m, k, c), c: fc.constant(c) })
      ),
      ({ s, t, c }) => {
        const qs = qOf(s.a, s.y, c), qt = qOf(t.a, t.y, c);
        for (const d of DISTANCES) {
          const st = scalar(() => semanticConsistency(qs, qt, d));
          const ts = scalar(() => semanticConsistency(qt, qs, d));
          assert.ok(st >= 0, `${d} negative: ${st}`);
          assert.ok(close(st, ts, 1e-5), `${d} not symmetric: ${st} vs ${ts}`);
          assert.equal(scalar(() => semanticConsistency(qs, qs, d)), 0);
        }
        tf.dispose([qs, qt]);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("semantic consistency is 0 only when the group distributions are equal", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 4 }).chain((k) => fc.tuple(simplexRows(k, 3), simplexRows(k, 3))),
      ([p, q]) => {
        const equal = p.every((row, i) => row.every((v, j) => Math.abs(v - q[i][j]) < 1e-6));
        const [tp, tq] = [tf.tensor2d(p), tf.tensor2d(q)];
        for (const d of DISTANCES) {
          const v = scalar(() => semanticConsistency(tp, tq, d));
          if (!equal) assert.ok(v > 0, `${d} is 0 for different distributions`);
        }
        tf.dispose([tp, tq]);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("semantic consistency is invariant to a group permutation of both domains and to pixel permutations", () => {
  fc.assert(
    fc.property(
      sizesArb.chain(({ m, k, c }) =>
        fc.record({
          s: domainArb(m, k, c),
          t: domainArb(m, k, c),
          c: fc.constant(c),
          groups: permutationArb(k),
          pixelsS: permutationArb(m),
          pixelsT: permutationArb(m),
        })
      ),
      ({ s, t, c, groups, pixelsS, pixelsT }) => {
        const base = DISTANCES.map((d) =>
          scalar(() => semanticConsistency(qOf(s.a, s.y, c), qOf(t.a, t.y, c), d))
        );
        const regroup = (a: number[][]) => a.map((row) => permute(row, groups));
        const grouped = DISTANCES.map((d) =>
          scalar(() => semanticConsistency(qOf(regroup(s.a), s.y, c), qOf(regroup(t.a), t.y, c), d))
        );
        const shuffled = DISTANCES.map((d) =>
          scalar(() =>
            semanticConsistency(
              qOf(permute(s.a, pixelsS), permute(s.y, pixelsS), c),
              qOf(permute(t.a, pixelsT), permute(t.y, pixelsT), c),
              d,
            )
          )
        );
        base.forEach((v, i) => {
          assert.ok(close(v, grouped[i], 1e-4), `groups: ${v} vs ${grouped[i]}`);
          assert.ok(close(v, shuffled[i], 1e-4), `pixels: ${v} vs ${shuffled[i]}`);
        });
      },
    ),
    { numRuns: 40 },
  );
});

// ------------------------------------------------------------ orthogonality

Deno.test("orthogonality lies in [0, 1] and is invariant to group and pixel permutations", () => {
  fc.assert(
    fc.property(
      sizesArb.chain(({ m, k, c }) =>
        fc.record({
          s: domainArb(m, k, c),
          c: fc.constant(c),
          groups: permutationArb(k),
          pixels: permutationArb(m),
        })
      ),
      ({ s, c, groups, pixels }) => {
        const v = scalar(() => orthogonality(qOf(s.a, s.y, c)));
        assert.ok(v >= -1e-6 && v <= 1 + 1e-6, `out of [0, 1]: ${v}`);
        const g = scalar(() => orthogonality(qOf(s.a.map((r) => permute(r, groups)), s.y, c)));
        const p = scalar(() => orthogonality(qOf(permute(s.a, pixels), permute(s.y, pixels), c)));
        assert.ok(close(v, g, 1e-4) && close(v, p, 1e-4), `${v} ${g} ${p}`);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("orthogonality is 0 exactly when the groups' class supports are disjoint", () => {
  fc.assert(
    fc.property(ownedSupportsArb, ({ q, shared }) => {
      const t = tf.tensor2d(q);
      const v = scalar(() => orthogonality(t));
      t.dispose();
      if (shared) assert.ok(v > 1e-4, `overlapping supports give ${v}`);
      else assert.ok(Math.abs(v) < 1e-6, `disjoint supports give ${v}`);
    }),
    { numRuns: 80 },
  );
});

// Why no λ_orth separates duplicate groups (docs/method.md, "Where CDGA
// stands", item 3): two groups that hold one and the same class alone are a
// local minimum of L_orth. Its gradient on their rows is 0 along that class
// (the cosine of parallel rows moves only at second order) and ≥ 0 along every
// other class (mass moved there can only add overlap with the other groups).
Deno.test("orthogonality: two groups holding the same single class are a local minimum", () => {
  fc.assert(
    fc.property(duplicateGroupsArb, ({ k, c, shared, scales, q }) => {
      const t = tf.tensor2d(q, [k, c]);
      const gradient = tf.grad((x: tf.Tensor) => orthogonality(x))(t);
      const rows = gradient.arraySync() as number[][];
      tf.dispose([t, gradient]);
      for (const g of [0, 1]) {
        const scale = 1 / scales[g];
        assert.ok(
          Math.abs(rows[g][shared]) < 1e-3 * scale,
          `group ${g}: gradient ${rows[g][shared]} along its own class`,
        );
        for (let x = 0; x < c; x++) {
          if (x !== shared) {
            assert.ok(rows[g][x] >= -1e-6, `group ${g}: ${rows[g][x]} along ${x}`);
          }
        }
      }
    }),
    { numRuns: 60 },
  );
});

// ------------------------------------------------------------- group balance

Deno.test("group balance is ≥ 0 and 0 exactly when groups are used equally", () => {
  fc.assert(
    fc.property(
      sizesArb.chain(({ m, k }) => simplexRows(m, k)),
      (a) => {
        const t = asMap(a);
        const v = scalar(() => groupBalance([t]));
        const usage = groupUsage([t]).dataSync() as Float32Array;
        const k = a[0].length;
        const spread = Math.max(...usage) - Math.min(...usage);
        assert.ok(v >= 0);
        if (spread > 1e-2) assert.ok(v > 1e-6, `uneven usage ${usage} gives ${v}`);
        const even = tf.fill([1, 3, 3, k], 1 / k);
        assert.ok(Math.abs(scalar(() => groupBalance([even]))) < 1e-6);
        tf.dispose([t, even]);
      },
    ),
    { numRuns: 60 },
  );
});

// ------------------------------------------------- class-equivalence weights

Deno.test("class-equivalence weights: non-negative, equal total per present class, pixel-equivariant", () => {
  fc.assert(
    fc.property(
      sizesArb.chain(({ m, k, c }) =>
        fc.record({ d: domainArb(m, k, c), c: fc.constant(c), order: permutationArb(m) })
      ),
      ({ d, c, order }) => {
        const w = tf.tidy(() => classEquivalenceWeights(asMap(d.a), oneHot(d.y, c)));
        const rows = (w.arraySync() as number[][][][])[0][0];
        w.dispose();
        assert.ok(rows.every((r) => r.every((v) => v >= 0)));
        const k = d.a[0].length;
        for (let g = 0; g < k; g++) {
          const totals = new Map<number, number>();
          d.y.forEach((cls, i) => totals.set(cls, (totals.get(cls) ?? 0) + rows[i][g]));
          const present = [...totals.values()];
          for (const t of present) {
            assert.ok(
              close(t, 1 / present.length, 1e-4),
              `group ${g}: ${present}`,
            );
          }
        }
        const shuffled = tf.tidy(() =>
          classEquivalenceWeights(asMap(permute(d.a, order)), oneHot(permute(d.y, order), c))
        );
        const shuffledRows = (shuffled.arraySync() as number[][][][])[0][0];
        shuffled.dispose();
        order.forEach((from, i) =>
          shuffledRows[i].forEach((v, g) => assert.ok(close(v, rows[from][g], 1e-4)))
        );
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("class-equivalence weights give excluded (ignored) pixels no weight", () => {
  const a = tf.fill([1, 1, 3, 2], 0.5);
  const y = tf.tensor4d([1, 0, 0, 0, 0, 1], [1, 1, 3, 2]); // the middle pixel has no class
  const w = classEquivalenceWeights(a, y).arraySync() as number[][][][];
  assert.deepEqual(w[0][0][1], [0, 0]);
  tf.dispose([a, y]);
});

// ------------------------------------------------------------ cross-entropy
