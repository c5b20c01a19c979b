/**
 * The adversarial force each method puts on G: for a trained method's
 * checkpoint (G, C and D as they ended), the per-pixel gradient norm of its
 * adversarial term with respect to G's target logits z (at G's output
 * resolution),
 *
 *     F = mean_i ‖∂L_adv/∂z_i‖₂      and      λ·F, the force in G's objective,
 *
 * on the same training batches for every checkpoint (source and target
 * scenes 0 … B·N − 1, G with batch statistics as in a training step).
 * CDGA's L_adv averages K group terms, each seeing A_k ⊙ P, so at the same
 * λ its generator may get a different gradient from AdaptSegNet's; the
 * ratio of the two F says which λ equalises them.
 *
 *     deno run -A bench/adversarial_force.ts [--batches 4] CKPT [CKPT …]
 *
 * Prints one line per checkpoint and a JSON summary.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../lib/tf.ts";
import { useBackend } from "../lib/backend.ts";
import { dispose, type Tree } from "../lib/tree.ts";
import { makeTrainer, type OptStates, type Params } from "../methods/step.ts";
import { partUpdateCounts } from "../lib/optim/mod.ts";
import type { Method } from "../methods/config.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";
import { applyDeepLab } from "../model/deeplab.ts";
import { openData } from "../data/plan.ts";
import { normalise } from "../data/stream.ts";
import { loadCheckpoint, restoreTree } from "../io/checkpoint.ts";
import { optionsFromStored } from "../cli/options.ts";
import { methodConfig, runKeys } from "../cli/config.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { batches: { type: "string", default: "4" }, threads: { type: "string", default: "0" } },
  allowPositionals: true,
});
const batches = Number(values.batches);
if (!Number.isInteger(batches) || batches < 1) {
  throw new Error(`--batches must be a positive integer, got ${values.batches}`);
}
if (positionals.length === 0) {
  console.log("deno run -A bench/adversarial_force.ts [--batches 4] CHECKPOINT [CHECKPOINT …]");
  Deno.exit(2);
}
const threads = Number(values.threads);
await useBackend("wasm", threads > 0 ? { threads } : {});

const rows: Record<string, unknown>[] = [];
for (const path of positionals) {
  const checkpoint = await loadCheckpoint(path);
  const options = optionsFromStored(checkpoint.config as Record<string, unknown>, path);
  const method = checkpoint.position.phase.split(".")[0] as Method;
  const definition = METHOD_DEFINITIONS[method];
  if (!definition.discriminator) throw new Error(`${path}: ${method} has no adversarial term`);
  const data = await openData(options, runKeys(options.seed).data);
  const classes = data.classes.names.length;
  const trainer = makeTrainer(methodConfig(options, method, classes));
  const config = trainer.config;
  const fresh = trainer.init(runKeys(options.seed).init);
  const params: Params = restoreTree(checkpoint, "params", fresh.params as Tree, path) as Params;
  // The optimizer states only for their update counts (a ramped term is weighed as it was trained).
  const optState = restoreTree(checkpoint, "opt", fresh.optState as Tree, path) as OptStates;
  const counts = partUpdateCounts(optState);
  dispose([fresh.params, fresh.optState]);
  const lambda = method === "advEnt" ? config.lambdas.advEnt : config.lambdas.adv;
  const globalLambda = method === "cdga" && config.global !== "none"
    ? config.lambdas.global
    : undefined;
  const norms: number[] = [], totals: number[] = [];
  for (let b = 0; b < batches; b++) {
    const n = options.batch;
    const load = async (dataset: typeof data.source) => {
      const samples = await Promise.all(
        Array.from({ length: n }, (_, i) => dataset.get(b * n + i)),
      );
      const { width: w, height: h } = samples[0];
      const pixels = new Float32Array(n * w * h * 3);
      samples.forEach((s, i) => pixels.set(normalise(s.image, data.normalise), i * w * h * 3));
      const labels = Int32Array.from(samples.flatMap((s) => [...(s.label ?? [])]));
      return { pixels, labels, w, h };
    };
    const s = await load(data.source), t = await load(data.target);
    const norm = tf.tidy(() => {
      const xs = tf.tensor4d(s.pixels, [n, s.h, s.w, 3]);
      const xt = tf.tensor4d(t.pixels, [n, t.h, t.w, 3]);
      const both = applyDeepLab(params.seg, tf.concat([xs, xt], 0), config.seg, {
        training: true,
        record: new Map(),
      });
      const half = (x: tf.Tensor, from: number) =>
        tf.slice(x, [from, 0, 0, 0], [n, ...x.shape.slice(1)]);
      const source = { logits: half(both.logits, 0), feature: half(both.feature, 0) };
      const targetFeature = half(both.feature, n);
      const batch = {
        source: { images: xs, labels: tf.tensor3d(s.labels, [n, s.h, s.w], "int32") },
        target: { images: xt },
      };
      const metricsAt = (z: tf.Tensor) =>
        definition.generator({
          config,
          params: {
            seg: params.seg,
            ...(params.group ? { group: params.group } : {}),
            ...(params.disc ? { disc: params.disc } : {}),
          },
          batch,
          source,
          target: { logits: z, feature: targetFeature },
          updateCounts: counts,
        }).metrics as Record<string, tf.Tensor>;
      const z = half(both.logits, n);
      // Per pixel: the L2 norm over classes; then the mean over pixels.
      const perPixel = (g: tf.Tensor) => tf.mean(tf.sqrt(tf.sum(tf.square(g), -1))).dataSync()[0];
      const own = perPixel(tf.grad((x: tf.Tensor) => metricsAt(x).adv as tf.Scalar)(z));
      // CDGA with a global term: the whole adversarial push on G is λ·L_adv + λ_global·L_global.
      const total = globalLambda === undefined ? undefined : perPixel(
        tf.grad((x: tf.Tensor) => {
          const m = metricsAt(x);
          return tf.add(tf.mul(m.adv, lambda), tf.mul(m.globalAdv, globalLambda)) as tf.Scalar;
        })(z),
      );
      return { own, total };
    });
    norms.push(norm.own);
    if (norm.total !== undefined) totals.push(norm.total);
  }
  const force = norms.reduce((a, b) => a + b, 0) / norms.length;
  const totalForce = totals.length > 0
    ? totals.reduce((a, b) => a + b, 0) / totals.length
    : undefined;
  const row = {
    checkpoint: path,
    method,
    lambda,
    perPixelGradientNorm: force,
    weighted: lambda * force,
    batches: norms,
    ...(totalForce === undefined ? {} : { withGlobalTerm: totalForce }),
  };
  rows.push(row);
  console.log(
    `${path}: ${method}, λ ${lambda}: mean per-pixel ‖∂L_adv/∂z‖ ${force.toExponential(3)} ` +
      `(batches ${norms.map((v) => v.toExponential(2)).join(", ")}); λ·F ${
        (lambda * force).toExponential(3)
      }` +
      (totalForce === undefined
        ? ""
        : `; with the global term (λ_global ${globalLambda}): ${totalForce.toExponential(3)}`),
  );
  dispose([params as Tree, optState as Tree]);
}
console.log(JSON.stringify(rows));
