import assert from "node:assert/strict";
import { tf } from "../lib/tf.ts";
import { key, split } from "../lib/random.ts";
import { replace } from "../lib/memory.ts";
import { dispose, flatten, type Tree } from "../lib/tree.ts";
import { initReference, makeReferenceStep, referenceBatch } from "../model/reference_net.ts";
import { on } from "./helpers.ts";

const SMALL = { width: 8, classes: 5, discWidth: 4 };

/** Trains the small reference net for `steps` steps; returns the final parameter values. */
async function train(seed: number, steps: number, watch?: (step: number) => void) {
  const [initKey, dataKey] = split(key(seed));
  let params = initReference(initKey, SMALL);
  const { init, step } = makeReferenceStep(1e-2);
  let state = init(params);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const batch = referenceBatch(split(dataKey, steps)[i], { batch: 2, size: 16, classes: 5 });
    const [p, s, metrics] = step(params, state, batch);
    losses.push((await metrics.loss.data())[0]);
    [params, state] = replace([params, state, metrics, batch], [p, s]);
    watch?.(i);
  }
  const values = await Promise.all(
    flatten(params).map(async ([path, t]) => [path, new Float32Array(await t.data())] as const),
  );
  dispose([params, state] as Tree[]);
  return { values, losses };
}

Deno.test("the same key gives bit-identical parameters after 3 steps on wasm", async () => {
  await on("wasm");
  const a = await train(7, 3), b = await train(7, 3), c = await train(8, 3);
  assert.equal(a.values.length, 18);
  for (let i = 0; i < a.values.length; i++) {
    const [path, va] = a.values[i], [, vb] = b.values[i];
    assert.deepEqual(new Uint32Array(va.buffer), new Uint32Array(vb.buffer), `${path} differs`);
  }
  assert.ok(
    a.values.some(([, v], i) => v.some((x, j) => x !== c.values[i][1][j])),
    "another key, other parameters",
  );
});

Deno.test("training leaks no tensor over 50 steps, and the loss falls", async () => {
  await on("wasm");
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  const { losses } = await train(3, 50, () => counts.push(tf.memory().numTensors));
  assert.ok(counts.every((n) => n === counts[0]), `tensor counts vary: ${[...new Set(counts)]}`);
  assert.equal(tf.memory().numTensors, before);
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < first, `loss ${first} → ${last}`);
});

Deno.test("a step neither mutates nor disposes its inputs", async () => {
  await on("wasm");
  const [k1, k2] = split(key(1));
  const params = initReference(k1, SMALL);
  const batch = referenceBatch(k2, { batch: 1, size: 16, classes: 5 });
  const { init, step } = makeReferenceStep();
  const state = init(params);
  const snapshot = async (t: Tree) =>
    await Promise.all(flatten(t).map(async ([p, v]) => [p, [...await v.data()]]));
  const before = await snapshot([params, state, batch] as Tree);
  const [p, s, m] = step(params, state, batch);
  assert.deepEqual(await snapshot([params, state, batch] as Tree), before);
  dispose([params, state, batch, p, s, m] as Tree[]);
});
