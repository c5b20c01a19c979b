import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { key, normal, split } from "../lib/random.ts";
import { assertClose, on } from "./helpers.ts";
import { caseArb, checkCase, geometry as referenceGeometry } from "./conv_reference.ts";
import {
  nativeKernelSetting,
  nativeKernelSharedJobs,
  nativeKernelThreads,
} from "../lib/kernels/native_adapters.ts";
import { useOurKernels, WASM_KERNELS } from "../lib/kernels/wasm_registry.ts";
import { ADAM, BATCH_NORM, DEPTHWISE_BIAS_ACTIVATION, SOFTMAX_GRAD } from "../lib/kernels/fused.ts";
import { depthwiseBiasActivation } from "../lib/depthwise_bias_activation.ts";
import {
  type NativeConvGeometry,
  NativeKernels,
  type PoolGeometry,
} from "../lib/kernels/native/engine.ts";
import {
  conv2d,
  conv2dFilterGrad,
  conv2dInputGrad,
  depthwiseConv,
  depthwiseFilterGrad,
  depthwiseInputGrad,
} from "../lib/kernels/families/convolution.ts";
import { activationGrad, exp, leakyRelu, relu6Grad } from "../lib/kernels/families/elementwise.ts";
import { maxPoolGrad, resizeBilinearGrad } from "../lib/kernels/families/resampling.ts";
import {
  softmaxRows,
  softmaxRowsGrad,
  sparseSoftmaxCrossEntropy,
  sparseSoftmaxCrossEntropyGrad,
  sumRows,
} from "../lib/kernels/families/rows.ts";
import { KERNELS_WASM_BASE64 } from "../lib/kernels/native/kernels_wasm.ts";
import { conv2dBiasActivation } from "../lib/conv2d_bias_activation.ts";
import { scaleByAdam } from "../lib/optim/transforms.ts";
import { batchNorm } from "../model/layers.ts";

await on("wasm");

Deno.test("wasm conv2d: values and gradients match cpu (and float64) on random geometry", async () => {
  await fc.assert(
    fc.asyncProperty(caseArb(false), fc.nat(1000), (c, seed) => checkCase(c, seed, ["wasm"])),
    { numRuns: 300 },
  );
});

Deno.test("our wasm convolution kernels are on by default and match cpu past one register tile", async () => {
  assert.ok(nativeKernelThreads() >= 1);
  await fc.assert(
    fc.asyncProperty(caseArb(false, true), fc.nat(1000), (c, seed) => checkCase(c, seed, ["wasm"])),
    { numRuns: 60 },
  );
});

Deno.test("our wasm kernels work in tfjs's heap by default, and in their own memory (copying) match cpu too", async () => {
  const { threads, heap } = nativeKernelSetting();
  assert.ok(heap, "the threaded build's heap is shared: no copies");
  useOurKernels(threads);
  try {
    assert.equal(nativeKernelSetting().heap, undefined);
    await fc.assert(
      fc.asyncProperty(
        caseArb(false, true),
        fc.nat(1000),
        (c, seed) => checkCase(c, seed, ["wasm"]),
      ),
      { numRuns: 30 },
    );
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() =>
        tf.sum(
          tf.where(
            tf.greater(tf.exp(tf.range(0, 8192).div(4096)), 2),
            tf.ones([8192]),
            tf.zeros([8192]),
          ),
          0,
        )
      )
    );
    assert.deepEqual(wasm, cpu);
  } finally {
    useOurKernels(threads, heap);
  }
});

Deno.test("our kernel module has no data segments and no start function (instantiating it writes nothing into tfjs's heap)", () => {
  const bytes = Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
  const sections: number[] = [];
  for (let at = 8; at < bytes.length;) {
    sections.push(bytes[at++]);
    let length = 0;
    for (let shift = 0;; shift += 7) {
      const byte = bytes[at++];
      length |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    at += length;
  }
  assert.ok(sections.includes(10), "a code section");
  assert.ok(!sections.includes(8) && !sections.includes(11), `sections ${sections}`);
});

Deno.test("our kernels in tfjs's heap grow their workspace past the first megabyte", async () => {
  assert.ok(nativeKernelSetting().heap);
  const c = {
    n: 1,
    h: 64,
    w: 64,
    ci: 4,
    co: 64,
    k: [3, 3] as [number, number],
    stride: 1,
    dilation: 1,
    pad: "same" as const,
    depthwise: false,
  };
  await checkCase(c, 11, ["wasm"]);
});

Deno.test("our kernels in a shared heap free exactly the blocks they allocated when the workspace grows", () => {
  // A heap whose allocator hands out blocks 8 bytes past a 64-byte boundary,
  // as malloc may: freeing the aligned start instead corrupted tfjs's heap.
  const memory = new WebAssembly.Memory({ initial: 512, maximum: 4096, shared: true });
  let top = 1 << 20;
  const allocated = new Set<number>(), freed: number[] = [];
  const heap = {
    memory,
    malloc: (bytes: number) => {
      const at = Math.ceil(top / 64) * 64 + 8;
      top = at + bytes;
      if (top > memory.buffer.byteLength) {
        memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
      }
      allocated.add(at);
      return at;
    },
    free: (at: number) => void freed.push(at),
  };
  const engine = new NativeKernels(1, heap);
  const g: NativeConvGeometry = {
    batch: 1,
    inHeight: 64,
    inWidth: 64,
    inChannels: 8,
    outHeight: 64,
    outWidth: 64,
    outChannels: 64,
    filterHeight: 3,
    filterWidth: 3,
    strides: [1, 1],
    dilations: [1, 1],
    padBefore: [1, 1],
  };
  const x = new Float32Array(64 * 64 * 8).fill(1), dy = new Float32Array(64 * 64 * 64).fill(1);
  const dw = conv2dFilterGrad(engine, x, dy, g);
  assert.ok(freed.length > 0, "the workspace grew");
  for (const at of freed) assert.ok(allocated.has(at), `freed ${at}, never allocated`);
  // Every entry sums dy over the positions whose tap lands inside the image.
  assert.equal(dw[4 * 8 * 64], 64 * 64);
});

Deno.test("wasm conv2d on XNNPACK (our kernels off) still matches cpu", async () => {
  const threads = nativeKernelThreads();
  useOurKernels(0);
  try {
    await fc.assert(
      fc.asyncProperty(caseArb(false), fc.nat(1000), (c, seed) => checkCase(c, seed, ["wasm"])),
      { numRuns: 100 },
    );
  } finally {
    useOurKernels(threads);
  }
});

Deno.test("wasm filters over 64 taps (beyond our kernels) fall back and match cpu", async () => {
  const c = {
    n: 1,
    h: 12,
    w: 12,
    ci: 3,
    co: 4,
    k: [9, 9] as [number, number],
    stride: 1,
    dilation: 1,
    pad: "same" as const,
    depthwise: false,
  };
  await checkCase(c, 7, ["wasm"]);
});

Deno.test("our convolution kernels give bit-identical results on 1, 2 and 3 threads", () => {
  const g: NativeConvGeometry = {
    batch: 2,
    inHeight: 23,
    inWidth: 19,
    inChannels: 29,
    outHeight: 12,
    outWidth: 10,
    outChannels: 37,
    filterHeight: 4,
    filterWidth: 3,
    strides: [2, 2],
    dilations: [1, 1],
    padBefore: [1, 1],
  };
  const [kx, kw, kd] = split(key(5), 3);
  const draw = (k: typeof kx, shape: number[]) =>
    tf.tidy(() => normal(k, shape).dataSync() as Float32Array);
  const x = draw(kx, [g.batch, g.inHeight, g.inWidth, g.inChannels]);
  const w = draw(kw, [g.filterHeight, g.filterWidth, g.inChannels, g.outChannels]);
  const dy = draw(kd, [g.batch, g.outHeight, g.outWidth, g.outChannels]);
  const results = [1, 2, 3].map((threads) => {
    const engine = new NativeKernels(threads);
    const out = [
      Float32Array.from(conv2d(engine, x, w, g)),
      Float32Array.from(conv2dInputGrad(engine, dy, w, g)),
      Float32Array.from(conv2dFilterGrad(engine, x, dy, g)),
    ];
    assert.equal(engine.sharedJobs, threads > 1 ? 3 : 0);
    return out;
  });
  for (const other of results.slice(1)) assert.deepEqual(other, results[0]);
  assert.ok(results[0][0].some((v) => v !== 0));
});

Deno.test("our elementwise kernels and reductions give bit-identical results on 1, 2 and 3 threads", () => {
  const n = 600_000, rows = 8000, cols = 67;
  const values = tf.tidy(() => normal(key(9), [n]).dataSync() as Float32Array);
  const grads = tf.tidy(() => normal(key(10), [n]).dataSync() as Float32Array);
  const pool: PoolGeometry = {
    batch: 3,
    inHeight: 100,
    inWidth: 100,
    channels: 20,
    outHeight: 50,
    outWidth: 50,
    filterSize: [3, 3],
    strides: [2, 2],
    dilations: [1, 1],
    padBefore: [1, 1],
  };
  const results = [1, 2, 3].map((threads) => {
    const engine = new NativeKernels(threads);
    const out = [
      Float32Array.from(exp(engine, values, n)),
      Float32Array.from(leakyRelu(engine, values, n, 0.2)),
      Float32Array.from(activationGrad(engine, values, grads, n, 0.1, true)),
      Float32Array.from(sumRows(engine, values.subarray(0, rows * cols), rows, cols)),
      Float32Array.from(sumRows(engine, values.subarray(0, rows * cols), rows, cols, true)),
      Float32Array.from(maxPoolGrad(engine, values, grads.subarray(0, 3 * 50 * 50 * 20), pool)),
      Float32Array.from(
        resizeBilinearGrad(
          engine,
          values.subarray(0, 3 * 200 * 200 * 5),
          [3, 200, 200, 5],
          50,
          50,
          [
            0.25,
            0.25,
          ],
          true,
        ),
      ),
    ];
    assert.equal(engine.sharedJobs, threads > 1 ? out.length : 0);
    return out;
  });
  // Bit patterns (NaN included), compared as integers: deepEqual takes seconds here.
  const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (const other of results.slice(1)) {
    other.forEach((result, k) => {
      const want = bits(results[0][k]), got = bits(result);
      assert.equal(got.length, want.length);
      const first = got.findIndex((v, i) => v !== want[i]);
      assert.equal(first, -1, `result ${k} differs at ${first}`);
    });
  }
  assert.ok(results[0][3].every(Number.isFinite) && results[0][0].some((v) => v > 1));
});

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

/** Runs `f` on cpu and on wasm (our kernels) and returns both results' values. */
async function onBoth(f: () => tf.Tensor): Promise<{ cpu: Float32Array; wasm: Float32Array }> {
  const out: Record<string, Float32Array> = {};
  for (const backend of ["cpu", "wasm"] as const) {
    await on(backend);
    const y = f();
    out[backend] = new Float32Array(await y.data());
    y.dispose();
  }
  return { cpu: out.cpu, wasm: out.wasm };
}

// At least 4096 elements: below that tfjs's own elementwise kernels run.
const shapeArb = fc.tuple(
  fc.integer({ min: 1, max: 3 }),
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 1, max: 13 }),
).filter((shape) => shape.reduce((a, b) => a * b, 1) >= 4096);

Deno.test("our wasm Exp, LeakyRelu, Greater, Select and leading-axes Sum and Mean match cpu", async () => {
  assert.ok(nativeKernelThreads() >= 1);
  await fc.assert(
    fc.asyncProperty(shapeArb, fc.nat(1000), fc.boolean(), async (shape, seed, keepDims) => {
      const [kx, ky] = split(key(seed));
      const make = (k: typeof kx, scale: number) =>
        tf.tidy(() => normal(k, shape).mul(scale).dataSync() as Float32Array);
      const xs = make(kx, 10), ys = make(ky, 1);
      const x = () => tf.tensor(xs, shape), y = () => tf.tensor(ys, shape);
      const cases: [string, () => tf.Tensor, number][] = [
        ["exp", () => tf.exp(x()), 3e-7],
        // cpu multiplies by α in double precision, wasm (tfjs's or ours) in single.
        ["leakyRelu", () => tf.leakyRelu(x(), 0.2), 1e-7],
        ["greater scalar", () => tf.greater(x(), 0.5).toFloat(), 0],
        ["greater", () => tf.greater(x(), y()).toFloat(), 0],
        ["select", () => tf.where(tf.greater(x(), y()), x(), y()), 0],
        ["sum 1 axis", () => tf.sum(x(), 0, keepDims), 1e-6],
        ["sum 3 axes", () => tf.sum(x(), [0, 1, 2], keepDims), 1e-6],
        ["sum all", () => tf.sum(x()), 1e-6],
        ["mean 3 axes", () => tf.mean(x(), [0, 1, 2], keepDims), 1e-6],
        ["mean 2 axes", () => tf.mean(x(), [1, 0], keepDims), 1e-6],
      ];
      for (const [name, f] of cases) {
        const { cpu, wasm } = await onBoth(() => tf.tidy(f));
        assertClose(wasm, cpu, tolerance(name), `${name} ${shape}`);
        if (name === "exp") {
          // Element by element too: e^x spans many orders of magnitude here.
          const worst = Math.max(...cpu.map((v, i) => Math.abs(wasm[i] - v) / v));
          assert.ok(worst <= 3e-7, `exp ${shape}: relative error ${worst}`);
        }
      }
      function tolerance(name: string) {
        return cases.find(([n]) => n === name)![2];
      }
    }),
    { numRuns: 25 },
  );
});

Deno.test("our wasm Exp at the edges: ±∞, NaN, overflow, subnormal results, 0", async () => {
  const special = [Infinity, -Infinity, NaN, 88.7, 89, 100, -87, -100, -103.9, -110, 0, -0, 1e-30];
  const values = Float32Array.from({ length: 8192 }, (_, i) => special[i % special.length]);
  const { cpu, wasm } = await onBoth(() => tf.exp(tf.tensor1d(values)));
  for (let i = 0; i < special.length; i++) {
    const [got, want] = [wasm[i], cpu[i]];
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `exp(${special[i]}) = ${got}`);
    else if (want === 0 || !Number.isFinite(want)) assert.equal(got, want, `exp(${special[i]})`);
    // Subnormal results keep fewer significant bits: compare against their spacing.
    else {assert.ok(
        Math.abs(got - want) <= Math.max(Math.abs(want) * 3e-7, 2 ** -149),
        `exp(${special[i]}) = ${got}, not ${want}`,
      );}
  }
});

Deno.test("bilinear resize (half-pixel centres or not): the gradient is the forward map's transpose on cpu and wasm", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.boolean(),
      fc.nat(1000),
      async (ih, iw, oh, ow, halfPixel, seed) => {
        await on("cpu");
        const c = 2, inSize = ih * iw * c;
        const weights = tf.tidy(() => normal(key(seed), [1, oh, ow, c]).dataSync() as Float32Array);
        const forward = (x: tf.Tensor) =>
          tf.sum(tf.mul(
            tf.image.resizeBilinear(x as tf.Tensor4D, [oh, ow], false, halfPixel),
            tf.tensor4d(weights, [1, oh, ow, c]),
          ));
        // The forward map is linear: its transpose applied to the weights is
        // the value of the loss at each basis image.
        const exact = new Float32Array(inSize);
        for (let i = 0; i < inSize; i++) {
          exact[i] = tf.tidy(() =>
            forward(tf.oneHot([i], inSize).toFloat().reshape([1, ih, iw, c])).dataSync()[0]
          );
        }
        const x = new Float32Array(inSize);
        const { cpu, wasm } = await onBoth(() =>
          tf.tidy(() => tf.grad(forward)(tf.tensor4d(x, [1, ih, iw, c])))
        );
        assertClose(cpu, exact, 1e-5, `cpu ${ih}×${iw} → ${oh}×${ow}`);
        assertClose(wasm, exact, 1e-5, `wasm ${ih}×${iw} → ${oh}×${ow}`);
      },
    ),
    { numRuns: 40 },
  );
  await on("wasm");
});

Deno.test("our wasm MaxPoolGrad matches cpu, ties going to the first maximum", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 13 }),
      fc.integer({ min: 1, max: 13 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom("same" as const, "valid" as const),
      fc.boolean(),
      fc.nat(1000),
      async (n, h, w, c, k, s, pad, ties, seed) => {
        if (pad === "valid" && (k > h || k > w)) return;
        const shape = [n, h, w, c];
        const xs = tf.tidy(() => {
          const v = normal(key(seed), shape);
          // Rounded to a few values: many windows hold several maxima.
          return (ties ? tf.round(v) : v).dataSync() as Float32Array;
        });
        const pool = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, k, s, pad);
        const { cpu, wasm } = await onBoth(() =>
          tf.tidy(() => {
            const x = tf.tensor4d(xs, shape as [number, number, number, number]);
            const dy = tf.tidy(() => normal(key(seed + 1), pool(x).shape));
            return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(pool(v), dy)))(x);
          })
        );
        assertClose(wasm, cpu, 1e-6, `maxPool grad ${shape} k${k} s${s} ${pad}`);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("our row-wise softmax and sparse cross-entropy kernels match float64 and write nothing outside their outputs", () => {
  // A heap of our own: every output sits between sentinel values.
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 4096, shared: true });
  let top = 1 << 16;
  const heap = {
    memory,
    malloc: (bytes: number) => {
      const at = Math.ceil(top / 16) * 16;
      top = at + bytes + 64;
      if (top > memory.buffer.byteLength) {
        memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
      }
      return at;
    },
    free: () => {},
  };
  const SENTINEL = -12345.5, GUARD = 8;
  const place = (values: Float32Array | Int32Array) => {
    const at = heap.malloc(4 * (values.length + 2 * GUARD)) + 4 * GUARD;
    new Float32Array(memory.buffer, at - 4 * GUARD, values.length + 2 * GUARD).fill(SENTINEL);
    new Uint8Array(memory.buffer, at, values.byteLength).set(new Uint8Array(values.buffer));
    return at;
  };
  const guardsIntact = (at: number, length: number) =>
    [
      ...new Float32Array(memory.buffer, at - 4 * GUARD, GUARD),
      ...new Float32Array(memory.buffer, at + 4 * length, GUARD),
    ].every((v) => v === SENTINEL);
  const engines = [new NativeKernels(1, heap), new NativeKernels(2, heap)];
  const check = (rows: number, classes: number, seed: number) => {
    const random = fc.sample(fc.float({ min: -40, max: 40, noNaN: true }), {
      numRuns: rows * classes,
      seed,
    });
    const z = Float32Array.from(random);
    const ids = Int32Array.from({ length: rows }, (_, i) => ((i * 7 + seed) % (classes + 2)) - 1);
    const dp = Float32Array.from(z, (v, i) => Math.sin(v + i));
    const dloss = Float32Array.from({ length: rows }, (_, i) => Math.cos(i));
    for (const engine of engines) {
      const zAt = { at: place(z) }, idsAt = { at: place(ids) }, dpAt = { at: place(dp) };
      const dlossAt = { at: place(dloss) };
      const outs = {
        p: place(new Float32Array(rows * classes)),
        dz: place(new Float32Array(rows * classes)),
        loss: place(new Float32Array(rows)),
        stats: place(new Float32Array(2 * rows)),
        dx: place(new Float32Array(rows * classes)),
      };
      const p = Float32Array.from(softmaxRows(engine, zAt, rows, classes, outs.p));
      const dz = Float32Array.from(
        softmaxRowsGrad(engine, { at: outs.p }, dpAt, rows, classes, outs.dz),
      );
      const { loss, stats } = sparseSoftmaxCrossEntropy(engine, zAt, idsAt, rows, classes, outs);
      const dx = sparseSoftmaxCrossEntropyGrad(
        engine,
        zAt,
        idsAt,
        { at: outs.stats },
        dlossAt,
        rows,
        classes,
        outs.dx,
      );
      for (const [name, at] of Object.entries(outs)) {
        const length = name === "loss" ? rows : name === "stats" ? 2 * rows : rows * classes;
        assert.ok(
          guardsIntact(at, length),
          `${name}: wrote outside its output (${rows}×${classes})`,
        );
      }
      for (let r = 0; r < rows; r++) {
        const row = Array.from(z.subarray(r * classes, (r + 1) * classes));
        const top = Math.max(...row);
        const l = top + Math.log(row.reduce((s, v) => s + Math.exp(v - top), 0));
        const labelled = ids[r] >= 0 && ids[r] < classes;
        const at = `${rows}×${classes} on ${engine.threads}, row ${r}`;
        assert.ok(stats[2 * r] === top, `max ${at}: ${stats[2 * r]} vs ${top}`); // ±0 alike
        assert.ok(Math.abs(stats[2 * r + 1] - (l - top)) <= 1e-6, `log-sum ${at}`);
        assert.ok(
          Math.abs(loss[r] - (labelled ? l - row[ids[r]] : 0)) <= 1e-5 * Math.max(1, l - top + 40),
          `loss ${at}`,
        );
        let dot = 0;
        for (let c = 0; c < classes; c++) dot += Math.exp(row[c] - l) * dp[r * classes + c];
        for (let c = 0; c < classes; c++) {
          const i = r * classes + c, q = Math.exp(row[c] - l);
          assert.ok(Math.abs(p[i] - q) <= 1e-6, `softmax ${at}`);
          assert.ok(Math.abs(dz[i] - q * (dp[i] - dot)) <= 1e-5, `softmax grad ${at}`);
          const want = labelled ? dloss[r] * (q - (c === ids[r] ? 1 : 0)) : 0;
          assert.ok(Math.abs(dx[i] - want) <= 1e-6, `cross-entropy grad ${at}`);
        }
      }
    }
  };
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 90 }),
      fc.integer({ min: 1, max: 40 }),
      fc.nat(99),
      check,
    ),
    { numRuns: 40 },
  );
  // Large enough to be split over both threads, a row block boundary inside each share.
  const shared = engines[1].sharedJobs;
  check(3001, 23, 5);
  assert.equal(engines[1].sharedJobs, shared + 4);
});

Deno.test("our wasm relu and leaky relu gradients (one pass) equal tfjs's, zeros, NaN and ±∞ included", async () => {
  await fc.assert(
    fc.asyncProperty(shapeArb, fc.nat(1000), async (shape, seed) => {
      const [kx, ky] = split(key(seed));
      const n = shape.reduce((a, b) => a * b, 1);
      const special = [0, -0, NaN, Infinity, -Infinity];
      const xs = tf.tidy(() => normal(kx, shape).dataSync() as Float32Array);
      for (let i = 0; i < n; i += 97) xs[i] = special[i % special.length];
      const dys = tf.tidy(() => normal(ky, shape).dataSync() as Float32Array);
      dys[5] = Infinity;
      for (
        const [name, f] of [
          ["relu", (x: tf.Tensor) => tf.relu(x)],
          ["leakyRelu", (x: tf.Tensor) => tf.leakyRelu(x, 0.2)],
        ] as const
      ) {
        const grad = () =>
          tf.tidy(() => {
            const dy = tf.tensor(dys, shape);
            return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), dy)))(tf.tensor(xs, shape));
          });
        const { cpu, wasm } = await onBoth(grad);
        for (let i = 0; i < n; i++) {
          assert.ok(
            Object.is(cpu[i], wasm[i]) || cpu[i] === wasm[i],
            `${name} ${shape} [${i}]: ${cpu[i]} vs ${wasm[i]}`,
          );
        }
      }
    }),
    { numRuns: 10 },
  );
  await on("wasm");
  assert.ok(tf.getKernel("UdaReluGrad", "wasm"), "the fused kernel is registered");
});

/**
 * y = f(x, w, b) and the gradients of Σ y·sin(ramp) with respect to x, w and
 * b, flattened into one tensor, from values given as arrays.
 */
function outputAndGradients(
  f: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  shapes: { x: number[]; w: number[]; b: number[] },
  [xs, ws, bs]: Float32Array[],
): () => tf.Tensor {
  return () =>
    tf.tidy(() => {
      const x = tf.tensor(xs, shapes.x), w = tf.tensor(ws, shapes.w), b = tf.tensor(bs, shapes.b);
      const y = f(x, w, b);
      const weights = tf.sin(tf.reshape(tf.range(0, y.size), y.shape));
      const grads = tf.grads((a: tf.Tensor, v: tf.Tensor, u: tf.Tensor) =>
        tf.sum(tf.mul(f(a, v, u), weights))
      )([x, w, b]);
      return tf.concat([y, ...grads].map((t) => tf.reshape(t, [-1])));
    });
}

Deno.test("conv2dBiasActivation: our fused wasm kernel and its gradients match cpu's conv2d + add + activation", async () => {
  const caseArb = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 4, max: 12 }),
    w: fc.integer({ min: 4, max: 12 }),
    ci: fc.integer({ min: 1, max: 11 }),
    co: fc.integer({ min: 1, max: 19 }),
    k: fc.integer({ min: 1, max: 4 }),
    stride: fc.integer({ min: 1, max: 2 }),
    dilation: fc.integer({ min: 1, max: 2 }),
    pad: fc.integer({ min: 0, max: 2 }),
    activation: fc.constantFrom("linear", "relu", "leakyrelu"),
    seed: fc.nat(1000),
  }).filter((c) =>
    (c.stride === 1 || c.dilation === 1) &&
    Math.min(c.h, c.w) + 2 * c.pad >= (c.k - 1) * c.dilation + 1
  );
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const [kx, kw, kb] = split(key(c.seed), 3);
      const shapes = { x: [c.n, c.h, c.w, c.ci], w: [c.k, c.k, c.ci, c.co], b: [c.co] };
      const xs = tf.tidy(() => normal(kx, shapes.x).dataSync() as Float32Array);
      const ws = tf.tidy(() => normal(kw, shapes.w).dataSync() as Float32Array);
      const bs = tf.tidy(() => normal(kb, shapes.b).dataSync() as Float32Array);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [c.pad, c.pad],
        [c.pad, c.pad],
        [0, 0],
      ];
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        conv2dBiasActivation(x, w, b, {
          strides: c.stride,
          dilations: c.dilation,
          pad,
          activation: c.activation,
          alpha: 0.3,
        });
      const { cpu, wasm } = await onBoth(outputAndGradients(f, shapes, [xs, ws, bs]));
      assertClose(wasm, cpu, 1e-5, JSON.stringify(c));
    }),
    { numRuns: 25 },
  );
  await on("wasm");
  assert.ok(tf.getKernel("UdaConv2DBiasActivation", "wasm"), "the fused kernel is registered");
});

Deno.test("our fused wasm Adam step equals tfjs's composed kernels (cpu) bit for bit over several steps", async () => {
  const params = { w: [3000, 7], b: [41] } as const;
  const grads = Object.fromEntries(
    Object.entries(params).map(([name, shape], i) => [
      name,
      tf.tidy(() => normal(key(20 + i), [...shape]).mul(1e-3).dataSync() as Float32Array),
    ]),
  );
  const run = async (backend: "cpu" | "wasm") => {
    await on(backend);
    const opt = scaleByAdam({ b1: 0.9, b2: 0.999, eps: 1e-8 });
    const tree = () => ({
      w: tf.tensor(grads.w, [...params.w]),
      b: tf.tensor(grads.b, [...params.b]),
    });
    let state = opt.init(tree());
    const out: Float32Array[] = [];
    for (let step = 0; step < 3; step++) {
      const g = tree();
      const [update, next] = opt.update(g, state);
      tf.dispose([g, state as never]);
      state = next;
      out.push(
        ...[
          update.w,
          update.b,
          (next.mu as Record<string, tf.Tensor>).w,
          (next.nu as Record<string, tf.Tensor>).b,
        ].map((t) => (t as tf.Tensor).dataSync() as Float32Array),
      );
      tf.dispose(update as never);
    }
    tf.dispose(state as never);
    return out;
  };
  const cpu = await run("cpu"), wasm = await run("wasm");
  assert.ok(tf.getKernel("UdaAdam", "wasm"), "the fused kernel is registered");
  cpu.forEach((want, i) => {
    const a = new Uint32Array(want.buffer), b = new Uint32Array(wasm[i].buffer);
    const first = a.findIndex((v, j) => v !== b[j]);
    assert.equal(first, -1, `result ${i} differs at ${first}: ${want[first]} vs ${wasm[i][first]}`);
  });
});

Deno.test("batch norm on our fused wasm kernels: values and gradients match cpu's composed version", async () => {
  const caseArb = fc.record({
    n: fc.integer({ min: 1, max: 4 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    c: fc.integer({ min: 1, max: 27 }),
    seed: fc.nat(1000),
  }).filter((k) => k.n * k.h * k.w > 1);
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ n, h, w, c, seed }) => {
      const [kx, kg, kw] = split(key(seed), 3);
      const shape = [n, h, w, c];
      const xs = tf.tidy(() => normal(kx, shape).mul(3).add(1).dataSync() as Float32Array);
      const gs = tf.tidy(() => normal(kg, [c]).dataSync() as Float32Array);
      const ws = tf.tidy(() => normal(kw, shape).dataSync() as Float32Array);
      const all = () =>
        tf.tidy(() => {
          const p = {
            gamma: tf.tensor(gs),
            beta: tf.tensor(gs).mul(0.5),
            mean: tf.zeros([c]),
            variance: tf.ones([c]),
          };
          const weights = tf.tensor(ws, shape);
          const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(batchNorm({ ...p, gamma: g, beta: b }, x, "batch"), weights));
          const x = tf.tensor(xs, shape);
          const grads = tf.grads(f)([x, p.gamma, p.beta]);
          return tf.concat([batchNorm(p, x, "batch"), ...grads].map((t) => tf.reshape(t, [-1])));
        });
      const { cpu, wasm } = await onBoth(all);
      assertClose(wasm, cpu, 2e-5, JSON.stringify({ n, h, w, c }));
    }),
    { numRuns: 25 },
  );
  await on("wasm");
  assert.ok(tf.getKernel("UdaBatchNorm", "wasm"), "the fused kernel is registered");
});

Deno.test("the kernel table: one entry per kernel, every entry is on the wasm backend, fused ones only while ours run", () => {
  const names = WASM_KERNELS.map((k) => k.name);
  assert.equal(new Set(names).size, names.length, "one entry per kernel");
  for (const name of [ADAM, BATCH_NORM, SOFTMAX_GRAD]) {
    const entry = WASM_KERNELS.find((k) => k.name === name);
    assert.deepEqual([entry?.fallback, entry?.native !== undefined], ["none", true], name);
  }
  // The table names every function of our module (constants aside), and
  // only functions it has: a driver no kernel runs, or a misspelt one, fails.
  const bytes = Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
  const exported = WebAssembly.Module.exports(new WebAssembly.Module(bytes))
    .filter((e) => e.kind === "function" && !e.name.startsWith("constant_"))
    .map((e) => e.name);
  const named = new Set(WASM_KERNELS.flatMap((k) => k.drivers));
  assert.deepEqual([...named].filter((d) => !exported.includes(d)), [], "named, not exported");
  assert.deepEqual(exported.filter((d) => !named.has(d)), [], "exported, named by no kernel");
  for (const k of WASM_KERNELS) {
    assert.equal(k.drivers.length > 0, k.native !== undefined, `${k.name}: drivers iff native`);
  }
  const { threads, heap } = nativeKernelSetting();
  try {
    for (const k of WASM_KERNELS) assert.ok(tf.getKernel(k.name, "wasm"), `${k.name} registered`);
    useOurKernels(0);
    for (const k of WASM_KERNELS) {
      assert.equal(tf.getKernel(k.name, "wasm") !== undefined, k.fallback !== "none", k.name);
    }
    // With ours off, a table kernel runs its fallback: tfjs's Exp, the composed OneHot.
    const [e, h] = tf.tidy(() => [tf.exp(tf.zeros([5000])).sum(), tf.oneHot([1, 0], 2)]);
    assert.equal(e.dataSync()[0], 5000);
    assert.deepEqual(Array.from(h.dataSync()), [0, 1, 1, 0]);
    tf.dispose([e, h]);
  } finally {
    useOurKernels(threads, heap);
  }
  for (const k of WASM_KERNELS) assert.ok(tf.getKernel(k.name, "wasm"), `${k.name} back`);
});

Deno.test("our wasm depthwise kernels (multiplier 1) match cpu past vector and channel blocks: strides 1–2, dilations 1–4", async () => {
  const wide = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 16 }),
    w: fc.integer({ min: 1, max: 16 }),
    ci: fc.integer({ min: 1, max: 40 }),
    k: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
    stride: fc.integer({ min: 1, max: 2 }),
    dilation: fc.integer({ min: 1, max: 4 }),
    pad: fc.oneof(
      fc.constantFrom("same" as const, "valid" as const),
      fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
    ),
  }).map((c) => ({ ...c, co: 1, depthwise: true }))
    // tfjs takes a stride or a dilation above 1, not both.
    .filter((c) => c.stride === 1 || c.dilation === 1)
    .filter((c) => {
      const { outShape } = referenceGeometry(c);
      return outShape[1] > 0 && outShape[2] > 0;
    });
  const before = nativeKernelSharedJobs();
  await fc.assert(
    fc.asyncProperty(wide, fc.nat(1000), (c, seed) => checkCase(c, seed, ["wasm"])),
    { numRuns: 120 },
  );
  // A 2×32×32×40 case is large enough to be shared over the pool: the
  // native kernels ran (tfjs's own would not count here).
  await checkCase(
    {
      n: 2,
      h: 32,
      w: 32,
      ci: 40,
      co: 1,
      k: [3, 3],
      stride: 1,
      dilation: 2,
      pad: "same",
      depthwise: true,
    },
    7,
    ["wasm"],
  );
  if (nativeKernelThreads() > 1) {
    assert.ok(nativeKernelSharedJobs() > before, "our depthwise kernels ran");
  }
});

Deno.test("our depthwise kernels give bit-identical results on 1, 2 and 3 threads", () => {
  for (const [stride, dilation] of [[1, 1], [2, 1], [1, 3]]) {
    const g: NativeConvGeometry = {
      batch: 2,
      // Stride 2 on twice the input: each case's work is large enough to be shared.
      inHeight: 31 * stride - (stride - 1),
      inWidth: 29 * stride - (stride - 1),
      inChannels: 43,
      outHeight: 31,
      outWidth: 29,
      outChannels: 43,
      filterHeight: 3,
      filterWidth: 3,
      strides: [stride, stride],
      dilations: [dilation, dilation],
      padBefore: [dilation, dilation],
    };
    const [kx, kw, kd, kb] = split(key(11), 4);
    const draw = (k: typeof kx, shape: number[]) =>
      tf.tidy(() => normal(k, shape).dataSync() as Float32Array);
    const x = draw(kx, [g.batch, g.inHeight, g.inWidth, g.inChannels]);
    const w = draw(kw, [3, 3, g.inChannels, 1]);
    const dy = draw(kd, [g.batch, g.outHeight, g.outWidth, g.inChannels]);
    const bias = draw(kb, [g.inChannels]);
    const results = [1, 2, 3].map((threads) => {
      const engine = new NativeKernels(threads);
      const y = Float32Array.from(
        depthwiseConv(engine, x, w, g, undefined, { bias, activation: "relu6" }),
      );
      const out = [
        Float32Array.from(depthwiseConv(engine, x, w, g)),
        y,
        Float32Array.from(depthwiseInputGrad(engine, dy, w, g)),
        Float32Array.from(depthwiseFilterGrad(engine, x, dy, g)),
        Float32Array.from(relu6Grad(engine, y, dy.subarray(0, y.length), y.length)),
      ];
      assert.equal(
        engine.sharedJobs,
        threads > 1 ? 4 : 0,
        `stride ${stride}, dilation ${dilation}`,
      );
      return out;
    });
    for (const other of results.slice(1)) assert.deepEqual(other, results[0]);
    assert.ok(results[0][1].every((v) => v >= 0 && v <= 6) && results[0][1].some((v) => v === 6));
  }
});

Deno.test("depthwiseBiasActivation and relu6 conv2dBiasActivation: our fused wasm kernels and gradients match cpu's composed ops", async () => {
  const caseArb = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 4, max: 12 }),
    w: fc.integer({ min: 4, max: 12 }),
    c: fc.integer({ min: 1, max: 37 }),
    k: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 2 }),
    dilation: fc.integer({ min: 1, max: 4 }),
    activation: fc.constantFrom("linear" as const, "relu" as const, "relu6" as const),
    seed: fc.nat(1000),
  }).filter((c) => c.stride === 1 || c.dilation === 1);
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const [kx, kw, kb] = split(key(c.seed), 3);
      const shapes = { x: [c.n, c.h, c.w, c.c], w: [c.k, c.k, c.c, 1], b: [c.c] };
      // Scaled so that relu6 saturates somewhere.
      const xs = tf.tidy(() => normal(kx, shapes.x).mul(3).dataSync() as Float32Array);
      const ws = tf.tidy(() => normal(kw, shapes.w).dataSync() as Float32Array);
      const bs = tf.tidy(() => normal(kb, shapes.b).dataSync() as Float32Array);
      const depthwise = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        depthwiseBiasActivation(x, w, b, {
          strides: c.stride,
          dilations: c.dilation,
          pad: "same",
          activation: c.activation,
        });
      const pointwise = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        conv2dBiasActivation(x, tf.reshape(w, [c.k, c.k, c.c, 1]), b.slice(0, 1), {
          strides: c.stride,
          dilations: c.dilation,
          pad: "same",
          activation: "relu6",
        });
      for (const f of [depthwise, pointwise]) {
        const { cpu, wasm } = await onBoth(outputAndGradients(f, shapes, [xs, ws, bs]));
        assertClose(
          wasm,
          cpu,
          1e-4,
          `${f === depthwise ? "depthwise" : "conv2d"} ${JSON.stringify(c)}`,
        );
      }
    }),
    { numRuns: 30 },
  );
  await on("wasm");
  assert.ok(tf.getKernel(DEPTHWISE_BIAS_ACTIVATION, "wasm"), "the fused kernel is registered");
});
