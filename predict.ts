/**
 * `deno task predict --checkpoint FILE --input DIR --output DIR`: runs a
 * checkpoint's G on every PNG of a folder and writes, per image, the class
 * map as a single-channel PNG of class indices (`NAME_label.png`), its colour
 * version (`NAME_pred.png`) and an overlay on the image (`NAME_overlay.png`).
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { tf } from "./lib/tf.ts";
import { useBackend } from "./lib/backend.ts";
import { dispose } from "./lib/tree.ts";
import { applyDeepLab } from "./model/deeplab.ts";
import { readImage, toRgb } from "./data/image_io.ts";
import { classesOf } from "./data/plan.ts";
import { normalise } from "./data/stream.ts";
import { writeLabelPng, writePrediction } from "./data/visualize.ts";
import { segFromCheckpoint } from "./cli/restore.ts";

const HELP = `deno task predict --checkpoint FILE --input DIR --output DIR [--backend B]

  --checkpoint FILE  a checkpoint written by deno task train
  --input DIR        a folder of .png images
  --output DIR       where the label maps and overlays go (created)
  --backend B        auto, webgpu, wasm or cpu (default auto)`;

try {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      checkpoint: { type: "string" },
      input: { type: "string" },
      output: { type: "string" },
      backend: { type: "string", default: "auto" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  for (const flag of ["checkpoint", "input", "output"] as const) {
    if (!values[flag]) throw new Error(`--${flag} is required (see --help)`);
  }
  await useBackend(values.backend as "auto");
  let table: Awaited<ReturnType<typeof classesOf>> | undefined;
  const { seg, config, options } = await segFromCheckpoint(values.checkpoint!, async (o) => {
    table = await classesOf(o);
    return table.names.length;
  });
  const how = options.backbone === "mobilenetv2" ? "symmetric" : "imagenet";
  const entries = [...Deno.readDirSync(values.input!)].filter((e) =>
    e.isFile && e.name.endsWith(".png")
  )
    .map((e) => e.name).sort();
  if (entries.length === 0) throw new Error(`${values.input}: no .png image in the folder`);
  await Deno.mkdir(values.output!, { recursive: true });
  for (const name of entries) {
    const path = join(values.input!, name);
    const image = await readImage(path);
    const rgb = toRgb(image, path);
    const prediction = tf.tidy(() => {
      const x = tf.tensor4d(normalise(rgb, how), [1, image.height, image.width, 3]);
      const { logits } = applyDeepLab(seg, x, config);
      const up = tf.image.resizeBilinear(
        logits as tf.Tensor4D,
        [image.height, image.width],
        false,
        true,
      );
      return tf.argMax(up, -1);
    });
    const classes = Uint8Array.from(await prediction.data());
    prediction.dispose();
    const base = join(values.output!, name.replace(/\.png$/, ""));
    await writeLabelPng(`${base}_label.png`, image.width, image.height, classes);
    await writePrediction(base, {
      width: image.width,
      height: image.height,
      image: rgb,
      prediction: classes,
    }, table!.palette);
    console.log(`${path} → ${base}_label.png, ${base}_pred.png, ${base}_overlay.png`);
  }
  dispose(seg);
} catch (error) {
  console.error(`predict: ${(error as Error).message}`);
  Deno.exit(1);
}
