/**
 * Prediction as the demo page shows it: G's label map, computed as
 * `deno task predict` computes it (same normalisation, same `predict` call,
 * same tiling), and G's stride-8 logits, which the browser tests compare
 * with Deno's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initDeepLab, random } from "../mod.ts";
 * import { predictImage } from "./worker_predict.ts";
 * const config = { depth: 18 as const, width: 0.125, classes: 3 };
 * const seg = initDeepLab(random.key(0), config);
 * const image = { width: 16, height: 16, rgb: new Uint8Array(16 * 16 * 3) };
 * const { labels, logitsShape } = await predictImage(seg, config, "unit", image);
 * assert.deepEqual([labels.length, logitsShape], [256, [2, 2, 3]]);
 * ```
 *
 * @module
 */
import {
  applyDeepLab,
  type DeepLabConfig,
  type DeepLabParams,
  type Normalisation,
  normalise,
  predict,
  tf,
} from "../mod.ts";
import type { Predicted, RgbImage } from "./protocol.ts";

/** G's label map (as `deno task predict` computes it) and its stride-8 logits. */
export async function predictImage(
  seg: DeepLabParams,
  config: DeepLabConfig,
  how: Normalisation,
  image: RgbImage,
): Promise<Omit<Predicted, "image" | "truth">> {
  const began = performance.now();
  const x = tf.tensor4d(normalise(image.rgb, how), [1, image.height, image.width, 3]);
  const prediction = predict(seg, config, x, { tile: 512 }).labels;
  const labels = Uint8Array.from(await prediction.data());
  const ms = performance.now() - began;
  const logitsTensor = applyDeepLab(seg, x, config).logits;
  const logits = new Float32Array(await logitsTensor.data());
  const [, h, w, c] = logitsTensor.shape;
  tf.dispose([x, prediction, logitsTensor]);
  return { labels, logits, logitsShape: [h, w, c], ms };
}
