import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { key, normal, split } from "../lib/random.ts";
import { assertClose, on } from "./helpers.ts";
import { caseArb, checkCase } from "./conv_reference.ts";
await on("wasm");

Deno.test("wasm depthwise conv2d: values and gradients match cpu (and float64) on random geometry", async () => {
  await fc.assert(
    fc.asyncProperty(caseArb(true), fc.nat(1000), (c, seed) => checkCase(c, seed, ["wasm"])),
    { numRuns: 200 },
  );
});

Deno.test("wasm conv gradients at a realistic size (1×32×32×21, 3×3; stride 2; dilation 4)", async () => {
  for (const [stride, dilation] of [[1, 1], [2, 1], [1, 4]]) {
    await checkCase(
      {
        n: 1,
        h: 32,
        w: 32,
        ci: 21,
        co: 21,
        k: [3, 3],
        stride,
        dilation,
        pad: "same",
        depthwise: false,
      },
      stride * 10 + dilation,
      ["wasm"],
    );
  }
});

Deno.test("wasm 'same' strided convolutions agree with cpu (XNNPACK pads them differently)", async () => {
  const ops = {
    conv: (x: tf.Tensor4D, w: tf.Tensor4D, s: number) => tf.conv2d(x, w, s, "same"),
    depthwise: (x: tf.Tensor4D, w: tf.Tensor4D, s: number) => tf.depthwiseConv2d(x, w, s, "same"),
    fused: (x: tf.Tensor4D, w: tf.Tensor4D, s: number) =>
      tf.fused.conv2d({ x, filter: w, strides: s, pad: "same", activation: "relu" }),
    fusedDepthwise: (x: tf.Tensor4D, w: tf.Tensor4D, s: number) =>
      tf.fused.depthwiseConv2d({ x, filter: w, strides: s, pad: "same" }),
  };
  for (const [name, op] of Object.entries(ops)) {
    for (const [h, w, k, s] of [[5, 3, 2, 3], [2, 1, 2, 2], [7, 7, 3, 3]]) {
      const outs: Float32Array[] = [];
      for (const backend of ["cpu", "wasm"] as const) {
        await on(backend);
        const x = tf.tidy(() =>
          tf.reshape(tf.range(1, h * w * 2 + 1), [1, h, w, 2]).toFloat()
        ) as tf.Tensor4D;
        const f = tf.ones([k, k, 2, 1]) as tf.Tensor4D;
        const y = op(x, f, s);
        outs.push(new Float32Array(await y.data()));
        tf.dispose([x, f, y]);
      }
      assert.deepEqual(outs[1], outs[0], `${name} ${h}×${w} k${k} s${s}`);
    }
  }
});

Deno.test("wasm OneHot gives true float32 and int32 one-hots", async () => {
  const ids = [0, 3, 1, 7, -1, 2];
  const results: number[][] = [];
  for (const backend of ["cpu", "wasm"] as const) {
    await on(backend);
    for (const dtype of ["float32", "int32"] as const) {
      const t = tf.oneHot(tf.tensor1d(ids, "int32"), 4, 2, -1, dtype);
      assert.equal(t.dtype, dtype);
      results.push([...(await t.data())]);
      t.dispose();
    }
  }
  assert.deepEqual(results[2], results[0]);
  assert.deepEqual(results[3], results[1]);
  assert.deepEqual(results[0].slice(0, 8), [2, -1, -1, -1, -1, -1, -1, 2]);
});

Deno.test("wasm UnsortedSegmentSum and gather's gradient match cpu", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.nat(5), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 4 }),
      async (rows, picks, inner) => {
        const indices = picks.map((p) => p % rows);
        const outs: number[][] = [];
        for (const backend of ["cpu", "wasm"] as const) {
          await on(backend);
          const table = tf.tidy(() =>
            tf.reshape(tf.range(0, rows * inner), [rows, inner]).toFloat()
          );
          const idx = tf.tensor1d(indices, "int32");
          const weights = tf.tidy(() =>
            tf.reshape(tf.range(1, indices.length * inner + 1), [indices.length, inner]).toFloat()
          );
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), weights)))(table);
          const direct = tf.unsortedSegmentSum(weights, idx, rows + 1);
          outs.push([...(await g.data()), ...(await direct.data())]);
          tf.dispose([table, idx, weights, g, direct]);
        }
        assertClose(outs[1], outs[0], 1e-6, "segment sums");
      },
    ),
    { numRuns: 30 },
  );
});

Deno.test("a strided and dilated training-size net has every gradient kernel on wasm", async () => {
  await on("wasm");
  const [kx, kw] = split(key(5));
  const x = normal(kx, [1, 16, 16, 8]);
  const params = {
    conv: normal(kw, [3, 3, 8, 8]),
    depthwise: normal(kx, [3, 3, 8, 1]),
    table: normal(kw, [8, 4]),
  };
  const loss = (p: typeof params) => {
    let h = tf.relu6(tf.conv2d(x as tf.Tensor4D, p.conv as tf.Tensor4D, 2, "same"));
    h = tf.depthwiseConv2d(h as tf.Tensor4D, p.depthwise as tf.Tensor4D, 1, "same", "NHWC", 2);
    h = tf.maxPool(h as tf.Tensor4D, 2, 2, "same");
    h = tf.avgPool(h as tf.Tensor4D, 2, 1, "same");
    h = tf.image.resizeBilinear(h as tf.Tensor4D, [8, 8], false, true);
    const logits = tf.matMul(tf.reshape(h, [-1, 8]), p.table);
    const picked = tf.gather(logits, tf.tensor1d([0, 5, 5, 63], "int32"));
    return tf.add(tf.mean(tf.logSoftmax(logits)), tf.sum(tf.leakyRelu(picked, 0.2)));
  };
  const grads = tf.grads((c, d, t) => loss({ conv: c, depthwise: d, table: t }))([
    params.conv,
    params.depthwise,
    params.table,
  ]);
  for (const g of grads) assert.ok((await g.data()).every(Number.isFinite));
  tf.dispose([x, ...Object.values(params), ...grads]);
});

Deno.test("wasm Reverse (block copies) matches cpu on any shape and axes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: -4, max: 3 }), { maxLength: 3 }),
      async (shape, rawAxes) => {
        const rank = shape.length;
        const axes = [...new Set(rawAxes.map((a) => ((a % rank) + rank) % rank))];
        const size = shape.reduce((a, b) => a * b, 1);
        const results: number[][] = [];
        for (const backend of ["cpu", "wasm"] as const) {
          await on(backend);
          const x = tf.tensor(Array.from({ length: size }, (_, i) => i + 0.5), shape);
          const y = tf.reverse(x, axes);
          results.push([...await y.data()]);
          tf.dispose([x, y]);
        }
        assert.deepEqual(results[1], results[0]);
      },
    ),
    { numRuns: 100 },
  );
  await on("wasm");
});

Deno.test("wasm Slice, SplitV and Identity (heap views, shared data) match cpu", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(100), { minLength: 8, maxLength: 8 }),
      async (shape, picks) => {
        const rank = shape.length;
        const begin = shape.map((d, i) => picks[i] % d);
        const size = shape.map((d, i) => 1 + (picks[rank + i] % (d - begin[i])));
        const axis = picks[0] % rank;
        const splits = shape[axis] === 1 ? [1] : [1, shape[axis] - 1];
        const total = shape.reduce((a, b) => a * b, 1);
        const results: number[][][] = [];
        for (const backend of ["cpu", "wasm"] as const) {
          await on(backend);
          const x = tf.tensor(Array.from({ length: total }, (_, i) => i - 7.25), shape);
          const parts = [tf.slice(x, begin, size), ...tf.split(x, splits, axis), tf.clone(x)];
          results.push(await Promise.all(parts.map(async (p) => [...p.shape, ...await p.data()])));
          tf.dispose([x, ...parts]);
        }
        assert.deepEqual(results[1], results[0]);
      },
    ),
    { numRuns: 150 },
  );
  await on("wasm");
  // A clone outlives its source: the shared data is reference-counted.
  const x = tf.tensor1d([1, 2, 3]);
  const copy = tf.clone(x);
  x.dispose();
  assert.deepEqual([...await copy.data()], [1, 2, 3]);
  copy.dispose();
});
