import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { dispose, flatten, type Tree } from "../lib/tree.ts";
import { replace } from "../lib/memory.ts";
import {
  adam,
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  flattened,
  globalNorm,
  type GradientTransformation,
  poly,
  scaleByAdam,
  scaleByLearningRate,
  scaleByPath,
  sgd,
  valueAt,
  warmup,
} from "../lib/optim/mod.ts";
import { on } from "./helpers.ts";

await on("cpu");

const read = (t: tf.Tensor) => [...t.dataSync()];

/** Runs `steps` updates with fixed or param-dependent gradients; returns params per step. */
function run(
  opt: GradientTransformation,
  init: Record<string, number[]>,
  grad: (p: Record<string, number[]>, step: number) => Record<string, number[]>,
  steps: number,
): Record<string, number[]>[] {
  let params: Tree = Object.fromEntries(
    Object.entries(init).map(([k, v]) => [k, tf.tensor1d(v)]),
  );
  let state = opt.init(params);
  const history: Record<string, number[]>[] = [];
  for (let t = 0; t < steps; t++) {
    const current: Record<string, number[]> = Object.fromEntries(
      flatten(params).map(([k, v]) => [k, read(v)]),
    );
    const g: Tree = Object.fromEntries(
      Object.entries(grad(current, t)).map(([k, v]) => [k, tf.tensor1d(v)]),
    );
    const [updates, next]: [Tree, Tree] = opt.update(g, state, params);
    const moved: Tree = applyUpdates(params, updates);
    [params, state] = replace([params, state, updates, g], [moved, next]);
    history.push(Object.fromEntries(flatten(params).map(([k, v]) => [k, read(v)])));
  }
  dispose([params, state]);
  return history;
}

function close(a: number[], b: number[], tol = 1e-6) {
  a.forEach((x, i) =>
    assert.ok(Math.abs(x - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${a} vs ${b}`)
  );
}

Deno.test("Adam: two steps match a hand computation", () => {
  const [lr, b1, b2, eps] = [0.1, 0.9, 0.999, 1e-8];
  const g1 = [0.5, -0.1], g2 = [-0.2, 0.3];
  const got = run(
    adam({ learningRate: lr, b1, b2, eps }),
    { w: [1, -2] },
    (_, t) => ({ w: t ? g2 : g1 }),
    2,
  );
  const expected = [1, -2].map((w0, i) => {
    let w = w0, m = 0, v = 0;
    const out: number[] = [];
    [g1[i], g2[i]].forEach((g, t) => {
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const mHat = m / (1 - b1 ** (t + 1)), vHat = v / (1 - b2 ** (t + 1));
      w -= lr * mHat / (Math.sqrt(vHat) + eps);
      out.push(w);
    });
    return out;
  });
  close(got[0].w, expected.map((e) => e[0]));
  close(got[1].w, expected.map((e) => e[1]));
});

Deno.test("SGD with momentum on a quadratic follows the closed-form recurrence", () => {
  // f(w) = a w²/2: [w, b]ₜ = M [w, b]ₜ₋₁ with M = [[1 − ηa, −ημ], [a, μ]].
  const [a, lr, mu, steps] = [2, 0.05, 0.9, 25];
  const got = run(
    sgd({ learningRate: lr, momentum: mu }),
    { w: [3] },
    (p) => ({ w: [a * p.w[0]] }),
    steps,
  );
  let [w, b] = [3, 0];
  for (let t = 0; t < steps; t++) {
    [w, b] = [(1 - lr * a) * w - lr * mu * b, a * w + mu * b];
    close(got[t].w, [w], 1e-5);
  }
  assert.ok(Math.abs(got[steps - 1].w[0]) < 3, "it converges toward 0");
});

Deno.test("Nesterov, weight decay and AdamW follow PyTorch's formulas", () => {
  const [lr, mu, wd] = [0.1, 0.9, 0.01];
  const gs = [[1], [0.5], [-0.25]];
  const nesterov = run(
    sgd({ learningRate: lr, momentum: mu, nesterov: true, weightDecay: wd }),
    { w: [2] },
    (_, t) => ({ w: gs[t] }),
    3,
  );
  let [w, b] = [2, 0];
  for (let t = 0; t < 3; t++) {
    const g = gs[t][0] + wd * w;
    b = mu * b + g;
    w -= lr * (g + mu * b);
    close(nesterov[t].w, [w]);
  }
  const decoupled = run(
    adamw({ learningRate: lr, weightDecay: wd }),
    { w: [2] },
    () => ({ w: [1] }),
    1,
  );
  close(decoupled[0].w, [2 - lr * (1 / (1 + 1e-8)) - lr * wd * 2]);
});

Deno.test("per-path learning-rate multipliers and freezing", () => {
  const opt = sgd({ learningRate: 0.1, lrMultipliers: { head: 10, "backbone/stem": 0 } });
  const got = run(
    opt,
    { head: [1], "backbone_x": [1] },
    () => ({ head: [1], "backbone_x": [1] }),
    1,
  );
  close(got[0].head, [0]);
  close(got[0].backbone_x, [0.9]);
  const nested = {
    head: { w: tf.scalar(1) },
    backbone: { stem: tf.scalar(1), body: tf.scalar(1) },
  };
  const grads = { head: { w: tf.scalar(1) }, backbone: { stem: tf.scalar(1), body: tf.scalar(1) } };
  const t = scaleByPath({ head: 10, "backbone/stem": 0 });
  const [u] = t.update(grads, t.init(nested));
  assert.deepEqual(
    flatten(u).map(([p, v]) => [p, v.dataSync()[0]]),
    [["backbone/body", 1], ["backbone/stem", 0], ["head/w", 10]],
  );
  dispose([nested, grads, u]);
});

Deno.test("clip by global norm rescales only when above the bound", () => {
  fc.assert(fc.property(
    fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 8 }),
    fc.float({ min: Math.fround(0.1), max: 50, noNaN: true }),
    (xs, bound) => {
      const g = { a: tf.tensor1d(xs) };
      const t = clipByGlobalNorm(bound);
      const [u] = t.update(g, t.init(g));
      const before = globalNorm(g).dataSync()[0], after = globalNorm(u).dataSync()[0];
      assert.ok(after <= bound * (1 + 1e-5) + 1e-6);
      if (before <= bound) close(read(u.a), xs, 1e-6);
      dispose([g, u]);
    },
  ));
});

Deno.test("schedules: poly, warm-up, and their use as a learning rate", () => {
  close([valueAt(poly(1, 10, 1), 5)], [0.5]);
  close([valueAt(poly(2.5e-4, 100, 0.9), 50)], [2.5e-4 * 0.5 ** 0.9]);
  close([valueAt(poly(1, 10), 20)], [0]);
  close([valueAt(warmup(1, 4), 0), valueAt(warmup(1, 4), 3), valueAt(warmup(1, 4), 9)], [
    0.25,
    1,
    1,
  ]);
  const got = run(chain(scaleByLearningRate(poly(1, 4, 1))), { w: [0] }, () => ({ w: [1] }), 4);
  close(got.map((h) => h.w[0]), [-1, -1.75, -2.25, -2.5]);
  assert.throws(() => poly(1, 0), /steps > 0/);
  assert.throws(() => warmup(1, -1), /non-negative/);
});

Deno.test("update neither mutates nor disposes its inputs, and leaks nothing", () => {
  for (
    const opt of [
      adam({ learningRate: 1e-3 }),
      sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4 }),
    ]
  ) {
    const params = { w: tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor1d([0.5]) };
    const grads = { w: tf.tensor2d([[0.1, 0.2], [0.3, 0.4]]), b: tf.tensor1d([1]) };
    let state = opt.init(params);
    const snapshot = (t: Tree) => flatten(t).map(([p, v]) => [p, read(v)]);
    const [p0, g0, s0] = [snapshot(params), snapshot(grads), snapshot(state)];
    const before = tf.memory().numTensors;
    const [updates, next] = opt.update(grads, state, params);
    assert.deepEqual(snapshot(params), p0);
    assert.deepEqual(snapshot(grads), g0);
    assert.deepEqual(snapshot(state), s0);
    const made = tf.memory().numTensors - before;
    assert.equal(
      made,
      flatten([updates, next]).filter(([, t]) => !flatten(state).some(([, s]) => s === t)).length,
    );
    state = replace(state, next);
    dispose([updates, params, grads, state]);
  }
});

Deno.test("invalid hyper-parameters are errors", () => {
  assert.throws(() => sgd({ learningRate: 0.1, nesterov: true }), /Nesterov needs a momentum/);
  assert.throws(() => adam({ learningRate: 0.1, b1: 1 }), /b1 must be in \[0, 1\)/);
  assert.throws(() => clipByGlobalNorm(0), /maxNorm must be > 0/);
  assert.throws(() => scaleByLearningRate(Number.NaN), /finite/);
});

Deno.test("flattened: the same updates bit for bit as leaf by leaf, the tree's shape kept, state one vector", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }), {
        minLength: 1,
        maxLength: 5,
      }),
      fc.integer({ min: 0, max: 1000 }),
      (shapes, seed) => {
        const tree = (offset: number) =>
          Object.fromEntries(
            shapes.map((shape, i) => [
              `p${i}`,
              tf.randomNormal(shape, 0, 1, "float32", seed + offset + i),
            ]),
          );
        const [params, g1, g2] = [tree(0), tree(100), tree(200)];
        const leafwise = chain(scaleByAdam(), scaleByLearningRate(0.1));
        const flat = flattened(chain(scaleByAdam(), scaleByLearningRate(0.1)));
        const results = ([leafwise, flat] as GradientTransformation[]).map((opt) => {
          let state = opt.init(params);
          const out: [string, number[]][][] = [];
          for (const g of [g1, g2]) {
            const [u, next] = opt.update(g, state, params);
            out.push(flatten(u).map(([path, t]) => [`${path} ${t.shape}`, read(t)]));
            state = replace([state, u], next);
          }
          const leaves = flatten(state).length;
          dispose(state);
          return { out, leaves };
        });
        assert.deepEqual(results[1].out, results[0].out);
        // count, μ and ν: three leaves whatever the tree (leaf by leaf: 1 + 2n).
        assert.equal(results[1].leaves, 3 + 1);
        dispose([params, g1, g2]);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("flattened: non-float32 leaves are an error naming the leaf", () => {
  const opt = flattened(scaleByAdam());
  const params = { w: tf.ones([2]), steps: tf.scalar(1, "int32") };
  assert.throws(() => opt.init(params), /parameter leaf 'steps' is int32, not float32/);
  dispose(params);
});
