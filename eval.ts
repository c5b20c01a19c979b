/**
 * `deno task eval --checkpoint FILE`: evaluates a checkpoint's G on the
 * held-out target split of its run's data (or `--samples N` of it) and prints
 * the per-class IoU tables (overall and per target sub-style); `--json FILE`
 * writes them too.
 *
 * @module
 */
import { checkOutputFile } from "./cli/arguments.ts";
import { BACKEND_FLAG, CHECKPOINT_FLAG, type CommandSpec, runCommand } from "./cli/command.ts";
import { type BackendChoice, useBackend } from "./lib/backend.ts";
import { dispose } from "./lib/tree.ts";
import { evaluateSeg } from "./eval/segmentation.ts";
import { runKeys } from "./cli/config.ts";
import { openData } from "./data/plan.ts";
import { splitChanges, withFileSizes } from "./data/splits.ts";
import { exists } from "./cli/run_folder.ts";
import { basename, dirname, join } from "node:path";
import { segFromCheckpoint } from "./cli/restore.ts";
import { evaluate } from "./eval/metrics.ts";
import { iouJson, iouTable } from "./eval/table.ts";

const COMMAND = {
  usage: "deno task eval --checkpoint FILE [--domain D] [--samples N] [--backend B] [--json FILE]",
  flags: {
    checkpoint: CHECKPOINT_FLAG,
    domain: {
      kind: "string",
      value: "D",
      help: "target: the run's reported target split; or source: its held-out source\n" +
        "split (the digits' test split, a folder's source/val or the share of\n" +
        "source/train held out, as the run's splits.json lists)",
      choices: ["target", "source"],
      default: "target",
    },
    samples: {
      kind: "integer",
      value: "N",
      help: "evaluate the first N held-out samples (default: all)",
      min: 1,
    },
    backend: BACKEND_FLAG,
    json: { kind: "string", value: "FILE", help: "also write the tables as JSON" },
  },
} as const satisfies CommandSpec;

await runCommand("eval", COMMAND, async (values) => {
  const samples = values.samples;
  if (values.json) await checkOutputFile(values.json, "--json");
  await useBackend(values.backend as BackendChoice);
  let data: Awaited<ReturnType<typeof openData>> | undefined;
  const { seg, config, options, phase } = await segFromCheckpoint(values.checkpoint, async (o) => {
    data = await openData(o, runKeys(o.seed).data);
    return data.classes.names.length;
  });
  // A checkpoint inside a run folder: the data should still be the run's.
  const recorded = join(dirname(dirname(values.checkpoint)), "splits.json");
  if (basename(dirname(values.checkpoint)) === "checkpoints" && await exists(recorded)) {
    const changed = splitChanges(
      JSON.parse(await Deno.readTextFile(recorded)),
      await withFileSizes(data!.splits),
    );
    if (changed.length > 0) {
      console.error(
        `eval: warning: the data differ from the run's ${recorded}:\n  ${changed.join("\n  ")}\n` +
          `The scores below may count images the run trained on, or miss ones it held out.`,
      );
    }
  }
  const heldOut = values.domain === "source" ? data!.sourceTest : data!.test;
  if (!heldOut) throw new Error(`--domain source: ${options.dataset} has no held-out source split`);
  const result = await evaluateSeg(seg, config, heldOut, {
    samples: samples ?? heldOut.length,
    batch: 16,
    normalise: data!.normalise,
  });
  const names = data!.classes.names;
  const rows = [["overall", result.overall] as const, ...result.byStyle];
  const tables = rows.map(([style, matrix]) => ({
    style,
    rows: [{ name: phase, evaluation: evaluate(matrix, names, data!.protocols) }],
  }));
  const side = values.domain === "source" ? "Source" : "Target";
  console.log(
    `${values.checkpoint}: ${phase} on ${heldOut.description}, ${
      Math.min(samples ?? heldOut.length, heldOut.length)
    } images (${options.dataset})\n`,
  );
  for (const t of tables) console.log(`### ${side}: ${t.style}\n\n${iouTable(t.rows)}\n`);
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify(Object.fromEntries(tables.map((t) => [t.style, iouJson(t.rows)])), null, 2) +
        "\n",
    );
  }
  dispose(seg);
});
