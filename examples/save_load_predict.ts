/**
 * Save → load → predict → evaluate: G's parameters written to a checkpoint,
 * read back into a typed tree, label maps at the input size, and mIoU against
 * labels with a confusion matrix.
 *
 * Run: `deno run --allow-read --allow-write examples/save_load_predict.ts`.
 *
 * @module
 */
import {
  ConfusionMatrix,
  evaluate,
  initDeepLab,
  loadParams,
  predict,
  random,
  saveParams,
  tf,
  tree,
  useBackend,
} from "../mod.ts";

await useBackend("auto");
const config = { depth: 18 as const, width: 0.125, classes: 3 };
const params = initDeepLab(random.key(0), config); // or a trainer's params.seg after training

const path = await Deno.makeTempFile({ suffix: ".ckpt" });
await saveParams(path, params, { seg: config });
// The template gives the structure and the type: no cast.
const loaded = await loadParams(path, initDeepLab(random.key(1), config));

const images = tf.randomNormal([2, 40, 48, 3], 0, 1, "float32", 2) as tf.Tensor4D;
const { labels: predicted, probabilities } = predict(loaded, config, images, {
  probabilities: true,
});
console.log(`label maps [${predicted.shape}], probabilities [${probabilities!.shape}]`);

// Your ground truth: class ids per pixel (255: not labelled).
const truth = new Uint8Array(2 * 40 * 48).map((_, i) => (i % 48 < 16 ? 0 : i % 48 < 32 ? 1 : 2));
const matrix = new ConfusionMatrix(config.classes).add(await predicted.data(), truth);
const result = evaluate(matrix, ["road", "car", "sky"]);
console.log(
  `mIoU ${(100 * result.miou.all).toFixed(1)}%, IoU ${result.iou.map((v) => v.toFixed(2))}`,
);

const again = predict(params, config, images).labels; // the saved parameters predict the same
if ((await again.data()).join() !== (await predicted.data()).join()) {
  throw new Error("the loaded parameters predict differently");
}
tree.dispose([params, loaded, images, predicted, probabilities!, again]);
await Deno.remove(path);
