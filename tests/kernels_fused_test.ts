import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { key, normal, split } from "../lib/random.ts";
import { assertClose, on, onBoth } from "./helpers.ts";
import { checkCase, geometry as referenceGeometry } from "./conv_reference.ts";
import {
  nativeKernelSetting,
  nativeKernelSharedJobs,
  nativeKernelThreads,
} from "../lib/kernels/native_adapters.ts";
import { useOurKernels, WASM_KERNELS } from "../lib/kernels/wasm_registry.ts";
import { ADAM, BATCH_NORM, DEPTHWISE_BIAS_ACTIVATION, SOFTMAX_GRAD } from "../lib/kernels/fused.ts";
import { depthwiseBiasActivation } from "../lib/depthwise_bias_activation.ts";
import { type NativeConvGeometry, NativeKernels } from "../lib/kernels/native/engine.ts";
import {
  depthwiseConv,
  depthwiseFilterGrad,
  depthwiseInputGrad,
} from "../lib/kernels/families/convolution.ts";
import { relu6Grad } from "../lib/kernels/families/elementwise.ts";
import { KERNELS_WASM_BASE64 } from "../lib/kernels/native/kernels_wasm.ts";
import { conv2dBiasActivation } from "../lib/conv2d_bias_activation.ts";
import { scaleByAdam } from "../lib/optim/transforms.ts";
import { batchNorm } from "../model/layers.ts";
await on("wasm");

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
