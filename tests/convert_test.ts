/**
 * DeepLab-V2 from PyTorch state dicts: the Caffe network every anchor starts
 * from (AdaptSegNet's and ADVENT's ResNet-101) and torchvision's ResNet-101,
 * rebuilt by `bench/torch_deeplab.py` with random weights at 1/16 width,
 * converted by `model/pytorch_names.ts` and run by our G: the logits and one
 * backward pass agree to 1e-4. The committed fixtures make the test run
 * anywhere; where /usr/bin/python3 has torch, fresh ones (another seed) are
 * made and checked too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { tf } from "../lib/tf.ts";
import { key } from "../lib/random.ts";
import { flatten, map } from "../lib/tree.ts";
import { valueAndGrad } from "../lib/grad.ts";
import { applyDeepLab, type DeepLabConfig, initDeepLab } from "../model/deeplab.ts";
import { fromPyTorch } from "../model/pytorch_names.ts";
import { loadSafetensors, parseSafetensors } from "../io/safetensors.ts";
import { assertClose, on, REPO, runDeno } from "./helpers.ts";

await on("wasm");

const fixtures = new URL("./fixtures/torch/", import.meta.url).pathname;
const repo = REPO;

const CONFIGS: Record<"caffe" | "torchvision", DeepLabConfig> = {
  // AdaptSegNet's classifier sums its first two branches only.
  caffe: { depth: 101, width: 1 / 16, classes: 3, variant: "caffe", atrousRates: [6, 12] },
  torchvision: {
    depth: 101,
    width: 1 / 16,
    classes: 3,
    variant: "torchvision",
    atrousRates: [6, 12, 18, 24],
  },
};

/** NCHW → NHWC (or the reverse with `back`). */
function nhwc(data: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let a = 0; a < n; a++) {
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          out[((a * h + y) * w + x) * c + ch] = data[((a * c + ch) * h + y) * w + x];
        }
      }
    }
  }
  return out;
}

async function check(file: string, variant: "caffe" | "torchvision") {
  const tensors = parseSafetensors(await Deno.readFile(file), file);
  const fixture = (name: string) => tensors.get(`fixture/${name}`)!;
  const state = new Map([...tensors].filter(([name]) => !name.startsWith("fixture/")));
  const { values, unused } = fromPyTorch(state);
  const config = CONFIGS[variant];
  const template = initDeepLab(key(0), config);
  // AdaptSegNet's unused branches (rates 18, 24) are in its state dict but not in its network.
  const expectedExtra = variant === "caffe"
    ? ["head/aspp/2/kernel", "head/aspp/2/bias", "head/aspp/3/kernel", "head/aspp/3/bias"]
    : [];
  const wanted = new Set(flatten(template).map(([p]) => p));
  assert.deepEqual([...values.keys()].filter((p) => !wanted.has(p)).sort(), expectedExtra.sort());
  assert.deepEqual(unused, [], "every float tensor of the state dict is G's");
  const params = map(template, (leaf, path) => {
    const v = values.get(path);
    assert.ok(v, `the state dict has ${path}`);
    assert.deepEqual(v.shape, leaf.shape, path);
    return tf.tensor(v.data, leaf.shape);
  });
  tf.dispose(flatten(template).map(([, t]) => t));

  const x = fixture("x");
  const [n, c, h, w] = x.shape;
  const images = tf.tensor4d(nhwc(x.data, x.shape), [n, h, w, c]);
  const r = fixture("r");
  const weights = tf.tensor(nhwc(r.data, r.shape), [
    r.shape[0],
    r.shape[2],
    r.shape[3],
    r.shape[1],
  ]);
  const objective = (p: { images: tf.Tensor; kernel: tf.Tensor }) => {
    const seg = { ...params, backbone: { ...params.backbone, stem: { ...params.backbone.stem } } };
    (seg.backbone as { stem: { conv: { kernel: tf.Tensor } } }).stem.conv = { kernel: p.kernel };
    const { logits } = applyDeepLab(seg, p.images, config);
    return { loss: tf.sum(tf.mul(logits, weights)), metrics: { logits } };
  };
  const kernel = (params.backbone as { stem: { conv: { kernel: tf.Tensor } } }).stem.conv.kernel;
  const { grads, metrics } = valueAndGrad(objective)({ images, kernel });
  const logits = metrics!.logits as tf.Tensor;
  assert.deepEqual(logits.shape, [r.shape[0], r.shape[2], r.shape[3], r.shape[1]], "output size");
  const expected = fixture("logits");
  assertClose(await logits.data(), nhwc(expected.data, expected.shape), 1e-4, `${variant} logits`);
  const gx = fixture("grad_x");
  assertClose(await grads.images.data(), nhwc(gx.data, gx.shape), 1e-4, `${variant} ∂/∂x`);
  const gk = fixture("grad_conv1");
  const [o, i, kh, kw] = gk.shape;
  const hwio = new Float32Array(gk.data.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < kh; y++) {
        for (let z = 0; z < kw; z++) {
          hwio[((y * kw + z) * i + b) * o + a] = gk.data[((a * i + b) * kh + y) * kw + z];
        }
      }
    }
  }
  assertClose(await grads.kernel.data(), hwio, 1e-4, `${variant} ∂/∂conv1`);
  tf.dispose([images, weights, logits, grads.images, grads.kernel]);
  tf.dispose(flatten(params).map(([, t]) => t));
}

for (const variant of ["caffe", "torchvision"] as const) {
  Deno.test(`DeepLab-V2 ResNet-101 (${variant}) converted from PyTorch: logits and gradients agree to 1e-4`, async () => {
    await check(join(fixtures, `deeplab_${variant}.safetensors`), variant);
  });
}

const torch = await new Deno.Command("/usr/bin/python3", {
  args: ["-c", "import torch"],
  stdout: "null",
  stderr: "null",
}).output().then((r) => r.success, () => false);

Deno.test({
  name: "fresh PyTorch references (another seed) agree too, where /usr/bin/python3 has torch",
  ignore: !torch,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "uda-torch-" });
    const made = await new Deno.Command("/usr/bin/python3", {
      args: [join(repo, "bench/torch_deeplab.py"), dir, "7"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
    for (const variant of ["caffe", "torchvision"] as const) {
      await check(join(dir, `deeplab_${variant}.safetensors`), variant);
    }
    await Deno.remove(dir, { recursive: true });
  },
});
if (!torch) console.log("convert_test: /usr/bin/python3 has no torch; the committed fixtures only");

Deno.test("deno task convert writes G's weights for --init-from; a missing classifier is initialised and said", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uda-convert-" });
  const run = (args: string[]) => runDeno([join(repo, "convert.ts"), ...args]);
  const input = join(fixtures, "deeplab_caffe.safetensors");
  const same = await run([
    "--from",
    "caffe",
    "--input",
    input,
    "--output",
    join(dir, "g.safetensors"),
    "--classes",
    "3",
    "--width",
    "0.0625",
  ]);
  assert.equal(same.code, 0, same.err);
  assert.match(same.out, /train with: .*--resnet-variant caffe --aspp-rates 6,12 --norm frozen/);
  assert.match(same.out, /left out: head\/aspp\/2\/kernel/);
  const template = initDeepLab(key(1), CONFIGS.caffe);
  const loaded = await loadSafetensors(join(dir, "g.safetensors"), template);
  const state = parseSafetensors(await Deno.readFile(input), input);
  const first = state.get("layer3.22.conv2.weight")!;
  const ours = (loaded.backbone as unknown as { layer3: { conv2: { kernel: tf.Tensor } }[] })
    .layer3[22].conv2.kernel;
  assert.deepEqual(ours.shape, [3, 3, first.shape[1], first.shape[0]]);
  assert.equal((await ours.data())[0], first.data[0]);
  const other = await run([
    "--from",
    "caffe",
    "--input",
    input,
    "--output",
    join(dir, "g5.safetensors"),
    "--classes",
    "5",
    "--width",
    "0.0625",
  ]);
  assert.equal(other.code, 0, other.err);
  assert.match(other.out, /head: initialised here .* no classifier of 5 classes/);
  const wrong = await run([
    "--from",
    "torchvision",
    "--input",
    input,
    "--output",
    join(dir, "x.safetensors"),
    "--classes",
    "3",
    "--depth",
    "50",
    "--width",
    "0.0625",
  ]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /backbone tensors that a ResNet-50 lacks .*is it a deeper network\?/);
  tf.dispose(flatten(template).map(([, t]) => t));
  tf.dispose(flatten(loaded).map(([, t]) => t));
  await Deno.remove(dir, { recursive: true });
});
