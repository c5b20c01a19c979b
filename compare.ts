/**
 * `deno task compare`: the comparison the project exists to show. For each
 * seed, one run trains a shared source-only warm-up, then source-only,
 * AdaptSegNet, ADVENT (AdvEnt) and CDGA for the same number of steps from it;
 * every final model is evaluated on the held-out target split (no checkpoint
 * is picked on it). CDGA's grouping losses train C alone there (the
 * default); a second run per seed repeats the same warm-up, then trains CDGA
 * with `--grouping-losses-train G+C` (the method note's total read
 * literally), the variant that isolates their effect on G. Prints and writes
 * the table of target mIoU, mean ± standard deviation over the seeds, overall
 * and per target sub-style, with CDGA's group usage.
 *
 * Flags: `--seeds 3`, `--out runs/compare`, `--resume`, `--only S` (run seed S
 * alone, to spread seeds over processes; a later plain run aggregates), and
 * any `deno task train` flag (steps, batch, …) passed through to every run.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseOptions } from "./cli/options.ts";
import { exists, runTraining } from "./cli/job.ts";

const METHODS = ["sourceOnly", "adaptSegNet", "advEnt", "cdga", "cdgaGC"];
const LABELS: Record<string, string> = {
  sourceOnly: "source only",
  adaptSegNet: "AdaptSegNet",
  advEnt: "ADVENT (AdvEnt)",
  cdga: "CDGA (default: grouping losses train C)",
  cdgaGC: "CDGA, grouping losses train G and C",
};

type Tables = Record<string, { method: string; miou: { all: number | null } }[]>;

function stats(values: number[]) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1
    ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
    : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values) };
}

try {
  const { values, tokens } = parseArgs({
    args: Deno.args,
    options: {
      seeds: { type: "string", default: "3" },
      only: { type: "string" },
      out: { type: "string", default: "runs/compare" },
      resume: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: false,
    tokens: true,
  });
  if (values.help) {
    console.log("deno task compare [--seeds N] [--out DIR] [--resume] [train flags …]");
    Deno.exit(0);
  }
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) {
    throw new Error(`--seeds must be a positive integer, got ${values.seeds}`);
  }
  // Every other flag goes to the training runs.
  const own = new Set(["seeds", "only", "out", "resume", "help"]);
  const passed: string[] = [];
  for (const t of tokens ?? []) {
    if (t.kind === "option" && !own.has(t.name)) {
      passed.push(t.rawName, ...(t.value !== undefined ? [t.value] : []));
    }
  }
  const out = values.out as string;
  const only = values.only === undefined ? undefined : Number(values.only);
  // Runs (or finds) one training run; returns its report.
  const run = async (name: string, flags: string[]) => {
    const reportPath = join(out, name, "report.json");
    const done = await exists(reportPath);
    if (!done) {
      const resumeThis = values.resume &&
        await exists(join(out, name, "checkpoints"));
      const options = await parseOptions([
        ...passed,
        ...flags,
        "--out",
        out,
        "--name",
        name,
        ...(resumeThis ? ["--resume"] : []),
      ]);
      await runTraining(options);
    }
    return JSON.parse(await Deno.readTextFile(reportPath));
  };
  const reports: { seed: number; tables: Tables; usage?: number[]; usageGC?: number[] }[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    if (only !== undefined && seed !== only) continue;
    const main = await run(`seed${seed}`, [
      "--method",
      "cdga",
      "--baseline",
      "sourceOnly",
      "--also",
      "adaptSegNet,advEnt",
      "--seed",
      String(seed),
    ]);
    // The same warm-up (same seed) then CDGA whose grouping losses train G
    // too (the default, in the main run, has them train C alone).
    const variant = await run(`seed${seed}-cdgaGC`, [
      "--method",
      "cdga",
      "--baseline",
      "none",
      "--grouping-losses-train",
      "G+C",
      "--seed",
      String(seed),
    ]);
    const tables: Tables = {};
    for (const [style, rows] of Object.entries(main.tables as Tables)) {
      const extra = (variant.tables as Tables)[style]?.find((r) => r.method === "cdga");
      tables[style] = [...rows, ...(extra ? [{ ...extra, method: "cdgaGC" }] : [])];
    }
    reports.push({
      seed,
      tables,
      usage: main.results?.cdga?.groupUsage,
      usageGC: variant.results?.cdga?.groupUsage,
    });
  }
  if (only !== undefined) Deno.exit(0);
  const styles = Object.keys(reports[0].tables);
  const header = ["method", ...styles.map((s) => `target mIoU: ${s}`)];
  const lines = [`| ${header.join(" | ")} |`, `|---|${styles.map(() => "---:").join("|")}|`];
  const summary: Record<string, Record<string, ReturnType<typeof stats>>> = {};
  for (const method of METHODS) {
    const label = method === "sourceOnly" ? "source only" : method;
    if (!reports.every((r) => r.tables[styles[0]].some((row) => row.method === label))) continue;
    const cells = styles.map((style) => {
      const values = reports.map((r) =>
        r.tables[style].find((row) => row.method === label)?.miou.all
      )
        .filter((v): v is number => typeof v === "number").map((v) => 100 * v);
      const s = stats(values);
      (summary[method] ??= {})[style] = s;
      return `${s.mean.toFixed(1)} ± ${s.sd.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
    });
    lines.push(`| ${LABELS[method]} | ${cells.join(" | ")} |`);
  }
  const fmtUsage = (u?: number[]) => (u ? u.map((v) => v.toFixed(3)).join(", ") : "–");
  const usage = reports.map((r) =>
    `seed ${r.seed}: C only (default) ${fmtUsage(r.usage)}; G+C ${fmtUsage(r.usageGC)}`
  );
  const text = [
    `Target mIoU (%) on the held-out split of the digits benchmark, mean ± standard deviation (min–max) over ${seeds} seeds; final models, no checkpoint picked on the evaluation split.`,
    "",
    ...lines,
    "",
    `CDGA group usage at the end (share of pixels per group), ${usage.join(" | ")}`,
  ].join("\n");
  await Deno.writeTextFile(join(out, "summary.md"), text + "\n");
  await Deno.writeTextFile(
    join(out, "summary.json"),
    JSON.stringify({ seeds, summary, usage: reports.map((r) => r.usage) }, null, 2) + "\n",
  );
  console.log("\n" + text);
  console.log(`\nwritten: ${join(out, "summary.md")}`);
} catch (error) {
  console.error(`compare: ${(error as Error).message}`);
  Deno.exit(1);
}
