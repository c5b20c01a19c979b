/**
 * `deno task sweep --grid FILE`: equal-budget tuning on validation splits
 * (`cli/sweep.ts` says how). For every benchmark and seed, a bounds run
 * (warm-up, source only, oracle) and then every configuration from that
 * warm-up; each scored on the validation split only. Writes `sweep.md` and
 * `sweep.json` (per configuration and benchmark: mean ± sd over seeds, the
 * paired gain over source only with its 95% t-interval, and the mean over
 * benchmarks that ranks the configurations of a method).
 *
 * Flags: `--grid FILE` (required), `--seeds 0,1,2`, `--out runs/sweep`,
 * `--configurations A,B` (a subset, e.g. a second stage on more seeds),
 * `--shard I/N` (this process runs the benchmark × seed pairs with index ≡ I
 * mod N, to spread a sweep over processes; a later plain run aggregates),
 * and any `deno task train` flag passed to every run.
 *
 * @module
 */
import { join } from "node:path";
import { commandHelp, type CommandSpec, readCommand, splitOwnFlags } from "./cli/command.ts";
import { parseOptions } from "./cli/options.ts";
import { runTraining } from "./cli/job.ts";
import { exists, Interrupted, resumeDifferences, storedOptions } from "./cli/run_folder.ts";
import {
  aggregateSweep,
  type Configuration,
  parseGrid,
  type SweepBounds,
  type SweepScore,
  sweepTable,
} from "./cli/sweep.ts";
import { writeFileAtomic } from "./data/files.ts";
import { wrapProse } from "./cli/markdown.ts";

interface SummaryRow {
  phase: string;
  target: number;
}

const COMMAND = {
  usage: "deno task sweep --grid FILE [--seeds 0,1,2] [--out runs/sweep] " +
    "[--configurations A,B] [--shard I/N] [train flags …]",
  flags: {
    grid: { kind: "string", value: "FILE", help: "the grid (sweeps/*.json)", required: true },
    seeds: { kind: "string", value: "LIST", help: "the seeds, comma-separated", default: "0,1,2" },
    out: { kind: "string", value: "DIR", help: "the sweep's folder", default: "runs/sweep" },
    configurations: {
      kind: "string",
      value: "A,B",
      help: "a subset of the grid's configurations (e.g. a second stage on more seeds)",
    },
    shard: {
      kind: "string",
      value: "I/N",
      help: "this process runs the benchmark × seed pairs with index ≡ I (mod N)",
    },
  },
  notes: "Every other flag goes, as written, to each run (deno task train --help lists them).",
} as const satisfies CommandSpec;

async function readSummary(runDir: string): Promise<SummaryRow[]> {
  const path = join(runDir, "report.json");
  try {
    return JSON.parse(await Deno.readTextFile(path)).summary as SummaryRow[];
  } catch (error) {
    throw new Error(`${path}: cannot read the run's summary (${(error as Error).message})`);
  }
}

/** Runs (or resumes) one run folder, unless it is finished with the same options. */
async function ensureRun(out: string, name: string, args: string[]): Promise<SummaryRow[]> {
  const runDir = join(out, name);
  const options = await parseOptions([...args, "--out", out, "--name", name]);
  if (await exists(join(runDir, "report.json"))) {
    // resumeDifferences leaves run-control options (resume, config, …) out of the comparison.
    const changes = resumeDifferences(await storedOptions(runDir), options);
    if (changes.length > 0) {
      throw new Error(
        `${runDir} was run with other options than the grid now gives:\n  ${
          changes.join("\n  ")
        }\nRename the configuration, or remove the run folder to run it again.`,
      );
    }
    return await readSummary(runDir);
  }
  // Resumed where a checkpoint is, started where none is, whether or not the
  // sweep was given --resume (an interruption's message advises it).
  options.resume = await exists(join(runDir, "checkpoints"));
  await runTraining(options);
  return await readSummary(runDir);
}

try {
  const { own: ownArgs, passed } = splitOwnFlags(COMMAND, Deno.args);
  const own = readCommand(COMMAND, ownArgs);
  if (own === "help") {
    console.log(commandHelp(COMMAND));
    Deno.exit(0);
  }
  let gridJson: unknown;
  try {
    gridJson = JSON.parse(await Deno.readTextFile(own.grid));
  } catch (error) {
    throw new Error(`${own.grid}: cannot read the grid (${(error as Error).message})`);
  }
  const grid = parseGrid(gridJson, own.grid);
  const seeds = own.seeds.split(",").map((s) => Number(s.trim()));
  if (seeds.length === 0 || !seeds.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new Error(`--seeds must be seeds (integers ≥ 0) separated by commas, got ${own.seeds}`);
  }
  let configurations: Configuration[] = grid.configurations;
  if (own.configurations) {
    const wanted = own.configurations.split(",").map((s) => s.trim()).filter(Boolean);
    for (const w of wanted) {
      if (!configurations.some((c) => c.name === w)) {
        throw new Error(`--configurations: ${own.grid} has no configuration ${JSON.stringify(w)}`);
      }
    }
    configurations = configurations.filter((c) => wanted.includes(c.name));
  }
  let shard = { index: 0, count: 1 };
  if (own.shard) {
    const m = /^(\d+)\/(\d+)$/.exec(own.shard);
    if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
      throw new Error(`--shard must be I/N with 0 ≤ I < N, got ${own.shard}`);
    }
    shard = { index: Number(m[1]), count: Number(m[2]) };
  }
  // A train flag the runs would refuse fails now, naming the flag.
  await parseOptions([...grid.args, ...passed]);
  const out = own.out;
  await Deno.mkdir(out, { recursive: true });
  const pairs = grid.benchmarks.flatMap((benchmark) => seeds.map((seed) => ({ benchmark, seed })));
  const scores: SweepScore[] = [];
  const bounds: SweepBounds[] = [];
  const total = pairs.filter((_, i) => i % shard.count === shard.index).length *
    configurations.length;
  let done = 0;
  for (const [index, { benchmark, seed }] of pairs.entries()) {
    const mine = index % shard.count === shard.index;
    const base = [
      ...grid.args,
      ...passed,
      ...benchmark.args,
      "--seed",
      String(seed),
      "--evaluate-on",
      "val",
      "--also",
      "",
    ];
    const boundsName = `bounds-${benchmark.name}-seed${seed}`;
    const boundsDir = join(out, boundsName);
    if (!mine && !(await exists(join(boundsDir, "report.json")))) continue;
    const boundsSummary = await ensureRun(out, boundsName, [
      ...base,
      "--method",
      "sourceOnly",
      "--baseline",
      "none",
    ]);
    const pick = (phase: string) => boundsSummary.find((r) => r.phase === phase)?.target;
    const sourceOnly = pick("sourceOnly");
    if (sourceOnly === undefined) throw new Error(`${boundsDir}: no source-only row`);
    const oracle = pick("oracle");
    bounds.push({
      benchmark: benchmark.name,
      seed,
      sourceOnly: 100 * sourceOnly,
      ...(oracle !== undefined ? { oracle: 100 * oracle } : {}),
    });
    for (const configuration of configurations) {
      const name = `${configuration.name}-${benchmark.name}-seed${seed}`;
      if (!mine && !(await exists(join(out, name, "report.json")))) continue;
      const summary = await ensureRun(out, name, [
        ...base,
        ...configuration.args,
        "--baseline",
        "none",
        "--no-oracle",
        "--warmup-from",
        join(boundsDir, "checkpoints", "warmup.ckpt"),
      ]);
      const row = summary.find((r) => r.phase === configuration.method);
      if (!row) throw new Error(`${join(out, name)}: no ${configuration.method} row`);
      const value = 100 * row.target;
      scores.push({
        configuration: configuration.name,
        method: configuration.method,
        benchmark: benchmark.name,
        seed,
        value,
      });
      if (!mine) continue;
      done++;
      console.log(
        `sweep [${done}/${total}] ${configuration.name} on ${benchmark.name}, seed ${seed}: ` +
          `validation mIoU ${value.toFixed(1)} (source only ${(100 * sourceOnly).toFixed(1)}, ` +
          `gain ${(value - 100 * sourceOnly).toFixed(1)})`,
      );
    }
  }
  const names = grid.benchmarks.map((b) => b.name);
  const results = aggregateSweep(scores, bounds, names);
  const table = sweepTable(results, bounds, names);
  const text = [
    wrapProse(
      `Validation target mIoU (%) of each configuration in ${own.grid}, from the same warm-up per ` +
        `benchmark and seed; mean ± sd (min–max) over seeds, and the paired gain over source only ` +
        `with its 95% t-interval. Configurations of a method are ranked by the mean over ` +
        `benchmarks. No test split is scored. Runs: ${out}/.`,
    ),
    "",
    table,
    "",
  ].join("\n");
  const encoder = new TextEncoder();
  await writeFileAtomic(join(out, "sweep.md"), encoder.encode(text));
  await writeFileAtomic(
    join(out, "sweep.json"),
    encoder.encode(
      JSON.stringify({ grid: own.grid, seeds, scores, bounds, results }, null, 2) + "\n",
    ),
  );
  console.log("\n" + text);
  console.log(`written: ${join(out, "sweep.md")}`);
} catch (error) {
  console.error(`sweep: ${(error as Error).message}`);
  Deno.exit(error instanceof Interrupted ? error.exitCode : 1);
}
