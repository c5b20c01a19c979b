import assert from "node:assert/strict";
import { tf } from "../lib/tf.ts";
import { key } from "../lib/random.ts";
import { count, dispose, flatten, type Tree } from "../lib/tree.ts";
import { initResNet, type ResNetDepth } from "../model/resnet.ts";
import { applyDeepLab, initDeepLab } from "../model/deeplab.ts";
import { applyMobileNetV2, initMobileNetV2 } from "../model/mobilenet_v2.ts";
import { applyGrouping, initGrouping } from "../model/grouping.ts";
import {
  applyGroupDiscriminator,
  applyPatchDiscriminator,
  initGroupDiscriminator,
  initPatchDiscriminator,
} from "../model/discriminator.ts";
import { kerasName, loadMobileNetV2Weights } from "../model/pretrained.ts";
import { batchNorm, layerNorm } from "../model/layers.ts";
import { predict, tileAxis } from "../model/predict.ts";
import fc from "fast-check";
import { assertClose } from "./helpers.ts";
import { on } from "./helpers.ts";

await on("wasm");

const trainable = (tree: Tree) =>
  flatten(tree).filter(([p]) => !/(mean|variance)$/.test(p)).reduce((n, [, t]) => n + t.size, 0);

// torchvision's resnet{18,34,50,101} parameter counts minus the 1000-way fc.
const PUBLISHED: Record<ResNetDepth, number> = {
  18: 11_689_512 - 513_000,
  34: 21_797_672 - 513_000,
  50: 25_557_032 - 2_049_000,
  101: 44_549_160 - 2_049_000,
};

Deno.test("ResNet backbones have the published parameter counts (ResNet-101: 42.5 M)", () => {
  for (const depth of [18, 34, 50, 101] as const) {
    const p = initResNet(key(0), { depth });
    assert.equal(trainable(p), PUBLISHED[depth], `ResNet-${depth}`);
    dispose(p);
  }
});

Deno.test("DeepLab-V2: output stride 8, ASPP of four rates summed, features for C", () => {
  const config = { depth: 50 as const, width: 0.125, classes: 7 };
  const p = initDeepLab(key(1), config);
  assert.equal(p.head.aspp.length, 4);
  assert.deepEqual(p.head.aspp[0].kernel.shape, [3, 3, 256, 7]);
  const { logits, feature } = applyDeepLab(p, tf.zeros([2, 41, 64, 3]), config);
  assert.deepEqual(logits.shape, [2, 6, 8, 7]);
  assert.deepEqual(feature.shape, [2, 6, 8, 256]);
  // The head alone at full width, for 19 classes: 4·(3·3·2048·19 + 19).
  const full = initDeepLab(key(2), { depth: 101, classes: 19 });
  assert.equal(count(full.head), 4 * (9 * 2048 * 19 + 19));
  dispose([p, full, logits, feature] as Tree[]);
});

Deno.test("networks are deterministic in their key, and differ between keys", () => {
  const a = initDeepLab(key(3), { depth: 18, width: 0.125, classes: 3 });
  const b = initDeepLab(key(3), { depth: 18, width: 0.125, classes: 3 });
  const c = initDeepLab(key(4), { depth: 18, width: 0.125, classes: 3 });
  const bits = (t: Tree) => flatten(t).map(([, v]) => [...v.dataSync()]);
  assert.deepEqual(bits(a), bits(b));
  assert.notDeepEqual(bits(a), bits(c));
  dispose([a, b, c]);
});

Deno.test("batch statistics and frozen running statistics both work", () => {
  const config = { depth: 18 as const, width: 0.125, classes: 3 };
  const p = initDeepLab(key(5), config);
  const x = tf.randomNormal([2, 16, 16, 3], 0, 1, "float32", 1);
  const frozen = applyDeepLab(p, x, { ...config, norm: "frozen" }, { training: true }).logits;
  const batch = applyDeepLab(p, x, { ...config, norm: "batch" }, { training: true }).logits;
  // In evaluation a batch-norm network normalises with its running statistics.
  const evaluated = applyDeepLab(p, x, { ...config, norm: "batch" }).logits;
  assert.deepEqual([...evaluated.dataSync()], [...frozen.dataSync()]);
  assert.deepEqual(frozen.shape, batch.shape);
  assert.ok([...frozen.dataSync()].some((v, i) => Math.abs(v - batch.dataSync()[i]) > 1e-6));
  dispose([p, x, frozen, batch, evaluated] as Tree[]);
});

Deno.test("MobileNetV2 at output stride 8; its ImageNet weights load from nsfwjs", async () => {
  const random = initMobileNetV2(key(0));
  const { params, imagenet, random: fresh } = await loadMobileNetV2Weights();
  // Keras MobileNetV2 (alpha 1) without top has 2,257,984 values; Conv_1 and its BN are left out.
  assert.equal(count(params), 2_257_984 - (320 * 1280 + 4 * 1280));
  assert.equal(count(params), count(random));
  assert.equal(fresh.length, 0);
  assert.ok(
    imagenet.includes("stem/conv/kernel") && imagenet.includes("blocks/10/project/bn/mean"),
  );
  assert.ok(!imagenet.includes("blocks/11/expand/conv/kernel"));
  assert.equal(
    kerasName("blocks/0/depthwise/bn/variance"),
    "expanded_conv_depthwise_BN/moving_variance",
  );
  // uint8 quantisation rounds the tiny variances of dead channels to 0, never below.
  const variances = flatten(params).filter(([p]) => p.endsWith("variance"));
  assert.ok(variances.every(([, t]) => t.dataSync().every((v) => v >= 0)));
  const feature = applyMobileNetV2(params, tf.zeros([1, 64, 48, 3]));
  assert.deepEqual(feature.shape, [1, 8, 6, 320]);
  const partly = await loadMobileNetV2Weights({ imagenetOnly: true, key: key(9) });
  assert.ok(partly.random.includes("blocks/16/project/conv/kernel"));
  assert.ok(!partly.random.some((p) => /^blocks\/(\d|10)\//.test(p) || p.startsWith("stem")));
  dispose([random, params, feature, partly.params] as Tree[]);
});

Deno.test("C assigns every pixel to K groups (rows sum to 1), from P alone or with the feature", () => {
  for (const input of ["probs+feature", "probs"] as const) {
    const config = { classes: 5, featureChannels: 8, groups: 3, input };
    const p = initGrouping(key(6), config);
    const probs = tf.softmax(tf.randomNormal([2, 4, 4, 5], 0, 1, "float32", 2));
    const a = applyGrouping(p, { probs, feature: tf.ones([2, 4, 4, 8]) }, config);
    assert.deepEqual(a.shape, [2, 4, 4, 3]);
    const sums = tf.sum(a, -1).dataSync();
    assert.ok(sums.every((s) => Math.abs(s - 1) < 1e-5));
    dispose([p, probs, a] as Tree[]);
  }
  assert.throws(
    () => initGrouping(key(0), { classes: 3, featureChannels: 1, groups: 1 }),
    /K \(groups\) must be an integer ≥ 2/,
  );
});

Deno.test("discriminators: the patch D and the group-level variants that read each group alone", () => {
  const d = initPatchDiscriminator(key(7), { inChannels: 5, width: 4 });
  assert.deepEqual(applyPatchDiscriminator(d, tf.zeros([2, 64, 32, 5])).shape, [2, 2, 1, 1]);
  for (const mode of ["shared", "independent", "conditioned"] as const) {
    const config = { classes: 5, groups: 3, mode, width: 4 };
    const g = initGroupDiscriminator(key(8), config);
    const inputs = tf.randomUniform([3, 2, 64, 64, 5], 0, 1, "float32", 3);
    const out = applyGroupDiscriminator(g, inputs, config);
    assert.deepEqual(out.shape, [3, 2, 2, 2], mode);
    // Group k's logits depend on group k's input only.
    const changed = tf.concat([tf.slice(inputs, [0], [2]), tf.zeros([1, 2, 64, 64, 5])]);
    const out2 = applyGroupDiscriminator(g, changed, config);
    const [a, b] = [out.arraySync() as number[][][][], out2.arraySync() as number[][][][]];
    assert.deepEqual(a.slice(0, 2), b.slice(0, 2), mode);
    dispose([g, inputs, out, changed, out2] as Tree[]);
  }
  assert.throws(
    () => initGroupDiscriminator(key(0), { classes: 2, groups: 2, mode: "other" as "shared" }),
    /mode must be one of shared, independent, conditioned, stacked, got other/,
  );
  dispose(d);
});

Deno.test("batch and layer norm: values and all three gradients match autodiff of the moments formula", async () => {
  const reference =
    (over: "batch" | "channels") => (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
      const axes = over === "batch" ? [0, 1, 2] : [3];
      const { mean, variance } = tf.moments(x, axes, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta);
    };
  const ours = (over: "batch" | "channels") => (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
    over === "batch"
      ? batchNorm(
        { gamma, beta, mean: tf.zeros(gamma.shape), variance: tf.ones(gamma.shape) },
        x,
        "batch",
      )
      : layerNorm({ gamma, beta }, x);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("batch" as const, "channels" as const),
      fc.tuple(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 3, max: 5 }),
      ),
      fc.integer({ min: 0, max: 10_000 }),
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      async (over, [n, side, channels], seed, scale) => {
        const [x, gamma, beta, weights] = tf.tidy(() => [
          tf.mul(tf.randomNormal([n, side, side, channels], 0, 1, "float32", seed), scale),
          tf.randomNormal([channels], 1, 0.5, "float32", seed + 1),
          tf.randomNormal([channels], 0, 0.5, "float32", seed + 2),
          tf.randomNormal([n, side, side, channels], 0, 1, "float32", seed + 3),
        ]);
        const results: ArrayLike<number>[][] = [];
        for (const f of [ours(over), reference(over)]) {
          const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
            tf.sum(tf.mul(f(a, b, c), weights));
          const value = tf.tidy(() => f(x, gamma, beta));
          const grads = tf.grads(loss)([x, gamma, beta]);
          results.push([await value.data(), ...await Promise.all(grads.map((g) => g.data()))]);
          tf.dispose([value, ...grads]);
        }
        const names = ["value", "dx", "dγ", "dβ"];
        // Over two values x̂ is ±1 whatever x is, and dx vanishes: statistics
        // here always cover four or more (2×2 positions, 3 channels).
        // dx scales as 1/σ of x; the others do not.
        const floors = [1e-3, 1e-3 / scale, 1e-3, 1e-3];
        results[0].forEach((got, i) =>
          assertClose(got, results[1][i], 2e-4, `${over} ${names[i]}`, floors[i])
        );
        tf.dispose([x, gamma, beta, weights]);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("tiled inference: windows on the stride-8 grid cover the image, seams at the overlaps' centres", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3000 }),
      fc.integer({ min: 2, max: 80 }),
      fc.integer({ min: 0, max: 79 }),
      (size, tileCells, overlapCells) => {
        fc.pre(overlapCells < tileCells);
        const tile = tileCells * 8, overlap = overlapCells * 8;
        const { starts, extent, owned } = tileAxis(size, tile, overlap);
        const padded = Math.ceil(size / 8) * 8;
        assert.equal(starts[0], 0);
        assert.equal(starts.at(-1)! + extent, padded, "the last window is flush with the end");
        for (const s of starts) assert.equal(s % 8, 0);
        assert.deepEqual(owned[0][0], 0);
        assert.equal(owned.at(-1)![1], padded / 8);
        for (let i = 0; i < starts.length; i++) {
          const [from, to] = owned[i], first = starts[i] / 8, end = first + extent / 8;
          assert.ok(from < to && first <= from && to <= end, `window ${i} owns within itself`);
          if (i > 0) {
            assert.equal(from, owned[i - 1][1], "the owned ranges partition the cells");
            assert.ok(from - first >= Math.floor(overlap / 16), "away from the window's left edge");
          }
          if (i < starts.length - 1) assert.ok(end - to >= Math.floor(overlap / 16));
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("tiled inference: an image that fits is predicted whole; a larger one gets whole-size labels and probabilities; bad tiles are refused", async () => {
  const config = { depth: 18 as const, width: 0.125, classes: 4 };
  const params = initDeepLab(key(3), config);
  const small = tf.randomNormal([2, 24, 32, 3]) as tf.Tensor4D;
  const whole = predict(params, config, small).labels;
  const fits = predict(params, config, small, { tile: 32, overlap: 8 }).labels;
  assert.deepEqual(await fits.array(), await whole.array());
  const large = tf.randomNormal([2, 44, 61, 3]) as tf.Tensor4D;
  const live = tf.memory().numTensors;
  const thrown = predict(params, config, large, { tile: 24, probabilities: true });
  tf.dispose([thrown.labels, thrown.probabilities!]);
  assert.equal(tf.memory().numTensors, live, "tiling leaves no tensor behind");
  const tiled = predict(params, config, large, { tile: 24, overlap: 8, probabilities: true });
  assert.deepEqual(tiled.labels.shape, [2, 44, 61]);
  assert.equal(tiled.labels.dtype, "int32");
  const sums = await tf.sum(tiled.probabilities!, -1).data();
  for (const v of sums) assert.ok(Math.abs(v - 1) < 1e-5);
  // The labels are the argmax of the probabilities returned with them.
  const argmax = tf.argMax(tiled.probabilities!, -1);
  assert.deepEqual(await argmax.array(), await tiled.labels.array());
  // Each image of a batch is tiled on its own: the batch gives what one image alone gives.
  const one =
    predict(params, config, tf.slice(large, [1, 0, 0, 0], [1, 44, 61, 3]) as tf.Tensor4D, {
      tile: 24,
      overlap: 8,
    }).labels;
  assert.deepEqual((await one.array())[0], (await tiled.labels.array())[1]);
  assert.throws(() => predict(params, config, large, { tile: 20 }), /tile must be a multiple of 8/);
  assert.throws(
    () => predict(params, config, large, { tile: 24, overlap: 24 }),
    /overlap must be a multiple of 8 from 0 to below the tile \(24\), got 24/,
  );
  assert.throws(() => predict(params, config, large, { overlap: 8 }), /give a tile too/);
  tf.dispose([small, whole, fits, large, tiled.labels, tiled.probabilities!, argmax, one]);
  dispose(params);
});
