import assert from "node:assert/strict";
import { tf } from "../lib/tf.ts";
import { key } from "../lib/random.ts";
import { replace } from "../lib/memory.ts";
import { dispose, flatten, type Tree } from "../lib/tree.ts";
import { type Batch, makeTrainer } from "../methods/step.ts";
import { METHODS, resolveConfig } from "../methods/config.ts";
import { on } from "./helpers.ts";
import { nativeKernelSetting, nativeKernelSharedJobs } from "../lib/kernels/native_adapters.ts";
import { useOurKernels } from "../lib/kernels/wasm_registry.ts";

await on("wasm");

const CLASSES = 4;
const SMALL = {
  seg: { depth: 18 as const, width: 0.125, classes: CLASSES },
  groups: 4,
  disc: { width: 8 },
  optim: { segLr: 0.01, steps: 1000 },
};

/** A fixed batch whose classes are quadrants painted in class colours (the target's shifted). */
function quadrantBatch(size = 32): Batch {
  return tf.tidy(() => {
    const half = size / 2;
    const ids = Array.from({ length: size * size }, (_, i) => {
      const [y, x] = [Math.floor(i / size), i % size];
      return (y < half ? 0 : 2) + (x < half ? 0 : 1);
    });
    const labels = tf.tensor3d(
      [...ids, ...ids.map((c) => (c + 1) % CLASSES)],
      [2, size, size],
      "int32",
    );
    const colours = tf.tensor2d([[1, -1, -1], [-1, 1, -1], [-1, -1, 1], [1, 1, -1]]);
    const paint = (shift: number) =>
      tf.add(tf.reshape(tf.gather(colours, tf.reshape(labels, [-1])), [2, size, size, 3]), shift);
    const noise = tf.randomNormal([2, size, size, 3], 0, 0.3, "float32", 5);
    return {
      source: { images: tf.add(paint(0), noise), labels },
      target: { images: tf.mul(tf.add(paint(0.5), noise), 0.7), labels: tf.clone(labels) },
    };
  });
}

const values = (t: Tree) => flatten(t).map(([p, v]) => [p, [...v.dataSync()]] as const);

for (const method of METHODS) {
  Deno.test(`${method}: the step neither mutates nor disposes its inputs, is bit-reproducible and leaks nothing`, () => {
    const trainer = makeTrainer({ method, ...SMALL });
    const { params, optState } = trainer.init(key(1));
    const batch = quadrantBatch();
    const before = values([params, optState, batch]);
    const [p1, s1, m1] = trainer.step(params, optState, batch);
    assert.deepEqual(
      values([params, optState, batch]),
      before,
      "inputs changed",
    );
    const [p2, s2, m2] = trainer.step(params, optState, batch);
    const bits = (t: Tree) =>
      flatten(t).map(([p, v]) => [p, [...new Uint32Array(v.dataSync().buffer)]]);
    assert.deepEqual(bits([p1, s1, m1]), bits([p2, s2, m2]));
    assert.ok(Object.keys(m1).includes("seg") && Object.keys(m1).includes("total"));
    // Repeated steps keep the tensor count flat once the old state is dropped.
    let [p, s] = replace([p2, s2, m2, m1], [p1, s1]);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [np, ns, m] = trainer.step(p, s, batch);
      [p, s] = replace([p, s, m], [np, ns]);
      counts.push(tf.memory().numTensors);
    }
    assert.ok(counts.every((n) => n === counts[0]), `tensor counts ${counts}`);
    dispose([p, s, params, optState, batch]);
  });
}

Deno.test("cdga on a tiny fixed batch: 30 steps lower L_seg and no group collapses", async () => {
  const trainer = makeTrainer({ method: "cdga", ...SMALL });
  let { params, optState } = trainer.init(key(2));
  const batch = quadrantBatch();
  const segLosses: number[] = [];
  let usage: number[] = [];
  const names = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const [p, s, metrics] = trainer.step(params, optState, batch);
    segLosses.push((await metrics.seg.data())[0]);
    usage = [...await metrics.groupUsage.data()];
    Object.keys(metrics).forEach((n) => names.add(n));
    for (const t of Object.values(metrics)) {
      assert.ok((await t.data()).every(Number.isFinite), `step ${i}: a metric is not finite`);
    }
    [params, optState] = replace([params, optState, metrics], [p, s]);
  }
  for (
    const n of ["seg", "adv", "sc", "orth", "bal", "disc", "discAccuracy", "groupUsage", "total"]
  ) {
    assert.ok(names.has(n), `metric ${n} missing`);
  }
  const first = segLosses.slice(0, 3).reduce((a, b) => a + b) / 3;
  const last = segLosses.slice(-3).reduce((a, b) => a + b) / 3;
  assert.ok(last < first, `L_seg ${first.toFixed(3)} → ${last.toFixed(3)}`);
  const k = trainer.config.groups;
  assert.ok(usage.every((u) => u > 1 / (4 * k)), `group usage ${usage}`);
  dispose([params, optState, batch]);
});

Deno.test("configuration and batch errors name the problem", () => {
  assert.throws(
    () => resolveConfig({ method: "nope" as "cdga", seg: { classes: 3 } }),
    /method must be one of/,
  );
  assert.throws(
    () => resolveConfig({ method: "cdga", seg: { classes: 3 }, groups: 1 }),
    /groups \(K\) must be an integer ≥ 2/,
  );
  assert.throws(
    () => resolveConfig({ method: "cdga", seg: { classes: 3 }, lambdas: { sc: -1 } }),
    /lambdas.sc must be ≥ 0/,
  );
  assert.throws(
    () => resolveConfig({ method: "cdga", seg: { classes: 3 }, consistency: "kl" as "l1" }),
    /consistency must be/,
  );
  for (
    const [seg, message] of [
      [{ depth: 20 }, /seg.depth must be one of 18, 34, 50, 101, got 20/],
      [{ width: -1 }, /seg.width must be a number > 0, got -1/],
      [{ classes: 1 }, /seg.classes must be an integer ≥ 2, got 1/],
      [{ atrousRates: [6, 0] }, /seg.atrousRates must be integers ≥ 1/],
    ] as const
  ) {
    // Refused when the trainer is made, not later at init().
    assert.throws(
      () => makeTrainer({ method: "cdga", ...SMALL, seg: { ...SMALL.seg, ...seg } as never }),
      message,
    );
  }
  const trainer = makeTrainer({ method: "sourceOnly", ...SMALL });
  const { params, optState } = trainer.init(key(0));
  const images = tf.zeros([1, 32, 32, 3]);
  const labels = tf.zeros([1, 32, 31], "int32");
  assert.throws(
    () => trainer.step(params, optState, { source: { images, labels }, target: { images } }),
    /source labels \[1,32,31\] do not match the images \[1,32,32\]/,
  );
  const good = tf.zeros([1, 32, 32], "int32");
  assert.throws(
    () => trainer.step(params, optState, { source: { images, labels: good } } as never),
    /batch: target.images is missing/,
  );
  const tooLarge = tf.fill([1, 32, 32], CLASSES, "int32");
  assert.throws(
    () =>
      trainer.step(params, optState, { source: { images, labels: tooLarge }, target: { images } }),
    /source labels must be class ids 0–3 or 255 \(ignored\); found 4/,
  );
  const cdga = makeTrainer({ method: "cdga", ...SMALL });
  const c = cdga.init(key(1));
  const larger = tf.zeros([1, 48, 48, 3]);
  assert.throws(
    () =>
      cdga.step(c.params, c.optState, {
        source: { images, labels: good },
        target: { images: larger },
      }),
    /this method needs source and target images of one size; source \[32,32\], target \[48,48\]/,
  );
  dispose([params, optState, c, images, labels, good, tooLarge, larger]);
});

Deno.test("groupingLossesTrain 'C': the grouping losses do not move G; with 'G+C' they do", async () => {
  const batch = quadrantBatch();
  const segAfter = async (config: Parameters<typeof makeTrainer>[0]) => {
    const trainer = makeTrainer(config);
    const { params, optState } = trainer.init(key(4));
    const [p, s, m] = trainer.step(params, optState, batch);
    const values = await Promise.all(flatten(p.seg).map(async ([, t]) => [...await t.data()]));
    dispose([params, optState, p, s, m]);
    return values;
  };
  // No adversarial term moves G: neither the group-level one nor the global one (on by default).
  const base = { ...SMALL, lambdas: { adv: 0 }, global: "none" as const };
  const sourceOnly = await segAfter({ method: "sourceOnly", ...base });
  const onlyC = await segAfter({ method: "cdga", ...base, groupingLossesTrain: "C" });
  const both = await segAfter({ method: "cdga", ...base, groupingLossesTrain: "G+C" });
  assert.deepEqual(onlyC, sourceOnly);
  assert.notDeepEqual(both, sourceOnly);
  assert.throws(
    () => resolveConfig({ method: "cdga", seg: { classes: 3 }, groupingLossesTrain: "G" as "C" }),
    /groupingLossesTrain must be one of C, G\+C/,
  );
  dispose(batch);
});

Deno.test("cdga: steps on 1 and on 2 kernel threads give bit-identical parameters (no race in the pool)", () => {
  const { threads, heap } = nativeKernelSetting();
  const run = (n: number) => {
    useOurKernels(n, heap);
    const trainer = makeTrainer({ method: "cdga", ...SMALL });
    let { params, optState } = trainer.init(key(3));
    const batch = quadrantBatch(64);
    for (let i = 0; i < 4; i++) {
      const [p, s, m] = trainer.step(params, optState, batch);
      [params, optState] = replace([params, optState, m], [p, s]);
    }
    const bits = flatten(params).map(([p, v]) => [p, [...new Uint32Array(v.dataSync().buffer)]]);
    dispose([params, optState, batch]);
    return { bits, shared: nativeKernelSharedJobs() };
  };
  try {
    const two = run(2), one = run(1);
    assert.ok(two.shared > 20, `${two.shared} jobs split over 2 threads`);
    assert.equal(one.shared, 0);
    assert.deepEqual(two.bits, one.bits);
  } finally {
    useOurKernels(threads, heap);
  }
});
