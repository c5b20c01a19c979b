/**
 * WebGPU agrees with the cpu reference at realistic sizes. Runs wherever a
 * WebGPU adapter exists, a software one (Mesa's llvmpipe) included; skipped
 * with the reason printed where none exists.
 */
import { tf } from "../lib/tf.ts";
import { probeWebGpu } from "../lib/backend.ts";
import { key, split } from "../lib/random.ts";
import { flatten } from "../lib/tree.ts";
import { valueAndGrad } from "../lib/grad.ts";
import { initReference, referenceBatch, referenceLoss } from "../bench/reference_net.ts";
import { assertClose, on } from "./helpers.ts";
import { checkCase, TOLERANCE } from "./conv_reference.ts";

const probe = await probeWebGpu();
const ignore = !probe.available;
if (ignore) console.log(`webgpu tests skipped: ${probe.description}`);

const REALISTIC = {
  n: 1,
  h: 32,
  w: 32,
  ci: 21,
  co: 21,
  k: [3, 3] as [number, number],
  pad: "same" as const,
};

Deno.test({
  name:
    "webgpu conv2d values and gradients match cpu at 1×32×32×21, 3×3 (stride 1, stride 2, dilation 2)",
  ignore,
  fn: async () => {
    for (const [stride, dilation] of [[1, 1], [2, 1], [1, 2]]) {
      await checkCase({ ...REALISTIC, stride, dilation, depthwise: false }, stride + 3 * dilation, [
        "webgpu",
      ]);
    }
  },
});

Deno.test({
  name: "webgpu depthwise conv2d matches cpu at 1×32×32×21, 3×3",
  ignore,
  fn: async () => {
    await checkCase({ ...REALISTIC, co: 1, stride: 1, dilation: 1, depthwise: true }, 9, [
      "webgpu",
    ]);
  },
});

Deno.test({
  name: "webgpu reference network: loss and every gradient match cpu (float32 one-hot labels)",
  ignore,
  fn: async () => {
    const results: Float32Array[][] = [];
    for (const backend of ["cpu", "webgpu"] as const) {
      await on(backend);
      const [k1, k2] = split(key(11));
      const params = initReference(k1, { width: 16, classes: 21, discWidth: 8 });
      const batch = referenceBatch(k2, { batch: 1, size: 32, classes: 21 });
      const { value, grads, metrics } = valueAndGrad(referenceLoss)(params, batch);
      results.push([
        new Float32Array(await value.data()),
        ...await Promise.all(flatten(grads).map(async ([, g]) => new Float32Array(await g.data()))),
      ]);
      tf.dispose([value, ...flatten(grads).map(([, g]) => g), ...Object.values(metrics)]);
      tf.dispose([...Object.values(params), batch.images, batch.labels]);
    }
    // The gradient of the bias before batch normalisation is zero in exact
    // arithmetic and rounding noise (~1e-9) on both backends, so each error is
    // measured against at least 1e-3 of the largest gradient anywhere.
    const [, ...grads] = results[0];
    const largest = Math.max(...grads.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    results[0].forEach((expected, i) =>
      assertClose(results[1][i], expected, TOLERANCE, `tensor ${i}`, 1e-3 * largest)
    );
  },
});
