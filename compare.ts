/**
 * `deno task compare`: the comparison the project exists to show. For each
 * seed, one run trains a shared source-only warm-up, then source-only,
 * AdaptSegNet, ADVENT (AdvEnt and MinEnt), CDGA with pixel-weighted and with
 * class-balanced groups, and the target oracle, each for the same number of
 * steps from it; every final model is evaluated on the held-out target split
 * and the held-out source split (no checkpoint is picked on either). Prints
 * and writes the table of target mIoU (overall and per sub-domain), held-out
 * source mIoU and gap closed = (method − source only) / (oracle − source
 * only), as mean ± standard deviation (min–max) over the seeds, with the
 * discriminators' loss at the end and CDGA's group usage.
 *
 * Flags: `--seeds 3`, `--out runs/compare`, `--resume`, `--only S` (run seed S
 * alone, to spread seeds over processes; a later plain run aggregates),
 * `--methods LIST` (the phases after the warm-up, default below), and any
 * `deno task train` flag (steps, batch, …) passed through to every run.
 *
 * @module
 */
import { join } from "node:path";
import { parseOptions } from "./cli/options.ts";
import { commandHelp, type CommandSpec, readCommand, splitOwnFlags } from "./cli/command.ts";
import { runTraining } from "./cli/job.ts";
import { phaseLabel } from "./cli/phases.ts";
import { exists } from "./cli/run_folder.ts";
import { Interrupted } from "./cli/run_folder.ts";
import {
  formatInterval,
  formatSigned,
  formatSummary,
  pairedInterval,
  summarise,
} from "./eval/statistics.ts";

const DEFAULT_METHODS = "adaptSegNet,advEnt,minEnt,cdga.pixel,cdga.class";

interface SummaryJson {
  phase: string;
  name: string;
  target: number;
  styles: Record<string, number>;
  source: number | null;
  gapClosed: number | null;
  validation?: number | null;
}

interface Report {
  summary: SummaryJson[];
  /** What each column scored (absent in reports of earlier versions). */
  scored?: { target: string; source: string | null; validation: string | null };
  phases: { name: string }[];
  results: Record<string, { groupUsage?: number[]; disc?: number; discAccuracy?: number }>;
}

const stats = summarise;
const cell = (values: number[], digits = 1) => formatSummary(values, digits);

/** The baselines a method is paired with (the strongest by mean target mIoU). */
const BASELINES = ["adaptSegNet", "advEnt", "minEnt"];

const COMMAND = {
  usage: "deno task compare [--seeds N] [--only S] [--out DIR] [--methods LIST] [--resume] " +
    "[train flags …]",
  flags: {
    seeds: {
      kind: "integer",
      value: "N",
      help: "seeds 0 … N − 1, one run each",
      min: 1,
      default: 3,
    },
    only: {
      kind: "integer",
      value: "S",
      help: "run seed S alone (to spread seeds over processes; a later plain run aggregates)",
      min: 0,
    },
    out: {
      kind: "string",
      value: "DIR",
      help: "where the runs and the table go",
      default: "runs/compare",
    },
    methods: {
      kind: "string",
      value: "LIST",
      help: "the phases after the warm-up, comma-separated",
      default: DEFAULT_METHODS,
    },
    resume: { kind: "boolean", help: "resume unfinished runs" },
  },
  notes: "Every other flag goes, as written, to each run (deno task train --help lists them).",
} as const satisfies CommandSpec;

try {
  // Our own flags; every other argument goes, as written, to the training runs
  // (parsed there by the same schema as `deno task train`).
  const { own, passed } = splitOwnFlags(COMMAND, Deno.args);
  const values = readCommand(COMMAND, own);
  if (values === "help") {
    console.log(commandHelp(COMMAND));
    Deno.exit(0);
  }
  const seeds = values.seeds;
  if (values.only !== undefined && values.only >= seeds) {
    // Without this, `--only 3` with the default 3 seeds would run nothing and exit 0.
    throw new Error(
      `--only must be a seed from 0 to ${seeds - 1} (--seeds ${seeds}), got ${values.only}`,
    );
  }
  // Fails early, naming the flag, on anything `deno task train` would refuse.
  await parseOptions([...passed, ...(values.resume ? ["--resume"] : [])]);
  const out = values.out;
  const only = values.only;
  const [first, ...rest] = values.methods.split(",").map((m) => m.trim()).filter(Boolean);
  if (!first) throw new Error("--methods must name at least one method");
  const reports: { seed: number; report: Report }[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    if (only !== undefined && seed !== only) continue;
    const name = `seed${seed}`;
    const reportPath = join(out, name, "report.json");
    if (!(await exists(reportPath))) {
      const resumeThis = values.resume && await exists(join(out, name, "checkpoints"));
      const [method, variant] = first.split(".");
      const options = await parseOptions([
        // `--accept-changes` is about a resume: a seed that starts afresh has nothing to accept.
        ...(resumeThis ? passed : passed.filter((arg) => !arg.startsWith("--accept-changes"))),
        "--method",
        method,
        "--baseline",
        "sourceOnly",
        "--also",
        [...(variant ? [first] : []), ...rest].join(","),
        "--seed",
        String(seed),
        "--out",
        out,
        "--name",
        name,
        ...(resumeThis ? ["--resume"] : []),
      ]);
      await runTraining(options);
    }
    reports.push({ seed, report: JSON.parse(await Deno.readTextFile(reportPath)) });
  }
  if (only !== undefined) Deno.exit(0);
  const phases = reports[0].report.summary.map((r) => r.name);
  const styles = Object.keys(reports[0].report.summary[0].styles);
  const header = [
    "method",
    "target mIoU",
    ...styles,
    "held-out source mIoU",
    "gap closed (%)",
    "validation target mIoU",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|---|${header.slice(1).map(() => "---:").join("|")}|`,
  ];
  const summary: Record<string, Record<string, ReturnType<typeof stats>>> = {};
  const pick = (label: string, get: (r: SummaryJson) => number | null | undefined) =>
    reports.map(({ report }) => get(report.summary.find((r) => r.name === label)!))
      .filter((v): v is number => typeof v === "number" && Number.isFinite(v)).map((v) => 100 * v);
  for (const label of phases) {
    const columns: [string, number[]][] = [
      ["target", pick(label, (r) => r.target)],
      ...styles.map((s) => [s, pick(label, (r) => r.styles[s])] as [string, number[]]),
      ["source", pick(label, (r) => r.source)],
      ["gapClosed", pick(label, (r) => r.gapClosed)],
      ["validation", pick(label, (r) => r.validation)],
    ];
    summary[label] = Object.fromEntries(
      columns.filter(([, v]) => v.length > 0).map(([k, v]) => [k, stats(v)]),
    );
    lines.push(
      `| ${label} | ${
        columns.map(([k, v]) => (k === "gapClosed" ? cell(v, 0) : cell(v))).join(" | ")
      } |`,
    );
  }
  // Each method against the strongest baseline, seed by seed (same warm-up): the paired
  // difference of target mIoU and its 95% t-interval over seeds.
  const phaseOf = (label: string) => reports[0].report.summary.find((r) => r.name === label)!.phase;
  const baselineLabels = phases.filter((label) => BASELINES.includes(phaseOf(label)));
  const meanTarget = (label: string) => {
    const v = pick(label, (r) => r.target);
    return v.length ? summarise(v).mean : -Infinity;
  };
  const best = baselineLabels.toSorted((a, b) => meanTarget(b) - meanTarget(a))[0];
  const paired: Record<string, { against: string; mean: number; low: number; high: number }> = {};
  const pairedLines = best === undefined ? [] : phases.flatMap((label) => {
    const phase = phaseOf(label);
    if (label === best || phase === "sourceOnly" || phase === "oracle") return [];
    const a = pick(label, (r) => r.target), b = pick(best, (r) => r.target);
    if (a.length !== b.length || a.length === 0) return [];
    const d = pairedInterval(a, b);
    paired[label] = { against: best, mean: d.mean, low: d.low, high: d.high };
    return [
      `- ${label} − ${best}: ${formatInterval(d)} points (per seed: ${
        a.map((v, i) => formatSigned(v - b[i])).join(", ")
      })`,
    ];
  });
  const discLines = phases.flatMap((label) => {
    const losses = reports.map(({ report }) =>
      report.results[report.summary.find((r) => r.name === label)!.phase]?.disc
    )
      .filter((v): v is number => typeof v === "number");
    return losses.length
      ? [`- ${label}: L_D at the last step ${losses.map((v) => v.toFixed(3)).join(", ")}`]
      : [];
  });
  const usage = reports.flatMap(({ seed, report }) =>
    Object.entries(report.results).filter(([, r]) => r.groupUsage).map(([name, r]) =>
      `- seed ${seed}, ${phaseLabel(name)}: ${r.groupUsage!.map((v) => v.toFixed(3)).join(", ")}`
    )
  );
  const scored = reports[0].report.scored;
  const text = [
    `mIoU (%) on the held-out target split${
      scored ? ` (${scored.target})` : ""
    }, overall and per sub-domain; on the held-out source split${
      scored?.source ? ` (${scored.source})` : ""
    }; gap closed = (method − source only) / (oracle − source only); the validation split${
      scored?.validation ? ` (${scored.validation})` : ""
    }, the split settings are chosen on, in the last column. Mean ± standard deviation ` +
    `(min–max) over ${seeds} seed(s); final models, no checkpoint picked on an evaluation split; ` +
    `no scored image is read by training (each run's splits.json lists the files). ` +
    `Runs: ${out}/seed*/ (report.md in each).`,
    "",
    ...lines,
    "",
    ...(pairedLines.length > 0
      ? [
        `Paired with the strongest baseline (${best}, by mean target mIoU), seed by seed from ` +
        `the same warm-up: mean difference of target mIoU with its 95% t-interval over seeds.`,
        "",
        ...pairedLines,
        "",
      ]
      : []),
    "Discriminators (chance: 2 ln 2 = 1.386):",
    "",
    ...discLines,
    "",
    "CDGA group usage at the end (share of pixels per group):",
    "",
    ...usage,
  ].join("\n");
  await Deno.writeTextFile(join(out, "summary.md"), text + "\n");
  await Deno.writeTextFile(
    join(out, "summary.json"),
    JSON.stringify({ seeds, summary, paired }, null, 2) + "\n",
  );
  console.log("\n" + text);
  console.log(`\nwritten: ${join(out, "summary.md")}`);
} catch (error) {
  console.error(`compare: ${(error as Error).message}`);
  Deno.exit(error instanceof Interrupted ? error.exitCode : 1);
}
