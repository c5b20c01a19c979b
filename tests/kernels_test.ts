import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { key, normal, split } from "../lib/random.ts";
import { on, onBoth } from "./helpers.ts";
import { caseArb, checkCase } from "./conv_reference.ts";
import { nativeKernelSetting, nativeKernelThreads } from "../lib/kernels/native_adapters.ts";
import { useOurKernels } from "../lib/kernels/wasm_registry.ts";
import {
  type NativeConvGeometry,
  NativeKernels,
  type PoolGeometry,
} from "../lib/kernels/native/engine.ts";
import { conv2d, conv2dFilterGrad, conv2dInputGrad } from "../lib/kernels/families/convolution.ts";
import { activationGrad, exp, leakyRelu } from "../lib/kernels/families/elementwise.ts";
import { maxPoolGrad, resizeBilinearGrad } from "../lib/kernels/families/resampling.ts";
import { sumRows } from "../lib/kernels/families/rows.ts";
import { KERNELS_WASM_BASE64 } from "../lib/kernels/native/kernels_wasm.ts";
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
