import assert from "node:assert/strict";
import { tf } from "../lib/tf.ts";
import { stopGradient, valueAndGrad, withoutGradient } from "../lib/grad.ts";
import { dispose } from "../lib/tree.ts";
import { on } from "./helpers.ts";

await on("cpu");

Deno.test("valueAndGrad returns the value, metrics and a gradient tree", () => {
  const params = { a: tf.tensor1d([1, 2]), nested: { b: tf.scalar(3) }, unused: tf.zeros([2, 2]) };
  const x = tf.tensor1d([0.5, -1]);
  const before = tf.memory().numTensors;
  const f = (p: typeof params, input: tf.Tensor) => {
    const y = tf.add(tf.mul(p.a, input), p.nested.b); // [3.5, 1]
    return { loss: tf.sum(tf.square(y)), metrics: { y, mean: tf.mean(y) } };
  };
  const { value, metrics, grads } = valueAndGrad(f)(params, x);
  assert.equal(value.dataSync()[0], 3.5 ** 2 + 1);
  assert.deepEqual([...metrics.y.dataSync()], [3.5, 1]);
  assert.equal(metrics.mean.dataSync()[0], 2.25);
  assert.deepEqual([...grads.a.dataSync()], [2 * 3.5 * 0.5, 2 * 1 * -1]);
  assert.deepEqual([...grads.nested.b.dataSync()], [2 * 3.5 + 2 * 1]);
  assert.deepEqual([...grads.unused.dataSync()], [0, 0, 0, 0]);
  // Exactly the returned tensors are new: value, 2 metrics, 3 gradients.
  assert.equal(tf.memory().numTensors, before + 6);
  dispose([value, metrics, grads, params, x]);
});

Deno.test("valueAndGrad inside tf.tidy leaks nothing", () => {
  const params = { w: tf.scalar(2) };
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const { grads } = valueAndGrad((p: typeof params) => ({
      loss: tf.square(p.w),
      metrics: { twice: tf.mul(p.w, 2) },
    }))(params);
    return grads.w;
  });
  assert.equal(out.dataSync()[0], 4);
  assert.equal(tf.memory().numTensors, before + 1);
  dispose([out, params]);
});

Deno.test("a function that returns no scalar loss is an error", () => {
  const params = { w: tf.tensor1d([1, 2]) };
  assert.throws(
    () => valueAndGrad((p: typeof params) => ({ loss: p.w }))(params),
    /must return \{ loss: <scalar tensor>/,
  );
  dispose(params);
});

Deno.test("stopGradient passes values and blocks gradients", () => {
  const params = { w: tf.scalar(3) };
  const { value, grads } = valueAndGrad((p: typeof params) => ({
    loss: tf.mul(p.w, stopGradient(p.w)),
  }))(params);
  assert.equal(value.dataSync()[0], 9);
  assert.equal(grads.w.dataSync()[0], 3);
  dispose([value, grads, params]);
});

Deno.test("a metric may be the loss itself", () => {
  const params = { w: tf.scalar(3) };
  const { value, metrics, grads } = valueAndGrad((p: typeof params) => {
    const loss = tf.square(p.w);
    return { loss, metrics: { loss } };
  })(params);
  assert.equal(value.dataSync()[0], 9);
  assert.equal(metrics.loss.dataSync()[0], 9);
  assert.equal(grads.w.dataSync()[0], 6);
  dispose([value, metrics, grads, params]);
});

Deno.test("withoutGradient: comparisons inside a loss, no gradient through them", () => {
  const params = { w: tf.tensor1d([-1, 2, 3]) };
  const before = tf.memory().numTensors;
  const { value, grads } = valueAndGrad((p: typeof params) => {
    const mask = withoutGradient((w) => tf.cast(tf.greater(w, 0), "float32"), p.w);
    return { loss: tf.sum(tf.mul(tf.square(p.w), mask)) };
  })(params);
  assert.equal(value.dataSync()[0], 13);
  assert.deepEqual([...grads.w.dataSync()], [0, 4, 6]);
  assert.equal(tf.memory().numTensors, before + 2);
  dispose([value, grads, params]);
});
