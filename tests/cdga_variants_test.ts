import assert from "node:assert/strict";
import { tf } from "../lib/tf.ts";
import { key } from "../lib/random.ts";
import { dispose, flatten, type Tree } from "../lib/tree.ts";
import { type Batch, makeTrainer } from "../methods/step.ts";
import type { MethodConfigInput } from "../methods/config.ts";
import { groupingConfig } from "../methods/cdga.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";
import { resize } from "../methods/method.ts";
import { applyDeepLab } from "../model/deeplab.ts";
import { applyGrouping } from "../model/grouping.ts";
import { applyGroupDiscriminator, initGroupDiscriminator } from "../model/discriminator.ts";
import { selfInformation } from "../losses/entropy.ts";
import { assertClose, on } from "./helpers.ts";

await on("wasm");

const CLASSES = 3;
const SMALL: Omit<MethodConfigInput, "method"> = {
  seg: { depth: 18, width: 0.125, classes: CLASSES, norm: "batch" },
  groups: 2,
  disc: { width: 4 },
  optim: { segLr: 0.01, steps: 100, trainNormAffine: true },
};

function batch(seed: number): Batch {
  return tf.tidy(() => ({
    source: {
      images: tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", seed),
      labels: tf.randomUniform([2, 32, 32], 0, CLASSES, "int32", seed + 1),
    },
    target: { images: tf.randomNormal([2, 32, 32, 3], 0.3, 1, "float32", seed + 2) },
  }));
}

const leaves = (tree: unknown) => flatten(tree as Tree);

Deno.test("stacked group discriminator: its two input layouts give the same logits, one pass per image", async () => {
  const config = { classes: CLASSES, groups: 4, mode: "stacked" as const, width: 4 };
  const d = initGroupDiscriminator(key(3), config);
  const grouped = tf.randomUniform([4, 2, 32, 32, CLASSES], 0, 1, "float32", 7);
  // [K, N, H, W, C] → [N, H, W, K·C] by hand, element by element.
  const values = await grouped.data();
  const joined = new Float32Array(values.length);
  for (let k = 0; k < 4; k++) {
    for (let n = 0; n < 2; n++) {
      for (let p = 0; p < 32 * 32; p++) {
        for (let c = 0; c < CLASSES; c++) {
          joined[((n * 32 * 32) + p) * 4 * CLASSES + k * CLASSES + c] =
            values[(((k * 2) + n) * 32 * 32 + p) * CLASSES + c];
        }
      }
    }
  }
  const a = applyGroupDiscriminator(d, grouped, config);
  const b = applyGroupDiscriminator(d, tf.tensor4d(joined, [2, 32, 32, 4 * CLASSES]), config);
  assert.deepEqual(a.shape, [4, 2, 1, 1]);
  assertClose(await b.data(), await a.data(), 1e-6, "stacked logits");
  // Group k's logit reads every group's maps: changing group 0's maps moves group 1's logit.
  const moved = tf.concat([tf.zerosLike(tf.slice(grouped, 0, 1)), tf.slice(grouped, 1, 3)], 0);
  const c = applyGroupDiscriminator(d, moved, config);
  assert.notDeepEqual([...await c.data()].slice(2, 4), [...await a.data()].slice(2, 4));
  assert.throws(
    () => applyGroupDiscriminator(d, tf.zeros([2, 32, 32, 5]), config),
    /stacked inputs are \[K, N, H, W, C\] or \[N, H, W, K·C\] with K·C = 12/,
  );
  dispose([d, grouped, a, b, c, moved] as Tree[]);
});

Deno.test("CDGA at the input resolution with the stacked D trains: finite terms, D and G move", async () => {
  const trainer = makeTrainer({
    method: "cdga",
    ...SMALL,
    discResolution: "input",
    disc: { width: 4, mode: "stacked" },
  });
  const { params, optState } = trainer.init(key(1));
  const before = leaves(params).map(([p, t]) => [p, [...t.dataSync()]] as const);
  const [p, s, m] = trainer.step(params, optState, batch(1));
  for (const name of ["adv", "sc", "orth", "bal", "disc"]) {
    assert.ok(Number.isFinite((await m[name].data())[0]), name);
  }
  // The inputs are untouched; the discriminator and G both changed.
  for (const [path, values] of before) {
    const t = leaves(params).find(([q]) => q === path)![1];
    assert.deepEqual([...t.dataSync()], values, `input ${path} changed`);
  }
  const changed = (prefix: string) =>
    leaves(p).some(([path, t]) =>
      path.startsWith(prefix) &&
      t.dataSync().some((v, i) => v !== before.find(([q]) => q === path)![1][i])
    );
  assert.ok(changed("disc/"), "D did not move");
  assert.ok(changed("seg/"), "G did not move");
  dispose([params, optState, p, s, m] as Tree[]);
});

Deno.test("CDGA with a global term: a second D that trains, and its term reaches G only through λ_global", async () => {
  for (const global of ["adaptSegNet", "advEnt"] as const) {
    const run = (weight: number) => {
      const trainer = makeTrainer({
        method: "cdga",
        ...SMALL,
        global,
        lambdas: { global: weight },
      });
      const { params, optState } = trainer.init(key(2));
      return { params, optState, out: trainer.step(params, optState, batch(2)) };
    };
    const off = run(0), on = run(1);
    assert.ok("global" in (on.params.disc as object), `${global}: no D_g`);
    assert.ok(Number.isFinite((await on.out[2].globalAdv.data())[0]), `${global}: globalAdv`);
    const value = (
      tree: unknown,
      path: string,
    ) => [...leaves(tree).find(([q]) => q === path)![1].dataSync()];
    // D (both nets) sees the same detached inputs either way: identical updates.
    for (const [path] of leaves(on.out[0].disc)) {
      assert.deepEqual(value(on.out[0].disc, path), value(off.out[0].disc, path), path);
    }
    // G's update differs: the global term's gradient reaches G when weighted.
    const kernel = "backbone/stem/conv/kernel";
    assert.notDeepEqual(value(on.out[0].seg, kernel), value(off.out[0].seg, kernel), global);
    for (const r of [off, on]) dispose([r.params, r.optState, ...r.out] as Tree[]);
  }
});

Deno.test("CDGA's group-level entropy signal: D sees A_k ⊙ (−P log P) at its resolution", async () => {
  const input: MethodConfigInput = {
    method: "cdga",
    ...SMALL,
    groupSignal: "entropy",
    discResolution: "input",
  };
  const trainer = makeTrainer(input);
  const { params } = trainer.init(key(4));
  const b = batch(4);
  const [expected, actual] = tf.tidy(() => {
    const both = applyDeepLab(
      params.seg,
      tf.concat([b.source.images, b.target.images]),
      input.seg,
      {
        training: true,
        record: new Map(),
      },
    );
    const half = (x: tf.Tensor, from: number) =>
      tf.slice(x, [from, 0, 0, 0], [2, ...x.shape.slice(1)]);
    const source = { logits: half(both.logits, 0), feature: half(both.feature, 0) };
    const target = { logits: half(both.logits, 2), feature: half(both.feature, 2) };
    const terms = METHOD_DEFINITIONS.cdga.generator({
      config: trainer.config,
      params: { seg: params.seg, group: params.group!, disc: params.disc! },
      batch: b,
      source,
      target,
      updateCounts: {},
    });
    const a = applyGrouping(
      params.group!,
      { probs: tf.softmax(target.logits), feature: target.feature },
      groupingConfig(trainer.config),
    );
    const up = resize(a, [32, 32]); // [N, H, W, K]
    const info = selfInformation(resize(target.logits, [32, 32])); // [N, H, W, C]
    const grouped = tf.mul(
      tf.expandDims(tf.transpose(up, [3, 0, 1, 2]), -1),
      tf.expandDims(info, 0),
    );
    return [grouped, terms.disc!.target];
  });
  assertClose(await actual.data(), await expected.data(), 1e-5, "group entropy maps");
  dispose([params, b, expected, actual] as Tree[]);
});

Deno.test("CDGA's skipped classes: hidden from the group D only, never from the grouping losses", async () => {
  const run = (groupSkipClasses: string) => {
    const trainer = makeTrainer({ method: "cdga", ...SMALL, options: { groupSkipClasses } });
    const { params, optState } = trainer.init(key(4));
    const first = trainer.step(params, optState, batch(4));
    const second = trainer.step(first[0], first[1], batch(5));
    return { params, optState, first, second };
  };
  const all = run("none"), skipping = run("1, 2");
  const metric = async (out: typeof all.first, name: string) => (await out[2][name].data())[0];
  // The first step: same grouping losses (C sees the same), different D inputs, so D moves otherwise.
  for (const name of ["sc", "orth", "bal", "globalAdv"]) {
    assert.equal(await metric(skipping.first, name), await metric(all.first, name), name);
  }
  const group = (r: typeof all) => leaves((r.first[0].disc as Record<string, unknown>).nets);
  const moved = group(skipping).some(([path, t], i) =>
    path === group(all)[i][0] && !tf.util.arraysEqual(t.dataSync(), group(all)[i][1].dataSync())
  );
  assert.ok(moved, "the group D's update ignores the skipped pixels");
  // Then L_adv, through the moved D, differs and stays finite.
  const adv = await metric(skipping.second, "adv");
  assert.ok(Number.isFinite(adv), `adv ${adv}`);
  assert.notEqual(adv, await metric(all.second, "adv"));
  for (const r of [all, skipping]) {
    dispose([r.params, r.optState, ...r.first, ...r.second] as Tree[]);
  }
});

Deno.test("CDGA's skipped classes: a bad list is refused with the configuration, naming the option", () => {
  const make = (groupSkipClasses: string, classEquivalence = true) =>
    makeTrainer({ method: "cdga", ...SMALL, classEquivalence, options: { groupSkipClasses } });
  assert.throws(() => make("3"), /groupSkipClasses: "3" is not a class id \(0 … 2\)/);
  assert.throws(() => make("0,x"), /groupSkipClasses: "x" is not a class id/);
  assert.throws(() => make("1,1"), /groupSkipClasses repeats a class/);
  assert.throws(() => make("0,1,2"), /groupSkipClasses skips every class/);
  assert.throws(
    () => make("0", false),
    /groupSkipClasses acts through the class-equivalence weights/,
  );
});

Deno.test("CDGA's group ramp: the group-level adversarial weight is λ·(t+1)/N at the grouping network's t-th update", async () => {
  const lambda = 0.5;
  const make = (groupRampSteps: number) =>
    makeTrainer({
      method: "cdga",
      ...SMALL,
      lambdas: { adv: lambda },
      options: { groupRampSteps },
    });
  const full = make(0), ramped = make(4), one = make(1);
  const { params, optState } = full.init(key(6));
  const value = async (out: ReturnType<typeof full.step>, name: string) =>
    (await out[2][name].data())[0];
  // The objective differs by λ·L_adv·(ramp − 1), the same L_adv (same parameters) in both.
  const check = async (p: typeof params, s: typeof optState, b: Batch, ramp: number) => {
    const a = full.step(p, s, b), r = ramped.step(p, s, b);
    const adv = await value(a, "adv");
    assert.equal(await value(r, "adv"), adv);
    const gap = (await value(r, "total")) - (await value(a, "total"));
    assert.ok(adv > 0.01, `adv ${adv}`);
    assertClose([gap], [lambda * adv * (ramp - 1)], 1e-3, `ramp ${ramp}`);
    return [a, r] as const;
  };
  const [a0, r0] = await check(params, optState, batch(6), 1 / 4);
  // After one update of the grouping network (t = 1), the weight is 2/4 of λ: its own count,
  // not G's (here G's state is put back to 0 updates; in a job it counts the warm-up's too).
  const [a1, r1] = await check(r0[0], { ...r0[1], seg: optState.seg }, batch(7), 2 / 4);
  // N = 1 is full weight from the first step: the very same update.
  const o = one.step(params, optState, batch(6));
  assert.deepEqual(
    leaves(o[0]).map(([, t]) => Array.from(t.dataSync())),
    leaves(a0[0]).map(([, t]) => Array.from(t.dataSync())),
  );
  dispose([params, optState, ...a0, ...r0, ...a1, ...r1, ...o] as Tree[]);
  assert.throws(() => make(-1), /groupRampSteps/);
});

Deno.test("CDGA's orthogonality forms and appearance input train: finite terms, the form changes L_orth alone", async () => {
  const run = (options: Record<string, string | boolean>) => {
    const trainer = makeTrainer({ method: "cdga", ...SMALL, groups: 3, options });
    const { params, optState } = trainer.init(key(6));
    const out = trainer.step(params, optState, batch(6));
    return { params, optState, out };
  };
  const metric = async (r: ReturnType<typeof run>, name: string) =>
    (await r.out[2][name].data())[0];
  const cosine = run({}), gram = run({ orthogonality: "gram" });
  const sinkhorn = run({ orthogonality: "sinkhorn" });
  const appearance = run({ groupAppearance: true });
  for (const r of [cosine, gram, sinkhorn, appearance]) {
    for (const name of ["adv", "sc", "orth", "bal", "disc"]) {
      assert.ok(Number.isFinite(await metric(r, name)), name);
    }
  }
  // Same C, same data: only L_orth's value differs between the forms.
  for (const r of [gram, sinkhorn]) {
    assert.equal(await metric(r, "sc"), await metric(cosine, "sc"));
    assert.notEqual(await metric(r, "orth"), await metric(cosine, "orth"));
  }
  // C reads 6 more channels with the appearance input, and its assignments differ.
  const inChannels = (r: ReturnType<typeof run>) =>
    (r.params.group as unknown as { conv1: { kernel: tf.Tensor } }).conv1.kernel.shape[2];
  assert.equal(inChannels(appearance), inChannels(cosine)! + 6);
  assert.notEqual(await metric(appearance, "sc"), await metric(cosine, "sc"));
  for (const r of [cosine, gram, sinkhorn, appearance]) {
    dispose([r.params, r.optState, ...r.out] as Tree[]);
  }
});
