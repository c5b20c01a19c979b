import assert from "node:assert/strict";
import fc from "fast-check";
import {
  bits,
  foldIn,
  key,
  normal,
  permutation,
  randomInt,
  split,
  threefry2x32,
  uniform,
  uniformValues,
} from "../lib/random.ts";
import { on } from "./helpers.ts";

await on("cpu");

const hex = (pair: [number, number]) => pair.map((w) => w.toString(16).padStart(8, "0"));

Deno.test("threefry2x32 matches the Random123 known-answer vectors", () => {
  assert.deepEqual(hex(threefry2x32([0, 0], 0, 0)), ["6b200159", "99ba4efe"]);
  assert.deepEqual(
    hex(threefry2x32([0xffffffff, 0xffffffff], 0xffffffff, 0xffffffff)),
    ["1cb996fc", "bb002be7"],
  );
  assert.deepEqual(
    hex(threefry2x32([0x13198a2e, 0x03707344], 0x243f6a88, 0x85a308d3)),
    ["c4923a9c", "483df7a0"],
  );
});

const keyArb = fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }));

Deno.test("the same key gives bit-identical draws; split and foldIn give distinct keys", () => {
  fc.assert(
    fc.property(keyArb, fc.integer({ min: 1, max: 64 }), (k, n) => {
      assert.deepEqual(bits(k, n), bits(k, n));
      const children = split(k, 4).map((c) => c.join());
      const folded = [0, 1, 2, 3].map((i) => foldIn(k, i).join());
      assert.equal(new Set([...children, ...folded, k.join()]).size, 9);
      const a = normal(k, [n]), b = normal(k, [n]);
      assert.deepEqual(a.dataSync(), b.dataSync());
      a.dispose();
      b.dispose();
    }),
    { numRuns: 50 },
  );
});

Deno.test("uniform draws stay in range and look uniform", () => {
  const u = uniformValues(key(0), 100_000);
  assert.ok(u.every((x) => x > 0 && x < 1));
  const mean = u.reduce((a, b) => a + b, 0) / u.length;
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  const t = uniform(key(1), [1000], { min: -2, max: 3 });
  const v = [...t.dataSync()];
  assert.ok(v.every((x) => x >= -2 && x < 3));
  t.dispose();
});

Deno.test("normal draws have the requested mean and deviation; truncation holds", () => {
  const t = normal(key(2), [50_000], { mean: 1, stddev: 2 });
  const v = [...t.dataSync()];
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  assert.ok(Math.abs(mean - 1) < 0.05 && Math.abs(sd - 2) < 0.05, `${mean} ${sd}`);
  t.dispose();
  const c = normal(key(3), [10_000], { truncate: 2 });
  assert.ok(c.dataSync().every((x) => Math.abs(x) <= 2));
  c.dispose();
});

Deno.test("permutation is a permutation; randomInt stays in range", () => {
  fc.assert(fc.property(keyArb, fc.integer({ min: 0, max: 200 }), (k, n) => {
    const p = [...permutation(k, n)].sort((a, b) => a - b);
    assert.deepEqual(p, Array.from({ length: n }, (_, i) => i));
    const r = randomInt(k, -3, 4);
    assert.ok(Number.isInteger(r) && r >= -3 && r < 4);
  }));
});

Deno.test("bad seeds, keys and counts are errors", () => {
  assert.throws(() => key(-1), /seed/);
  assert.throws(() => key(1.5), /seed/);
  assert.throws(() => split([1, 2, 3] as unknown as [number, number]), /two unsigned 32-bit/);
  assert.throws(() => split(key(0), 0), /positive count/);
  assert.throws(() => foldIn(key(0), -1), /unsigned 32-bit/);
  assert.throws(() => randomInt(key(0), 3, 3), /low < high/);
});
