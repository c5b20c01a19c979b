/**
 * `deno task predict --checkpoint FILE --input DIR --output DIR`: runs a
 * checkpoint's G on every PNG of a folder and writes, per image, the class
 * map as a single-channel PNG of class indices (`NAME_label.png`), its colour
 * version (`NAME_pred.png`) and an overlay on the image (`NAME_overlay.png`).
 *
 * @module
 */
import { join } from "node:path";
import { makeOutputFolder } from "./cli/arguments.ts";
import { BACKEND_FLAG, CHECKPOINT_FLAG, type CommandSpec, runCommand } from "./cli/command.ts";
import { tf } from "./lib/tf.ts";
import { type BackendChoice, useBackend } from "./lib/backend.ts";
import { dispose } from "./lib/tree.ts";
import { predict } from "./model/predict.ts";
import { DataError, MAX_IMAGE_PIXELS, readImage, toRgb } from "./data/image_io.ts";
import { classesOf, normalisationOf } from "./data/plan.ts";
import { normalise } from "./data/stream.ts";
import { panelSvg, writeLabelPng, writePrediction } from "./data/visualize.ts";
import { mapLabels } from "./data/labels.ts";
import { segFromCheckpoint } from "./cli/restore.ts";

const COMMAND = {
  usage:
    "deno task predict --checkpoint FILE --input DIR --output DIR [--labels DIR] [--backend B]",
  flags: {
    checkpoint: CHECKPOINT_FLAG,
    input: { kind: "string", value: "DIR", help: "a folder of .png images", required: true },
    output: {
      kind: "string",
      value: "DIR",
      help: "where the label maps and overlays go (created)",
      required: true,
    },
    labels: {
      kind: "string",
      value: "DIR",
      help: "label maps of the same names: each image also gets a panel\n" +
        "(NAME_panel.svg: image | ground truth | prediction, with a legend)",
    },
    backend: BACKEND_FLAG,
    "max-image-pixels": {
      kind: "integer",
      value: "N",
      help: "the most pixels an image may declare; a larger one is skipped\n" +
        "from its header, before it is decoded",
      min: 1,
      default: MAX_IMAGE_PIXELS,
    },
    tile: {
      kind: "integer",
      value: "N",
      help: "an image larger than N×N pixels is predicted by windows of N×N\n" +
        "(a multiple of 8; memory bounded by the window, not the image);\n" +
        "a smaller one whole, as without tiling. 0: always whole",
      default: 512,
    },
    overlap: {
      kind: "integer",
      value: "N",
      help: "pixels neighbouring windows share (a multiple of 8 below the tile;\n" +
        "default a quarter of the tile)",
      min: 0,
    },
  },
  notes: `A file that cannot be read as an image is skipped and named; the others are
predicted, and the exit status is 1 when any was skipped. The class list and
palette come from the checkpoint (or, for checkpoints of earlier versions,
from the run's data set).`,
} as const satisfies CommandSpec;

await runCommand("predict", COMMAND, async (values) => {
  const maxPixels = values["max-image-pixels"];
  const tile = values.tile;
  if (!(tile === 0 || (tile >= 16 && tile % 8 === 0))) {
    throw new Error(`--tile must be 0 or a multiple of 8 of at least 16, got ${values.tile}`);
  }
  const overlap = values.overlap;
  if (overlap !== undefined) {
    if (tile === 0) throw new Error("--overlap applies to tiled prediction; give a --tile too");
    if (!(overlap % 8 === 0 && overlap < tile)) {
      throw new Error(
        `--overlap must be a multiple of 8 from 0 to below the tile (${tile}), got ${values.overlap}`,
      );
    }
  }
  const tiling = tile === 0 ? {} : { tile, ...(overlap === undefined ? {} : { overlap }) };
  const output = values.output;
  let entries: string[];
  try {
    entries = [...Deno.readDirSync(values.input)].filter((e) =>
      e.isFile && e.name.toLowerCase().endsWith(".png")
    ).map((e) => e.name).sort();
  } catch (error) {
    throw new Error(
      `--input ${values.input}: cannot read the folder (${(error as Error).message})`,
    );
  }
  if (entries.length === 0) throw new Error(`${values.input}: no .png image in the folder`);
  await makeOutputFolder(output, "--output");
  await useBackend(values.backend as BackendChoice);
  let table: Awaited<ReturnType<typeof classesOf>> | undefined;
  const { seg, config, options, classes: stored } = await segFromCheckpoint(
    values.checkpoint,
    async (o, carried) => {
      if (carried) return carried.names.length;
      table = await classesOf(o);
      return table.names.length;
    },
  );
  const classTable = stored ?? table!;
  const palette = classTable.palette;
  const how = normalisationOf(options);
  const skipped: string[] = [];
  for (const name of entries) {
    const path = join(values.input, name);
    let image, rgb;
    try {
      image = await readImage(path, { maxPixels });
      rgb = toRgb(image, path);
    } catch (error) {
      console.error(`skipped ${(error as Error).message}`);
      skipped.push(path);
      continue;
    }
    const x = tf.tensor4d(normalise(rgb, how), [1, image.height, image.width, 3]);
    const prediction = predict(seg, config, x, tiling).labels;
    x.dispose();
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
    let panel = "";
    if (values.labels) {
      const labelPath = join(values.labels, name);
      try {
        const raw = await readImage(labelPath, { expandPalette: false });
        if (raw.width !== image.width || raw.height !== image.height || raw.channels !== 1) {
          throw new DataError(
            labelPath,
            `label map is ${raw.width}×${raw.height}×${raw.channels}, its image ${image.width}×${image.height}×1`,
          );
        }
        const truth = mapLabels(classTable, raw.data, labelPath);
        await Deno.writeTextFile(
          `${base}_panel.svg`,
          panelSvg(
            name,
            image.width,
            image.height,
            [
              { title: "image", rgb },
              { title: "ground truth", classes: truth },
              { title: options.method ?? "prediction", classes },
            ],
            classTable.names,
            palette,
          ),
        );
        panel = `, ${base}_panel.svg`;
      } catch (error) {
        console.error(`skipped the panel: ${(error as Error).message}`);
        skipped.push(labelPath);
      }
    }
    console.log(
      `${path} → ${base}_label.png, ${base}_pred.png, ${base}_overlay.png${panel}`,
    );
  }
  if (skipped.length > 0) {
    dispose(seg);
    throw new Error(
      `${skipped.length} file(s) skipped (not readable images or labels): ${
        skipped.join(", ")
      }; every other image was predicted`,
    );
  }
  dispose(seg);
});
