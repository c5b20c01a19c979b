/**
 * Train CDGA for 20 steps on your own tensors: a labelled source batch and an
 * unlabelled target batch of the same size, with a small G so that it runs in
 * seconds on a CPU. Prints the losses every 5 steps and checks that nothing
 * leaks (the tensor count stays flat).
 *
 * Run: `deno run --allow-read examples/train_cdga.ts` (from a URL: the same,
 * with `--allow-import` for the host).
 *
 * @module
 */
import { makeTrainer, random, replace, tf, tree, useBackend } from "../mod.ts";

await useBackend("auto"); // WebGPU on a hardware GPU, else wasm
const classes = 3;
const trainer = makeTrainer({
  method: "cdga",
  seg: { depth: 18, width: 0.125, classes, norm: "batch" }, // from scratch: batch statistics
  groups: 2,
  disc: { width: 8 },
  discResolution: "input", // D on 32×32 maps (G's output is 4×4 here)
});
let { params, optState } = trainer.init(random.key(0));

/** Your data: here, squares of a class colour on noise; the target's colours are inverted. */
function makeBatch(step: number) {
  return tf.tidy(() => {
    const [ks, kt, kl] = random.split(random.key(1000 + step), 3);
    const cells = tf.floor(tf.mul(random.uniform(kl, [4, 4, 4, 1]), classes)); // a class per 8×8 cell
    const labels = tf.cast(
      tf.squeeze(tf.image.resizeNearestNeighbor(cells as tf.Tensor4D, [32, 32]), [3]),
      "int32",
    ); // class ids [N, H, W]
    const colour = tf.div(tf.cast(tf.expandDims(labels, -1), "float32"), classes - 1);
    const source = tf.add(
      tf.tile(colour, [1, 1, 1, 3]),
      random.normal(ks, [4, 32, 32, 3], { stddev: 0.2 }),
    );
    const target = tf.add(
      tf.sub(1, tf.tile(colour, [1, 1, 1, 3])),
      random.normal(kt, [4, 32, 32, 3], { stddev: 0.2 }),
    );
    return {
      source: { images: source as tf.Tensor4D, labels: labels as tf.Tensor3D },
      target: { images: target as tf.Tensor4D },
    };
  });
}

const counts: number[] = [];
for (let step = 0; step < 20; step++) {
  const batch = makeBatch(step);
  const [p, s, metrics] = trainer.step(params, optState, batch);
  const m = await trainer.read(metrics); // CDGA's named numbers; read before replace frees them
  if (step % 5 === 4) {
    console.log(
      `step ${step + 1}: L_seg ${m.seg.toFixed(3)}, L_adv ${m.adv.toFixed(4)}, L_D ${
        m.disc.toFixed(4)
      }`,
    );
  }
  [params, optState] = replace([params, optState, metrics], [p, s]);
  tree.dispose(batch);
  counts.push(tf.memory().numTensors);
}
if (new Set(counts).size !== 1) throw new Error(`tensors leaked: ${counts}`);
tree.dispose([params, optState]);
