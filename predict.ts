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
  --backend B        auto, webgpu, wasm or cpu (default auto)

A file that cannot be read as an image is skipped and named; the others are
predicted, and the exit status is 1 when any was skipped. The class list and
palette come from the checkpoint (or, for checkpoints of earlier versions,
from the run's data set).`;

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
  const output = values.output!;
  try {
    if (!(await Deno.stat(output)).isDirectory) {
      throw new Error(`--output ${output}: a file of that name exists; give a folder`);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  let entries: string[];
  try {
    entries = [...Deno.readDirSync(values.input!)].filter((e) =>
      e.isFile && e.name.toLowerCase().endsWith(".png")
    ).map((e) => e.name).sort();
  } catch (error) {
    throw new Error(
      `--input ${values.input}: cannot read the folder (${(error as Error).message})`,
    );
  }
  if (entries.length === 0) throw new Error(`${values.input}: no .png image in the folder`);
  await useBackend(values.backend as "auto");
  let table: Awaited<ReturnType<typeof classesOf>> | undefined;
  const { seg, config, options, classes: stored } = await segFromCheckpoint(
    values.checkpoint!,
    async (o, carried) => {
      if (carried) return carried.names.length;
      table = await classesOf(o);
      return table.names.length;
    },
  );
  const palette = stored?.palette ?? table!.palette;
  const how = options.backbone === "mobilenetv2" ? "symmetric" : "imagenet";
  await Deno.mkdir(output, { recursive: true });
  const skipped: string[] = [];
  for (const name of entries) {
    const path = join(values.input!, name);
    let image, rgb;
    try {
      image = await readImage(path);
      rgb = toRgb(image, path);
    } catch (error) {
      console.error(`skipped ${(error as Error).message}`);
      skipped.push(path);
      continue;
    }
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
    const base = join(output, name.replace(/\.png$/i, ""));
    await writeLabelPng(`${base}_label.png`, image.width, image.height, classes);
    await writePrediction(base, {
      width: image.width,
      height: image.height,
      image: rgb,
      prediction: classes,
    }, palette);
    console.log(`${path} → ${base}_label.png, ${base}_pred.png, ${base}_overlay.png`);
  }
  if (skipped.length > 0) {
    dispose(seg);
    throw new Error(
      `${skipped.length} of ${entries.length} files skipped (not readable images): ${
        skipped.join(", ")
      }; the other ${entries.length - skipped.length} were predicted`,
    );
  }
  dispose(seg);
} catch (error) {
  console.error(`predict: ${(error as Error).message}`);
  Deno.exit(1);
}
