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
import { key } from "./lib/random.ts";
import { type CommandSpec, runCommand } from "./cli/command.ts";
import { digitsDataset } from "./data/datasets.ts";
import {
  type DigitsSplit,
  loadDigitsBenchmark,
  TARGET_SHIFTS,
  type TargetShift,
} from "./data/digits.ts";
import { encodePng } from "./data/image_io.ts";
import { writeFileAtomic } from "./data/files.ts";
import { digitsTable } from "./data/labels.ts";

const COMMAND = {
  usage: `deno task export-folder --out DIR [--glyphs digits|letters]
                          [--target-shift per-image|per-class] [--source N] [--target N]
                          [--val N] [--eval N] [--seed S] [--no-target-labels]
                          [--canvas N] [--digit-scale-min X] [--digit-scale-max X]
                          [--digits-min N] [--digits-max N]`,
  flags: {
    out: {
      kind: "string",
      value: "DIR",
      help: "the data-set root to write (must not exist yet)",
      required: true,
    },
    glyphs: {
      kind: "string",
      value: "G",
      help: "digits (MNIST) or letters (A–J from fonts)",
      choices: ["digits", "letters"],
      default: "digits",
    },
    "target-shift": {
      kind: "string",
      value: "S",
      help: "per-image (each scene one sub-style) or per-class (each class group its own look)",
      choices: TARGET_SHIFTS,
      default: "per-image",
    },
    source: { kind: "integer", value: "N", help: "source training scenes", min: 1, default: 2000 },
    target: { kind: "integer", value: "N", help: "target training scenes", min: 1, default: 2000 },
    val: { kind: "integer", value: "N", help: "target validation scenes", min: 1, default: 300 },
    eval: { kind: "integer", value: "N", help: "target evaluation scenes", min: 1, default: 300 },
    seed: { kind: "integer", value: "S", help: "the scenes' seed", min: 0, default: 0 },
    canvas: {
      kind: "integer",
      value: "N",
      help: "scene side, as deno task train",
      min: 32,
      default: 64,
    },
    "digit-scale-min": {
      kind: "number",
      value: "X",
      help: "smallest glyph scale, as deno task train",
      default: 2.0,
    },
    "digit-scale-max": { kind: "number", value: "X", help: "largest glyph scale", default: 2.3 },
    "digits-min": {
      kind: "integer",
      value: "N",
      help: "fewest glyphs per scene",
      min: 1,
      default: 1,
    },
    "digits-max": {
      kind: "integer",
      value: "N",
      help: "most glyphs per scene",
      min: 1,
      default: 2,
    },
    "no-target-labels": {
      kind: "boolean",
      help: "leave target/train unlabelled (no oracle)",
    },
  },
} as const satisfies CommandSpec;

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
  await runCommand("export-folder", COMMAND, async (values) => {
    const sizes = {
      source: values.source,
      target: values.target,
      val: values.val,
      eval: values.eval,
    };
    const seed = values.seed;
    const scale = [values["digit-scale-min"], values["digit-scale-max"]] as [number, number];
    for (
      const [flag, v] of [["digit-scale-min", scale[0]], ["digit-scale-max", scale[1]]] as const
    ) {
      if (!(v > 0)) throw new Error(`--${flag} must be a positive number, got ${v}`);
    }
    // The scenes deno task train generates by default (the same options, the same defaults).
    const options = {
      size: values.canvas,
      scale,
      digits: [values["digits-min"], values["digits-max"]] as [number, number],
      shift: values["target-shift"] as TargetShift,
    };
    try {
      await Deno.stat(values.out);
      throw new Error(`${values.out} exists already: give a new folder`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const bench = await loadDigitsBenchmark({ glyphs: values.glyphs as "digits" | "letters" });
    const k = key(seed);
    const scenes = (split: DigitsSplit, domain: "source" | "target", length: number) =>
      digitsDataset(bench, k, { split, domain, length }, options);
    const out = values.out;
    const table = digitsTable(values.glyphs as "digits" | "letters");
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
      `${out}: ${values.glyphs} (${
        values["target-shift"]
      } shift), source/train ${sizes.source}, target/train ${sizes.target}, ` +
        `target/val ${sizes.val}, target/eval ${sizes.eval} scenes (seed ${seed})`,
    );
  });
}
