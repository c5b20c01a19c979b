import assert from "node:assert/strict";
import fc from "fast-check";
import { type Tensor, tf } from "../lib/tf.ts";
import {
  assertSameStructure,
  clone,
  count,
  dispose,
  flatten,
  leaves,
  map,
  type Tree,
  unflatten,
  zipMap,
} from "../lib/tree.ts";
import { on } from "./helpers.ts";

await on("cpu");

const keyArb = fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/);
// A tree skeleton with numbers for leaves; tensors are made from it.
const skeletonArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.integer({ min: 1, max: 4 }),
    fc.array(tie("node"), { minLength: 1, maxLength: 3 }),
    fc.dictionary(keyArb, tie("node"), { minKeys: 1, maxKeys: 3 }),
  ),
})).node;

function materialise(skeleton: unknown): Tree {
  if (typeof skeleton === "number") return tf.fill([skeleton], skeleton);
  if (Array.isArray(skeleton)) return skeleton.map(materialise);
  return Object.fromEntries(
    Object.entries(skeleton as Record<string, unknown>).map(([k, v]) => [k, materialise(v)]),
  );
}

function signature(tree: Tree): [string, number[], number[]][] {
  return flatten(tree).map(([p, t]) => [p, t.shape, [...t.dataSync()]]);
}

Deno.test("flatten then unflatten gives back the same tree", () => {
  fc.assert(
    fc.property(skeletonArb, (skeleton) => {
      const tree = materialise(skeleton);
      try {
        const rebuilt = unflatten(flatten(tree));
        assert.deepEqual(signature(rebuilt), signature(tree));
        assertSameStructure(rebuilt, tree);
        assert.equal(leaves(rebuilt).length, leaves(tree).length);
      } finally {
        dispose(tree);
      }
    }),
    { numRuns: 150 },
  );
});

Deno.test("map with the identity keeps structure, paths and leaves", () => {
  fc.assert(
    fc.property(skeletonArb, (skeleton) => {
      const tree = materialise(skeleton);
      try {
        const same = map(tree, (t) => t);
        assert.deepEqual(flatten(same).map(([p]) => p), flatten(tree).map(([p]) => p));
        assert.deepEqual(leaves(same), leaves(tree)); // the very same tensors
      } finally {
        dispose(tree);
      }
    }),
    { numRuns: 150 },
  );
});

Deno.test("paths are canonical: sorted keys, then indices", () => {
  const tree = { z: tf.scalar(1), a: [tf.scalar(2), { k: tf.scalar(3) }] };
  assert.deepEqual(flatten(tree).map(([p]) => p), ["a/0", "a/1/k", "z"]);
  const nested = {
    backbone: { layer1: [{ conv1: { kernel: tf.zeros([1]) } }] },
  };
  assert.deepEqual(flatten(nested).map(([p]) => p), ["backbone/layer1/0/conv1/kernel"]);
  dispose([tree, nested]);
});

Deno.test("trees of different structure: the error names the first differing path", () => {
  fc.assert(
    fc.property(skeletonArb, fc.nat(), (skeleton, pick) => {
      const tree = materialise(skeleton);
      try {
        const entries = flatten(tree);
        const [victim] = entries[pick % entries.length];
        fc.pre(entries.length > 1 && !/(^|\/)[0-9]+$/.test(victim));
        let pruned: Tree;
        try {
          pruned = unflatten(entries.filter(([p]) => p !== victim));
        } catch {
          fc.pre(false); // removal emptied an array element: not a tree of the same kind
          return;
        }
        let message = "";
        try {
          assertSameStructure(tree, pruned);
        } catch (error) {
          message = (error as Error).message;
        }
        assert.match(message, /tree structures differ at/);
        // The path named is the removed leaf or one of its ancestors.
        const named = /at '([^']*)'/.exec(message)?.[1] ?? "";
        assert.ok(
          victim === named || victim.startsWith(named + "/") || named.startsWith(victim),
          `${message} does not name ${victim}`,
        );
      } finally {
        dispose(tree);
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("structure errors are specific", () => {
  const a = { conv: { kernel: tf.scalar(1), bias: tf.scalar(2) } };
  const b = { conv: { kernel: tf.scalar(1) } };
  assert.throws(
    () => assertSameStructure(a, b),
    /differ at 'conv\/bias': present in the first tree only/,
  );
  assert.throws(
    () => zipMap([a, b], ([x]) => x),
    /differ at 'conv\/bias'/,
  );
  const c = { layers: [tf.scalar(1), tf.scalar(2)] }, d = { layers: [tf.scalar(1)] };
  assert.throws(() => assertSameStructure(c, d), /differ at 'layers\/1'/);
  const e = { w: tf.scalar(1) }, f = { w: { v: tf.scalar(1) } };
  assert.throws(() => assertSameStructure(e, f), /differ at 'w': a tensor .* against a record/);
  dispose([a, b, c, d, e, f]);
});

Deno.test("invalid trees and keys are rejected with the path", () => {
  assert.throws(
    () => flatten({ a: { b: 3 } } as unknown as Tree),
    /number \(not a tree node\) at 'a\/b'/,
  );
  const t = tf.scalar(1);
  assert.throws(() => flatten({ "a/b": t }), /invalid record key "a\/b"/);
  assert.throws(() => flatten({ "0": t }), /invalid record key "0"/);
  assert.throws(() => unflatten([["a", t], ["a/b", t]]), /passes through a leaf/);
  assert.throws(() => unflatten([["x/1", t]]), /looks like an array index/);
  t.dispose();
});

Deno.test("zipMap, count, clone and dispose", () => {
  const p = { w: tf.tensor1d([1, 2, 3]), b: [tf.scalar(4)] };
  const g = { w: tf.tensor1d([1, 1, 1]), b: [tf.scalar(1)] };
  const before = tf.memory().numTensors;
  const s = zipMap([p, g], ([x, y], path) => (path === "w" ? tf.sub(x, y) : tf.add(x, y)));
  assert.deepEqual([...s.w.dataSync()], [0, 1, 2]);
  assert.deepEqual([...s.b[0].dataSync()], [5]);
  assert.equal(count(p), 4);
  const copy = clone(p);
  assert.notEqual(copy.w, p.w);
  dispose(p);
  assert.deepEqual([...copy.w.dataSync()], [1, 2, 3]);
  dispose([s, copy]);
  assert.equal(tf.memory().numTensors, before - 2);
  dispose(g);
});

Deno.test("dispose disposes a tensor held twice only once", () => {
  const t = tf.scalar(1);
  const before = tf.memory().numTensors;
  dispose({ a: t, b: [t] });
  assert.equal(tf.memory().numTensors, before - 1);
});

Deno.test("a record key holding undefined is absent: optional parts of a model type-check and flatten away", () => {
  type WithOptional = { seg: Tensor; disc?: { w: Tensor } };
  const a = tf.scalar(1), w = tf.scalar(2);
  const without: WithOptional = { seg: a, disc: undefined };
  const withDisc: WithOptional = { seg: a, disc: { w } };
  assert.deepEqual(flatten(without).map(([p]) => p), ["seg"]);
  assert.deepEqual(flatten(withDisc).map(([p]) => p), ["disc/w", "seg"]);
  assertSameStructure(without, { seg: a });
  assert.throws(
    () => assertSameStructure(without, withDisc),
    /differ at 'disc': present in the second tree only/,
  );
  const doubled = map(without, (t) => tf.mul(t, 2));
  assert.deepEqual(Object.keys(doubled), ["seg"]);
  dispose([doubled, withDisc]);
});
