/**
 * `deno task export-folder --out DIR`: writes the embedded benchmark (digits
 * or letters) as a folder data set in the layout `--dataset folder` reads
 * (`FOLDER_LAYOUT`): `classes.json` at the root, `source/train`,
 * `target/train` (with labels, for the oracle), `target/val` (held-out
 * training glyphs) and `target/eval` (test glyphs on photographs training
 * never sees), each target split with a `domains.csv` of its sub-styles. A
 * worked example of the layout, and the way to check that a folder run
 * measures what the embedded benchmark measures.
 *
 * ```sh
 * deno task export-folder --out /tmp/digits-folder --glyphs letters
 * deno task train --dataset folder --data-root /tmp/digits-folder
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { key } from "../lib/random.ts";
import { digitsDataset } from "./datasets.ts";
import { type DigitsSplit, loadDigitsBenchmark } from "./digits.ts";
import { encodePng } from "./image_io.ts";
import { writeFileAtomic } from "./files.ts";
import { digitsTable } from "./labels.ts";

const HELP = `deno task export-folder --out DIR [--glyphs digits|letters] [--source N] [--target N]
                          [--val N] [--eval N] [--seed S] [--no-target-labels]
                          [--canvas N] [--digit-scale-min X] [--digit-scale-max X]
                          [--digits-min N] [--digits-max N]

  --out DIR            the data-set root to write (must not exist yet)
  --glyphs G           digits (MNIST) or letters (A–J from fonts) (default digits)
  --source N           source training scenes (default 2000)
  --target N           target training scenes (default 2000)
  --val N              target validation scenes (default 300)
  --eval N             target evaluation scenes (default 300)
  --seed S             the scenes' seed (default 0)
  --canvas N           scene side (default 64, as deno task train)
  --digit-scale-min X  smallest glyph scale (default 2.0, as deno task train)
  --digit-scale-max X  largest glyph scale (default 2.3)
  --digits-min N       fewest glyphs per scene (default 1)
  --digits-max N       most glyphs per scene (default 2)
  --no-target-labels   leave target/train unlabelled (no oracle)`;

/** Writes `count` scenes of one split and domain into `dir`; returns their sub-styles. */
async function writeSplit(
  dir: string,
  scenes: ReturnType<typeof digitsDataset>,
  labels: boolean,
): Promise<string[]> {
  await Deno.mkdir(join(dir, "images"), { recursive: true });
  if (labels) await Deno.mkdir(join(dir, "labels"), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < scenes.length; i++) {
    const s = await scenes.get(i);
    const name = String(i).padStart(5, "0");
    await writeFileAtomic(
      join(dir, "images", `${name}.png`),
      encodePng({ width: s.width, height: s.height, channels: 3, data: s.image }),
    );
    if (labels) {
      await writeFileAtomic(
        join(dir, "labels", `${name}.png`),
        encodePng({ width: s.width, height: s.height, channels: 1, data: s.label! }),
      );
    }
    if (s.style) lines.push(`${name},${s.style}`);
  }
  if (lines.length > 0) {
    await Deno.writeTextFile(join(dir, "domains.csv"), ["id,domain", ...lines, ""].join("\n"));
  }
  return lines;
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string" },
        glyphs: { type: "string", default: "digits" },
        source: { type: "string", default: "2000" },
        target: { type: "string", default: "2000" },
        val: { type: "string", default: "300" },
        eval: { type: "string", default: "300" },
        seed: { type: "string", default: "0" },
        canvas: { type: "string", default: "64" },
        "digit-scale-min": { type: "string", default: "2.0" },
        "digit-scale-max": { type: "string", default: "2.3" },
        "digits-min": { type: "string", default: "1" },
        "digits-max": { type: "string", default: "2" },
        "no-target-labels": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(HELP);
      Deno.exit(0);
    }
    if (!values.out) throw new Error("--out is required (see --help)");
    if (values.glyphs !== "digits" && values.glyphs !== "letters") {
      throw new Error(`--glyphs must be digits or letters, got ${values.glyphs}`);
    }
    const count = (
      flag: "source" | "target" | "val" | "eval" | "seed" | "canvas" | "digits-min" | "digits-max",
      min: number,
    ) => {
      const n = Number(values[flag]);
      if (!Number.isInteger(n) || n < min) {
        throw new Error(`--${flag} must be an integer ≥ ${min}, got ${values[flag]}`);
      }
      return n;
    };
    const sizes = {
      source: count("source", 1),
      target: count("target", 1),
      val: count("val", 1),
      eval: count("eval", 1),
    };
    const seed = count("seed", 0);
    const scale = ["digit-scale-min", "digit-scale-max"].map((flag) => {
      const v = Number(values[flag as "digit-scale-min"]);
      if (!(v > 0)) {
        throw new Error(
          `--${flag} must be a positive number, got ${values[flag as "digit-scale-min"]}`,
        );
      }
      return v;
    }) as [number, number];
    // The scenes deno task train generates by default (the same options, the same defaults).
    const options = {
      size: count("canvas", 32),
      scale,
      digits: [count("digits-min", 1), count("digits-max", 1)] as [number, number],
    };
    try {
      await Deno.stat(values.out);
      throw new Error(`${values.out} exists already: give a new folder`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const bench = await loadDigitsBenchmark({ glyphs: values.glyphs });
    const k = key(seed);
    const scenes = (split: DigitsSplit, domain: "source" | "target", length: number) =>
      digitsDataset(bench, k, { split, domain, length }, options);
    const out = values.out;
    const table = digitsTable(values.glyphs);
    await Deno.mkdir(out, { recursive: true });
    await Deno.writeTextFile(
      join(out, "classes.json"),
      JSON.stringify({ names: table.names, palette: table.palette }) + "\n",
    );
    await writeSplit(join(out, "source/train"), scenes("train", "source", sizes.source), true);
    await writeSplit(
      join(out, "target/train"),
      scenes("train", "target", sizes.target),
      !values["no-target-labels"],
    );
    await writeSplit(join(out, "target/val"), scenes("val", "target", sizes.val), true);
    await writeSplit(join(out, "target/eval"), scenes("eval", "target", sizes.eval), true);
    console.log(
      `${out}: ${values.glyphs}, source/train ${sizes.source}, target/train ${sizes.target}, ` +
        `target/val ${sizes.val}, target/eval ${sizes.eval} scenes (seed ${seed})`,
    );
  } catch (error) {
    console.error(`export-folder: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
