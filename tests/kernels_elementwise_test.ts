import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { key, normal, split } from "../lib/random.ts";
import { assertClose, on, onBoth } from "./helpers.ts";
import { nativeKernelThreads } from "../lib/kernels/native_adapters.ts";
import { NativeKernels } from "../lib/kernels/native/engine.ts";
import {
  softmaxRows,
  softmaxRowsGrad,
  sparseSoftmaxCrossEntropy,
  sparseSoftmaxCrossEntropyGrad,
} from "../lib/kernels/families/rows.ts";
await on("wasm");

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
