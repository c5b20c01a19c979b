import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { on } from "./helpers.ts";
import { segmentationCrossEntropy } from "../losses/cross_entropy.ts";
import { adversarialLoss, groupAdversarialLoss } from "../losses/adversarial.ts";
import { groupClassDistributions } from "../losses/group_distribution.ts";
import { semanticConsistency } from "../losses/semantic_consistency.ts";
import { orthogonality } from "../losses/orthogonality.ts";
import { groupBalance } from "../losses/group_balance.ts";
import { classEquivalenceWeights } from "../losses/class_equivalence.ts";
import { meanEntropy, selfInformation } from "../losses/entropy.ts";
import { sparseSoftmaxCrossEntropy } from "../lib/sparse_softmax_cross_entropy.ts";
import { close, DISTANCES, oneHot, scalar } from "./loss_helpers.ts";
await on("cpu");

// ---------------------------------------------------------------- helpers

/** Central finite difference of f along a random direction vs the gradient. */
function checkGradient(
  f: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  seed: number,
  kinks?: (x: tf.Tensor) => tf.Tensor,
): void {
  const direction = tf.tidy(() => tf.randomNormal(x.shape, 0, 1, "float32", seed));
  const analytic = scalar(() => tf.sum(tf.mul(tf.grad(f)(x), direction)));
  const h = 1e-2;
  const at = (sign: number) => tf.tidy(() => tf.add(x, tf.mul(direction, sign * h)));
  const [plus, minus] = [at(1), at(-1)];
  const up = scalar(() => f(plus));
  const down = scalar(() => f(minus));
  const numeric = (up - down) / (2 * h);
  // A finite difference is no derivative across a kink (|·| at 0): where the
  // interval [x − hv, x + hv] crosses one, only the gradient's finiteness is checked.
  const crosses = kinks
    ? scalar(() => tf.sum(tf.notEqual(tf.sign(kinks(plus)), tf.sign(kinks(minus))).toFloat())) > 0
    : false;
  tf.dispose([direction, plus, minus]);
  assert.ok(Number.isFinite(analytic), `gradient not finite: ${analytic}`);
  if (crosses) return;
  assert.ok(
    Math.abs(numeric - analytic) <= 2e-2 * Math.max(Math.abs(numeric), Math.abs(analytic), 1e-2),
    `finite difference ${numeric} vs gradient ${analytic}`,
  );
}

Deno.test("cross-entropy: ignored pixels change nothing; uniform logits give log C", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 6 }).chain((c) =>
        fc.record({
          c: fc.constant(c),
          labels: fc.array(fc.oneof(fc.nat(c - 1), fc.constant(255)), {
            minLength: 1,
            maxLength: 12,
          }),
          logits: fc.array(fc.float({ min: -5, max: 5, noNaN: true }), {
            minLength: 12 * c,
            maxLength: 12 * c,
          }),
          noise: fc.array(fc.float({ min: -50, max: 50, noNaN: true }), {
            minLength: 12 * c,
            maxLength: 12 * c,
          }),
        })
      ),
      ({ c, labels, logits, noise }) => {
        const m = labels.length;
        const z = logits.slice(0, m * c);
        const changed = z.map((v, i) => (labels[Math.floor(i / c)] === 255 ? noise[i] : v));
        const y = tf.tensor3d(labels, [1, 1, m], "int32");
        const ce = (values: number[]) =>
          scalar(() => segmentationCrossEntropy(tf.tensor4d(values, [1, 1, m, c]), y));
        assert.ok(close(ce(z), ce(changed), 1e-6), "ignored pixels changed the loss");
        const kept = labels.map((l, i) => [l, i]).filter(([l]) => l !== 255);
        if (kept.length > 0) {
          const sub = kept.flatMap(([, i]) => z.slice(i * c, (i + 1) * c));
          const ySub = tf.tensor3d(kept.map(([l]) => l), [1, 1, kept.length], "int32");
          const alone = scalar(() =>
            segmentationCrossEntropy(tf.tensor4d(sub, [1, 1, kept.length, c]), ySub)
          );
          assert.ok(close(ce(z), alone, 1e-5));
          ySub.dispose();
          assert.ok(close(ce(new Array(m * c).fill(0.3)), Math.log(c), 1e-6));
        } else {
          assert.equal(ce(z), 0);
        }
        y.dispose();
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("cross-entropy rejects labels of the wrong size", () => {
  const logits = tf.zeros([1, 4, 4, 3]);
  const labels = tf.zeros([1, 4, 5], "int32");
  assert.throws(
    () => segmentationCrossEntropy(logits, labels),
    /labels \[1,4,5\] do not match logits/,
  );
  tf.dispose([logits, labels]);
});

// --------------------------------------------------- entropy and adversarial

Deno.test("entropy: uniform logits give 1, one-hot predictions give 0; the map sums to the entropy", () => {
  assert.ok(close(scalar(() => meanEntropy(tf.zeros([1, 2, 2, 7]))), 1, 1e-6));
  assert.ok(scalar(() => meanEntropy(tf.tensor4d([100, -100, -100, 100], [1, 1, 2, 2]))) < 1e-6);
  fc.assert(fc.property(
    fc.array(fc.float({ min: -8, max: 8, noNaN: true }), { minLength: 12, maxLength: 12 }),
    (values) => {
      const z = tf.tensor4d(values, [1, 2, 2, 3]);
      const fromMap = scalar(() => tf.div(tf.mean(tf.sum(selfInformation(z), -1)), Math.log(3)));
      const direct = scalar(() => meanEntropy(z));
      assert.ok(close(fromMap, direct, 1e-6));
      assert.ok(direct >= -1e-7 && direct <= 1 + 1e-6);
      z.dispose();
    },
  ));
});

Deno.test("adversarial losses: BCE and least squares against both labels, weights as a weighted mean", () => {
  const d = tf.tensor1d([0, 2, -1]);
  assert.ok(
    close(
      scalar(() => adversarialLoss(d, 1)),
      (Math.log(2) + Math.log1p(Math.exp(-2)) + Math.log1p(Math.E)) / 3,
    ),
  );
  assert.ok(close(scalar(() => adversarialLoss(d, 0, { kind: "ls" })), (0 + 4 + 1) / 3));
  const w = tf.tensor1d([0, 1, 0]);
  assert.ok(close(scalar(() => adversarialLoss(d, 1, { weights: w })), Math.log1p(Math.exp(-2))));
  tf.dispose([d, w]);
});

// ------------------------------------- extreme inputs and finite differences

Deno.test("group adversarial loss: the mean over groups of each group's (weighted) loss, invariant to a group permutation", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 0, max: 1e6 }),
      fc.constantFrom("bce" as const, "ls" as const),
      fc.constantFrom(0 as const, 1 as const),
      fc.boolean(),
      (k, seed, kind, target, weighted) => {
        const [logits, weights] = tf.tidy(() => [
          tf.randomNormal([k, 2, 3, 3], 0, 2, "float32", seed),
          tf.randomUniform([k, 2, 3, 3], 0, 1, "float32", seed + 1),
        ]);
        const options = { kind, weights: weighted ? weights : undefined };
        const whole = scalar(() => groupAdversarialLoss(logits, target, options));
        const perGroup = tf.tidy(() =>
          tf.unstack(logits).map((l, g) =>
            adversarialLoss(l, target, {
              kind,
              weights: weighted ? tf.unstack(weights)[g] : undefined,
            }).dataSync()[0]
          )
        );
        const mean = perGroup.reduce((a, b) => a + b, 0) / k;
        assert.ok(
          Math.abs(whole - mean) <= 1e-5 * Math.max(1, Math.abs(mean)),
          `${whole} vs ${mean}`,
        );
        assert.ok(whole >= 0);
        // Reversing the groups (of logits and weights alike) changes nothing.
        const reversed = scalar(() =>
          groupAdversarialLoss(tf.reverse(logits, 0), target, {
            kind,
            weights: weighted ? tf.reverse(weights, 0) : undefined,
          })
        );
        assert.ok(Math.abs(reversed - whole) <= 1e-5 * Math.max(1, whole));
        tf.dispose([logits, weights]);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("every loss stays finite at extreme inputs, with finite gradients", () => {
  const k = 3, c = 4;
  const oneHotA = tf.tensor4d([1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0], [1, 1, 4, k]); // groups 1, 2 empty
  const tiny = tf.tensor4d([
    1 - 3e-30,
    1e-30,
    1e-30,
    1e-30,
    1e-30,
    1,
    1e-30,
    1e-30,
    1e-30,
    1e-30,
    1,
    1e-30,
    1e-30,
    1e-30,
    1e-30,
    1,
  ], [1, 1, 4, c]);
  const ys = oneHot([0, 1, 2, 3], c);
  const extremeLogits = tf.tensor4d([1e4, -1e4, 0, 0, -1e4, 1e4, 0, 0], [1, 1, 2, c]);
  const labels = tf.tensor3d([0, 255], [1, 1, 2], "int32");
  const checks: [string, () => tf.Tensor][] = [
    [
      "sc l1",
      () =>
        semanticConsistency(
          groupClassDistributions(oneHotA, ys),
          groupClassDistributions(oneHotA, tiny),
        ),
    ],
    [
      "sc js",
      () =>
        semanticConsistency(
          groupClassDistributions(oneHotA, ys),
          groupClassDistributions(oneHotA, tiny),
          "js",
        ),
    ],
    ["orth", () => orthogonality(groupClassDistributions(oneHotA, tiny))],
    ["bal", () => groupBalance([oneHotA])],
    ["weights", () => tf.sum(classEquivalenceWeights(oneHotA, tiny))],
    ["ce", () => segmentationCrossEntropy(extremeLogits, labels)],
    ["entropy", () => meanEntropy(extremeLogits)],
    ["bce", () => adversarialLoss(tf.tensor1d([1e4, -1e4]), 1)],
  ];
  for (const [name, f] of checks) assert.ok(Number.isFinite(scalar(f)), `${name} is not finite`);
  // Gradients at the extremes: with respect to the probabilities / logits.
  const grads: [string, (x: tf.Tensor) => tf.Tensor, tf.Tensor][] = [
    [
      "sc js wrt P_t",
      (p) =>
        semanticConsistency(
          groupClassDistributions(oneHotA, ys),
          groupClassDistributions(oneHotA, p),
          "js",
        ),
      tiny,
    ],
    ["orth wrt P", (p) => orthogonality(groupClassDistributions(oneHotA, p)), tiny],
    ["bal wrt A", (a) => groupBalance([a]), oneHotA],
    ["ce wrt logits", (z) => segmentationCrossEntropy(z, labels), extremeLogits],
    ["entropy wrt logits", (z) => meanEntropy(z), extremeLogits],
  ];
  for (const [name, f, x] of grads) {
    const g = tf.grad(f)(x);
    assert.ok(
      (g.dataSync() as Float32Array).every(Number.isFinite),
      `${name}: gradient not finite`,
    );
    g.dispose();
  }
  tf.dispose([oneHotA, tiny, ys, extremeLogits, labels]);
});

Deno.test("every differentiable loss's gradient agrees with a central finite difference", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), (seed) => {
      const k = 3, c = 4, m = 6;
      const zA = tf.randomNormal([1, 1, m, k], 0, 1, "float32", seed);
      const zP = tf.randomNormal([1, 1, m, c], 0, 1, "float32", seed + 1);
      const ys = oneHot([0, 1, 2, 3, 1, 0], c);
      const labels = tf.tensor3d([0, 1, 255, 3, 1, 0], [1, 1, m], "int32");
      const qs = tf.tidy(() => groupClassDistributions(tf.softmax(zA), ys));
      const d = tf.randomNormal([8], 0, 1, "float32", seed + 2);
      const w = tf.randomUniform([8], 0.1, 1, "float32", seed + 3);
      const cases: [string, (x: tf.Tensor) => tf.Tensor, tf.Tensor][] = [
        ["ce", (z) => segmentationCrossEntropy(z, labels), zP],
        ["entropy", (z) => meanEntropy(z), zP],
        ["bce", (z) => adversarialLoss(z, 1, { weights: w }), d],
        [
          "group bce",
          (z) => groupAdversarialLoss(tf.reshape(z, [2, 4]), 0, { weights: tf.reshape(w, [2, 4]) }),
          d,
        ],
        ["ls", (z) => adversarialLoss(z, 0, { kind: "ls" }), d],
        ["bal", (z) => groupBalance([tf.softmax(z)]), zA],
        ["orth", (z) => orthogonality(groupClassDistributions(tf.softmax(z), ys)), zA],
        ...DISTANCES.map((dist): [string, (x: tf.Tensor) => tf.Tensor, tf.Tensor] => [
          `sc ${dist}`,
          (z) =>
            semanticConsistency(qs, groupClassDistributions(tf.softmax(zA), tf.softmax(z)), dist),
          zP,
        ]),
      ];
      const l1Kinks = (z: tf.Tensor) =>
        tf.sub(qs, groupClassDistributions(tf.softmax(zA), tf.softmax(z)));
      for (const [name, f, x] of cases) {
        try {
          checkGradient(f, x, seed + 7, name === "sc l1" ? l1Kinks : undefined);
        } catch (error) {
          throw new Error(`${name}: ${(error as Error).message}`);
        }
      }
      tf.dispose([zA, zP, ys, labels, qs, d, w]);
    }),
    { numRuns: 15 },
  );
});

Deno.test("sparse softmax cross-entropy, fused (wasm) and composed (cpu): log-sum-exp − z_y ≥ 0, shift-invariant, ids outside [0, C) give no loss and no gradient, gradient softmax − onehot", async () => {
  const rowsArb = fc.integer({ min: 1, max: 9 }).chain((c) =>
    fc.record({
      c: fc.constant(c),
      ids: fc.array(fc.oneof(fc.nat(c - 1), fc.constantFrom(-1, c, 255)), {
        minLength: 1,
        maxLength: 80,
      }),
      logits: fc.array(fc.float({ min: -60, max: 60, noNaN: true }), {
        minLength: 80 * c,
        maxLength: 80 * c,
      }),
      shift: fc.float({ min: -30, max: 30, noNaN: true }),
    })
  );
  for (const backend of ["cpu", "wasm"] as const) {
    await on(backend);
    fc.assert(
      fc.property(rowsArb, ({ c, ids, logits, shift }) => {
        const m = ids.length, z = logits.slice(0, m * c);
        const y = tf.tensor1d(ids, "int32");
        const lossOf = (values: number[]) =>
          tf.tidy(() => sparseSoftmaxCrossEntropy(tf.tensor2d(values, [m, c]), y).arraySync());
        const loss = lossOf(z) as number[];
        const shifted = lossOf(z.map((v) => v + shift)) as number[];
        const grad = tf.tidy(() =>
          tf.grad((x: tf.Tensor) => tf.sum(sparseSoftmaxCrossEntropy(x, y)))(
            tf.tensor2d(z, [m, c]),
          ).arraySync()
        ) as number[][];
        for (let i = 0; i < m; i++) {
          const row = z.slice(i * c, (i + 1) * c), top = Math.max(...row);
          const lse = top + Math.log(row.reduce((s, v) => s + Math.exp(v - top), 0));
          const labelled = ids[i] >= 0 && ids[i] < c;
          const want = labelled ? lse - row[ids[i]] : 0;
          assert.ok(loss[i] >= 0, `${backend}: negative loss ${loss[i]}`);
          assert.ok(close(loss[i], want, 1e-5), `${backend}: row ${i}: ${loss[i]} vs ${want}`);
          assert.ok(close(shifted[i], loss[i], 1e-4), `${backend}: shift changed row ${i}`);
          for (let j = 0; j < c; j++) {
            const g = labelled ? Math.exp(row[j] - lse) - (j === ids[i] ? 1 : 0) : 0;
            assert.ok(Math.abs(grad[i][j] - g) <= 1e-6, `${backend}: grad [${i}, ${j}]`);
          }
        }
        y.dispose();
      }),
      { numRuns: 40 },
    );
  }
  await on("cpu");
});
