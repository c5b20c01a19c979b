/**
 * Hands a training step to its PyTorch port: G, C and D's initial weights,
 * the first batch and our first step's losses, so that the port can start
 * from the same point and show it computes the same thing (a port that
 * differs is not a comparison). `deno task bench` calls it before timing a
 * port, and so may a person (`deno run -A bench/step_export.ts DIR [train
 * flags]`); `bench/torch_steps.py` reads what it writes:
 *
 * - `DIR/tensors.safetensors`: every parameter as `params/<tree path>` (our
 *   layouts: NHWC activations, HWIO filters, depthwise [kh, kw, C, 1]) and
 *   the batch as `batch/source/images`, `batch/source/labels` (float
 *   class ids, 255 unlabelled) and `batch/target/images`;
 * - `DIR/step.json`: the resolved method configuration, the parameter
 *   counts (all, and those the optimizers update), the paths of those they
 *   leave as they are (`frozen`) and our first step's
 *   scalar metrics from those weights and that batch, and a second step's
 *   on the same batch.
 *
 * @example
 * ```ts ignore
 * import { useBackend } from "../lib/backend.ts";
 * import { exportFirstStep } from "./step_export.ts";
 * await useBackend("wasm");
 * const ours = await exportFirstStep(["--method", "cdga"], "/tmp/step");
 * console.log(ours.metrics.seg, ours.counts.trainable);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../lib/tf.ts";
import { dispose, flatten, type Tree } from "../lib/tree.ts";
import { readMetrics } from "../methods/step.ts";
import { frozenParameter } from "../methods/optimizers.ts";
import { writeSafetensors } from "../io/safetensors.ts";
import { stepSetup } from "./training_step.ts";

/** What {@linkcode exportFirstStep} wrote and measured. */
export interface ExportedStep {
  /** Our first step's scalar metrics (L_seg, the method's terms, D's loss). */
  metrics: Record<string, number>;
  /** Those of a second step on the same batch, after the first step's updates. */
  second: Record<string, number>;
  /** Parameter values: all of G, C and D, and those the optimizers update. */
  counts: { total: number; trainable: number };
  /** The options in words. */
  detail: string;
}

/**
 * Writes the step of `deno task train <args>` (its initial weights, first
 * batch, configuration and first-step losses) into `dir`.
 *
 * @example
 * ```ts ignore
 * import { exportFirstStep } from "./step_export.ts";
 * await exportFirstStep(["--backbone", "mobilenetv2", "--norm", "frozen", "--method", "sourceOnly"], "/tmp/mbv2");
 * ```
 */
export async function exportFirstStep(args: string[], dir: string): Promise<ExportedStep> {
  const { o, trainer, params, optState, batches } = await stepSetup(args, 1);
  const [batch] = batches;
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  const put = (name: string, t: tf.Tensor) =>
    tensors.set(name, { shape: t.shape, data: Float32Array.from(t.dataSync()) });
  const frozenSeg = frozenParameter(trainer.config);
  let total = 0, trainable = 0;
  const frozen: string[] = [];
  for (const [part, tree] of Object.entries(params)) {
    if (!tree) continue;
    for (const [path, leaf] of flatten(tree as Tree)) {
      put(`params/${part}/${path}`, leaf);
      total += leaf.size;
      // G's frozen statistics (and affine maps) stay; C and D train whole.
      if (part === "seg" && frozenSeg(path)) frozen.push(`${part}/${path}`);
      else trainable += leaf.size;
    }
  }
  put("batch/source/images", batch.source.images);
  tf.tidy(() => {
    put("batch/source/labels", tf.cast(batch.source.labels, "float32"));
  });
  put("batch/target/images", batch.target.images);
  const scalars = async (metrics: Record<string, tf.Tensor>) =>
    Object.fromEntries(
      Object.entries(await readMetrics(metrics)).filter((e): e is [string, number] =>
        typeof e[1] === "number"
      ),
    );
  // The second step, on the same batch, shows that both sides' gradients
  // and updates agree too.
  const [next, nextState, metrics] = trainer.step(params, optState, batch);
  const [after, afterState, again] = trainer.step(next, nextState, batch);
  const first = await scalars(metrics), second = await scalars(again);
  dispose([params, optState, next, nextState, metrics, after, afterState, again, batches]);
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, "tensors.safetensors"), tensors);
  const detail =
    `${o.method}, ${o.backbone}${o.backbone === "resnet" ? `-${o.depth} ×${o.width}` : ""}` +
    `, norm ${o.norm}, batch ${o.batch}+${o.batch} of ${o.canvas}×${o.canvas}`;
  const exported: ExportedStep = { metrics: first, second, counts: { total, trainable }, detail };
  await Deno.writeTextFile(
    join(dir, "step.json"),
    JSON.stringify({ config: trainer.config, ...exported, frozen }, null, 2) + "\n",
  );
  return exported;
}

if (import.meta.main) {
  const [dir, ...args] = Deno.args;
  if (!dir) {
    console.error("usage: deno run -A bench/step_export.ts DIR [deno task train flags]");
    Deno.exit(2);
  }
  const { useBackend } = await import("../lib/backend.ts");
  await useBackend("wasm");
  console.log(JSON.stringify(await exportFirstStep(args, dir)));
}
