import assert from "node:assert/strict";
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { key } from "../lib/random.ts";
import { replace } from "../lib/memory.ts";
import { dispose } from "../lib/tree.ts";
import { type Batch, makeTrainer, type Params } from "../methods/step.ts";
import type { MethodConfigInput } from "../methods/config.ts";
import { cellWeights, poolWeights } from "../methods/cdga.ts";
import { downsampleLabels, resize } from "../methods/method.ts";
import { applyDeepLab } from "../model/deeplab.ts";
import { conv } from "../model/layers.ts";
import type { ResNetParams } from "../model/resnet.ts";
import type { PatchDiscriminatorParams } from "../model/discriminator.ts";
import { oneHotLabels } from "../losses/cross_entropy.ts";
import { classEquivalenceWeights } from "../losses/class_equivalence.ts";
import { classBalancedDistributions } from "../losses/class_balanced_distribution.ts";
import { assertClose, on } from "./helpers.ts";

await on("wasm");

const CLASSES = 4;
const SMALL = {
  seg: { depth: 18 as const, width: 0.125, classes: CLASSES, norm: "batch" as const },
  groups: 4,
  disc: { width: 8 },
  optim: { segLr: 0.01, steps: 1000, trainNormAffine: true },
  // CDGA's group-level terms alone (the paper's reading): the global term, on by default, has its
  // own tests in cdga_variants_test.ts.
  global: "none" as const,
};

/** Two images per domain of 32×32: noise, with labels from their brightest channel. */
function noiseBatch(seed: number): Batch {
  return tf.tidy(() => {
    const images = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", seed);
    const target = tf.add(
      tf.mul(tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", seed + 1), 0.6),
      0.4,
    );
    const labelsOf = (x: tf.Tensor) =>
      tf.cast(tf.argMax(tf.pad(x, [[0, 0], [0, 0], [0, 0], [0, 1]]), -1), "int32");
    return {
      source: { images, labels: labelsOf(images) },
      target: { images: target, labels: labelsOf(target) },
    };
  });
}

const scalar = async (t: tf.Tensor) => (await t.data())[0];

Deno.test("batch norm: a step updates the running statistics as PyTorch does (momentum 0.1, unbiased variance)", async () => {
  const trainer = makeTrainer({ method: "sourceOnly", ...SMALL });
  const { params, optState } = trainer.init(key(1));
  const batch = noiseBatch(1);
  const [p, s, m] = trainer.step(params, optState, batch);
  const stem = (params.seg.backbone as ResNetParams).stem;
  const [mean, variance] = tf.tidy(() => {
    const y = conv(stem.conv, batch.source.images, { stride: 2 });
    const moments = tf.moments(y, [0, 1, 2]);
    const n = y.size / y.shape[3]!;
    return [moments.mean, tf.mul(moments.variance, n / (n - 1))];
  });
  const next = (p.seg.backbone as ResNetParams).stem.bn;
  assertClose(await next.mean.data(), [...await mean.data()].map((v) => 0.1 * v), 1e-4, "mean");
  assertClose(
    await next.variance.data(),
    [...await variance.data()].map((v) => 0.9 + 0.1 * v),
    1e-4,
    "variance",
  );
  dispose([params, optState, p, s, m, batch, mean, variance]);
});

Deno.test("evaluation does not depend on the batch: an image predicted alone and in a batch of eight agree", () => {
  const trainer = makeTrainer({ method: "adaptSegNet", ...SMALL });
  let { params, optState } = trainer.init(key(2));
  const batch = noiseBatch(2);
  for (let i = 0; i < 5; i++) {
    const [p, s, m] = trainer.step(params, optState, batch);
    [params, optState] = replace([params, optState, m], [p, s]);
  }
  const images = tf.randomNormal([8, 32, 32, 3], 0, 1, "float32", 9);
  const [alone, inBatch] = tf.tidy(() => [
    applyDeepLab(params.seg, tf.slice(images, [3, 0, 0, 0], [1, 32, 32, 3]), trainer.config.seg)
      .logits,
    tf.slice(applyDeepLab(params.seg, images, trainer.config.seg).logits, [3, 0, 0, 0], [
      1,
      4,
      4,
      CLASSES,
    ]),
  ]);
  assertClose(alone.dataSync(), inBatch.dataSync(), 1e-5, "logits of image 3");
  // In training the same network normalises with the batch's statistics, so the two differ.
  const trained = tf.tidy(() =>
    applyDeepLab(params.seg, tf.slice(images, [3, 0, 0, 0], [1, 32, 32, 3]), trainer.config.seg, {
      training: true,
    }).logits
  );
  assert.ok([...trained.dataSync()].some((v, i) => Math.abs(v - alone.dataSync()[i]) > 1e-4));
  dispose([params, optState, batch, images, alone, inBatch, trained]);
});

/** The parameters with D's last bias set to `value`: D says "source" (> 0) or "target" (< 0) to everything. */
function withDiscBias(params: Params, value: number): Params {
  const disc = params.disc as PatchDiscriminatorParams | { nets: PatchDiscriminatorParams[] };
  const fix = (d: PatchDiscriminatorParams): PatchDiscriminatorParams => ({
    layers: d.layers.map((layer, i) =>
      i === d.layers.length - 1 ? { ...layer, bias: tf.fill(layer.bias!.shape, value) } : layer
    ),
  });
  return {
    ...params,
    disc: "nets" in disc ? { nets: disc.nets.map(fix) } : fix(disc as PatchDiscriminatorParams),
  };
}

for (const method of ["adaptSegNet", "advEnt", "cdga"] as const) {
  Deno.test(`${method}: G's adversarial term asks D to take the target for the source; D's asks the truth`, async () => {
    const trainer = makeTrainer({ method, ...SMALL, lambdas: { adv: 1 } });
    const { params, optState } = trainer.init(key(3));
    const batch = noiseBatch(3);
    const read = async (bias: number) => {
      const biased = withDiscBias(params, bias);
      const [p, s, m] = trainer.step(biased, optState, batch);
      const out = { adv: await scalar(m.adv), disc: await scalar(m.disc) };
      const made = "nets" in biased.disc!
        ? biased.disc.nets.map((d) => d.layers.at(-1)!.bias!)
        : [(biased.disc as PatchDiscriminatorParams).layers.at(-1)!.bias!];
      dispose([p, s, m, made]);
      return out;
    };
    // D calls everything source: G's term (target → 1) is ≈ 0, D's (target → 0) ≈ 20.
    const saysSource = await read(20);
    assert.ok(saysSource.adv < 1e-3, `L_adv ${saysSource.adv} with D saying source`);
    assert.ok(saysSource.disc > 10, `L_D ${saysSource.disc} with D saying source`);
    const saysTarget = await read(-20);
    assert.ok(saysTarget.adv > 10, `L_adv ${saysTarget.adv} with D saying target`);
    assert.ok(saysTarget.disc > 10, `L_D ${saysTarget.disc} with D saying target`);
    dispose([params, optState, batch]);
  });
}

Deno.test("cdga: the total is L_seg + λ_adv L_adv + λ_sc L_sc + λ_orth L_orth + λ_bal L_bal, in both groupings", async () => {
  for (const groupDistribution of ["pixel", "class"] as const) {
    const lambdas = { adv: 0.5, sc: 0.3, orth: 0.2, bal: 0.7 };
    const trainer = makeTrainer({ method: "cdga", ...SMALL, lambdas, groupDistribution });
    const { params, optState } = trainer.init(key(4));
    const batch = noiseBatch(4);
    const [p, s, m] = trainer.step(params, optState, batch);
    const v = Object.fromEntries(
      await Promise.all(
        ["total", "seg", "adv", "sc", "orth", "bal"].map(async (n) => [n, await scalar(m[n])]),
      ),
    );
    const expected = v.seg + lambdas.adv * v.adv + lambdas.sc * v.sc + lambdas.orth * v.orth +
      lambdas.bal * v.bal;
    assertClose([v.total], [expected], 1e-5, `${groupDistribution}: total`);
    assert.ok(v.adv > 0 && v.sc > 0 && v.orth > 0, JSON.stringify(v));
    assert.deepEqual(m.groupClasses.shape, [4, CLASSES]);
    dispose([params, optState, p, s, m, batch]);
  }
});

Deno.test("AdaptSegNet's term is weighted by λ_adv, AdvEnt's by its own λ_adv^AdvEnt", async () => {
  for (const method of ["adaptSegNet", "advEnt"] as const) {
    const lambdas = { adv: 0.25, advEnt: 0.75 };
    const trainer = makeTrainer({ method, ...SMALL, lambdas });
    const { params, optState } = trainer.init(key(6));
    const batch = noiseBatch(6);
    const [p, s, m] = trainer.step(params, optState, batch);
    const [total, seg, adv] = await Promise.all([m.total, m.seg, m.adv].map(scalar));
    const weight = method === "advEnt" ? lambdas.advEnt : lambdas.adv;
    assertClose([total], [seg + weight * adv], 1e-5, `${method}: total`);
    dispose([params, optState, p, s, m, batch]);
  }
});

Deno.test("oracle: L_seg reads the target's labels, never the source's", async () => {
  const segOf = async (method: MethodConfigInput["method"], batch: Batch) => {
    const trainer = makeTrainer({ method, ...SMALL });
    const { params, optState } = trainer.init(key(5));
    const [p, s, m] = trainer.step(params, optState, batch);
    const seg = await scalar(m.seg);
    dispose([params, optState, p, s, m]);
    return seg;
  };
  const batch = noiseBatch(5);
  const otherSource = {
    ...batch,
    source: { ...batch.source, labels: tf.zerosLike(batch.source.labels) },
  };
  const otherTarget = {
    ...batch,
    target: { ...batch.target, labels: tf.zerosLike(batch.target.labels!) },
  };
  const base = await segOf("oracle", batch);
  assert.equal(await segOf("oracle", otherSource), base);
  assert.notEqual(await segOf("oracle", otherTarget), base);
  assert.notEqual(await segOf("sourceOnly", otherSource), await segOf("sourceOnly", batch));
  dispose([batch, otherSource.source.labels, otherTarget.target.labels!]);
});

Deno.test("class-balanced q: more pixels of one class (same assignments) change neither m, q nor ū", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 2, max: 5 }),
      async (seed, cls, times) => {
        const [pixels, k, c] = [24, 3, 3];
        const [a, y] = tf.tidy(() => {
          const logits = tf.randomNormal([pixels, k], 0, 2, "float32", seed);
          const ids = tf.randomUniformInt([pixels], 0, c, seed + 1);
          return [
            tf.softmax(logits),
            oneHotLabels(tf.concat([ids, tf.tensor1d([0, 1, 2], "int32")]), c),
          ];
        });
        const aFull = tf.concat([a, tf.fill([3, k], 1 / k)]);
        // Append (times − 1) more copies of every pixel of class `cls`.
        const ids = [...tf.argMax(y, -1).dataSync()];
        const extra = ids.flatMap((id, i) => (id === cls ? Array(times - 1).fill(i) : []));
        const index = tf.tensor1d([...ids.keys(), ...extra], "int32");
        const [a2, y2] = [tf.gather(aFull, index), tf.gather(y, index)];
        const shape = (t: tf.Tensor) => tf.reshape(t, [1, 1, t.shape[0], t.shape[1]!]);
        const one = classBalancedDistributions(shape(aFull), shape(y));
        const two = classBalancedDistributions(shape(a2), shape(y2));
        for (const name of ["membership", "q", "usage"] as const) {
          assertClose(await two[name].data(), await one[name].data(), 1e-4, name, 1e-3);
        }
        tf.dispose([a, y, aFull, index, a2, y2, ...Object.values(one), ...Object.values(two)]);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("class equivalence from exact evidence at D's resolution: every class present carries 1/|C_k| in every group", async () => {
  // Background, a 2×2 class-1 blob (absent from the 4×4 classifier grid) and an 8×8 class-2 block.
  const ids = Array.from({ length: 32 * 32 }, (_, i) => {
    const [y, x] = [Math.floor(i / 32), i % 32];
    if (y >= 13 && y < 15 && x >= 5 && x < 7) return 1;
    return y >= 16 && y < 24 && x >= 16 && x < 24 ? 2 : 0;
  });
  const labels = tf.tensor3d(ids, [1, 32, 32], "int32");
  const assignments = tf.softmax(tf.randomNormal([1, 4, 4, 2], 0, 1, "float32", 7));
  const evidence = oneHotLabels(downsampleLabels(labels, [32, 32]), 3);
  const weights = classEquivalenceWeights(resize(assignments, [32, 32]), evidence); // [1, 32, 32, 2]
  const w = await weights.data(), e = await evidence.data();
  for (let k = 0; k < 2; k++) {
    for (let c = 0; c < 3; c++) {
      let total = 0;
      for (let i = 0; i < 32 * 32; i++) total += e[i * 3 + c] * w[i * 2 + k];
      assertClose([total], [1 / 3], 1e-4, `group ${k} class ${c}`);
    }
  }
  // Summed onto a 2×2 grid: each cell holds its quadrant's share; each group sums to 1.
  const cells = await cellWeights(assignments, evidence, [2, 2]).data(); // [2, 1, 2, 2]
  for (let k = 0; k < 2; k++) {
    for (let q = 0; q < 4; q++) {
      const [qy, qx] = [Math.floor(q / 2), q % 2];
      let share = 0;
      for (let y = qy * 16; y < qy * 16 + 16; y++) {
        for (let x = qx * 16; x < qx * 16 + 16; x++) share += w[(y * 32 + x) * 2 + k];
      }
      assertClose([cells[k * 4 + q]], [share], 1e-4, `group ${k} cell ${q}`);
    }
  }
  const pooled = poolWeights(tf.ones([2, 1, 6, 6]), [2, 2]);
  assertClose(await pooled.data(), Array(8).fill(0.25), 1e-6, "uniform pooling");
  tf.dispose([labels, assignments, evidence, weights, pooled]);
});

Deno.test("parts: each method's parts are its definition's, one optimiser state per part; own options are checked", () => {
  const cdga = makeTrainer({
    method: "cdga",
    seg: { depth: 18, width: 0.125, classes: 3 },
    groups: 2,
    disc: { width: 4 },
  });
  const { params, optState } = cdga.init(key(0));
  assert.deepEqual(Object.keys(params), ["seg", "group", "disc"]);
  assert.deepEqual(Object.keys(optState), ["seg", "group", "disc"]);
  dispose([params, optState]);
  const oracle = makeTrainer({ method: "oracle", seg: { depth: 18, width: 0.125, classes: 3 } });
  const bare = oracle.init(key(0));
  assert.deepEqual([Object.keys(bare.params), Object.keys(bare.optState)], [["seg"], ["seg"]]);
  dispose([bare.params, bare.optState]);
  // A setting a method does not have is refused, naming it and the ones it has.
  assert.throws(
    () => makeTrainer({ method: "adaptSegNet", seg: { classes: 3 }, options: { lambdaX: 1 } }),
    /config: adaptSegNet: lambdaX is not one of its options \(none\)/,
  );
  assert.throws(
    () => makeTrainer({ method: "cdga", seg: { classes: 3 }, options: { lambdaX: 1 } }),
    /config: cdga: lambdaX is not one of its options \(groupSkipClasses, orthogonality, groupAppearance, groupRampSteps\)/,
  );
});
