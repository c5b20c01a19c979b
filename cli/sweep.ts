/**
 * `deno task sweep`: equal-budget tuning on validation splits. A grid names
 * configurations (a method and its flags) and benchmarks (the flags that
 * pick a data set); for every benchmark and seed one **bounds run** trains
 * the shared warm-up, source-only and the target oracle from it, and every
 * configuration then trains from that same warm-up (`--warmup-from`). Every
 * run is scored on the **validation** split only (`--evaluate-on val`: the
 * digits' and letters' validation scenes, a folder data set's `target/val`);
 * the test split is never scored. Each run is an ordinary run folder, so an
 * interrupted sweep resumes where it stopped, and a configuration whose
 * flags changed since it ran is refused by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGrid } from "./sweep.ts";
 * const grid = parseGrid({ configurations: { "cdga-k4": { method: "cdga", flags: { groups: 4 } } } }, "g.json");
 * assert.deepEqual(grid.configurations[0].args, ["--method", "cdga", "--groups", "4"]);
 * assert.deepEqual(grid.benchmarks.map((b) => b.name), ["digits", "letters"]);
 * ```
 *
 * @module
 */
import { METHODS } from "../methods/config.ts";
import { OPTION_SPECS } from "./options.ts";
import { kebabCase as kebab } from "../lib/option_spec.ts";
import { formatInterval, formatSummary, pairedInterval, summarise } from "../eval/statistics.ts";
import { type Alignment, markdownTable } from "./markdown.ts";

/** One configuration of a grid: a name, its method, and its flags as arguments. */
export interface Configuration {
  name: string;
  method: string;
  /** `--method M` and the configuration's flags, as `deno task train` takes them. */
  args: string[];
  /** The flags as written in the grid (camelCase option → value). */
  flags: Record<string, string | number | boolean>;
}

/** One benchmark of a grid: a name and the flags that select its data. */
export interface Benchmark {
  name: string;
  args: string[];
}

/** A parsed grid. */
export interface Grid {
  configurations: Configuration[];
  benchmarks: Benchmark[];
  /**
   * The grid's `flags`, as arguments: given to every run of the sweep, the
   * bounds runs too (e.g. `recipe`, so a grid keeps meaning what it measured
   * when the defaults move); flags on the sweep's command line come after.
   */
  args: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
// Flags the sweep itself sets on every run: a grid may not move them.
const RESERVED = new Set([
  "method",
  "evaluateOn",
  "warmupFrom",
  "baseline",
  "also",
  "oracle",
  "out",
  "name",
  "seed",
  "resume",
  "acceptChanges",
  "config",
  "help",
]);

function flagArgs(
  flags: Record<string, unknown>,
  where: string,
): { args: string[]; flags: Record<string, string | number | boolean> } {
  const specs = OPTION_SPECS;
  const args: string[] = [];
  const kept: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(flags)) {
    const spec = specs[key];
    if (!spec) throw new Error(`${where}: unknown option ${JSON.stringify(key)} (camelCase names)`);
    if (RESERVED.has(key)) throw new Error(`${where}: ${key} is set by the sweep itself`);
    if (spec.kind === "boolean") {
      if (typeof value !== "boolean") throw new Error(`${where}: ${key} must be true or false`);
      args.push(value ? `--${kebab(key)}` : `--no-${kebab(key)}`);
    } else {
      if (typeof value !== "string" && typeof value !== "number") {
        throw new Error(`${where}: ${key} must be a string or a number`);
      }
      args.push(`--${kebab(key)}`, String(value));
    }
    kept[key] = value as string | number | boolean;
  }
  return { args, flags: kept };
}

const DEFAULT_BENCHMARKS: Benchmark[] = [
  { name: "digits", args: ["--glyphs", "digits"] },
  { name: "letters", args: ["--glyphs", "letters"] },
];

/**
 * Reads a grid from its JSON value: `{ "configurations": { NAME: { "method":
 * M, "flags": { option: value } } }, "benchmarks"?: { NAME: { option: value
 * } }, "flags"?: { option: value } }` (options as in `--config`, camelCase;
 * the top-level flags go to every run). Benchmarks default to the embedded
 * digits and letters. Every mistake names `where` and the entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGrid } from "./sweep.ts";
 * assert.throws(() => parseGrid({ configurations: { a: { method: "x" } } }, "g.json"), /g.json: configuration "a"/);
 * const grid = parseGrid({ flags: { recipe: "pre-sweep" }, configurations: { a: { method: "cdga" } } }, "g.json");
 * assert.deepEqual(grid.args, ["--recipe", "pre-sweep"]);
 * ```
 */
export function parseGrid(json: unknown, where: string): Grid {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObject(json) || !isObject(json.configurations)) {
    throw new Error(`${where}: a grid is an object with "configurations": { name: {...} }`);
  }
  for (const key of Object.keys(json)) {
    if (!["configurations", "benchmarks", "flags", "about"].includes(key)) {
      throw new Error(`${where}: unknown key ${JSON.stringify(key)}`);
    }
  }
  const configurations: Configuration[] = [];
  for (const [name, entry] of Object.entries(json.configurations)) {
    const at = `${where}: configuration ${JSON.stringify(name)}`;
    if (!NAME.test(name)) throw new Error(`${at}: a name is letters, digits, . _ + -`);
    if (!isObject(entry)) throw new Error(`${at}: must be an object { method, flags }`);
    const method = entry.method;
    if (typeof method !== "string" || !(METHODS as readonly string[]).includes(method)) {
      throw new Error(`${at}: method must be one of ${METHODS.join(", ")}`);
    }
    if (method === "sourceOnly" || method === "oracle") {
      throw new Error(`${at}: source only and the oracle are the bounds runs' (always trained)`);
    }
    for (const key of Object.keys(entry)) {
      if (key !== "method" && key !== "flags") throw new Error(`${at}: unknown key ${key}`);
    }
    if (entry.flags !== undefined && !isObject(entry.flags)) {
      throw new Error(`${at}: flags must be an object of options`);
    }
    const { args, flags } = flagArgs(entry.flags ?? {}, at);
    configurations.push({ name, method, args: ["--method", method, ...args], flags });
  }
  if (configurations.length === 0) throw new Error(`${where}: no configurations`);
  let benchmarks = DEFAULT_BENCHMARKS;
  if (json.benchmarks !== undefined) {
    if (!isObject(json.benchmarks)) throw new Error(`${where}: benchmarks must be an object`);
    benchmarks = Object.entries(json.benchmarks).map(([name, flags]) => {
      const at = `${where}: benchmark ${JSON.stringify(name)}`;
      if (!NAME.test(name)) throw new Error(`${at}: a name is letters, digits, . _ + -`);
      if (!isObject(flags)) throw new Error(`${at}: must be an object of options`);
      return { name, args: flagArgs(flags, at).args };
    });
    if (benchmarks.length === 0) throw new Error(`${where}: no benchmarks`);
  }
  if (json.flags !== undefined && !isObject(json.flags)) {
    throw new Error(`${where}: flags must be an object of options`);
  }
  const args = flagArgs(json.flags ?? {}, `${where}: flags`).args;
  return { configurations, benchmarks, args };
}

/** One scored run of a sweep: validation mIoU (%) of a configuration on a benchmark and seed. */
export interface SweepScore {
  configuration: string;
  method: string;
  benchmark: string;
  seed: number;
  /** Validation target mIoU, %. */
  value: number;
}

/** The bounds of a benchmark and seed: source only and the oracle, validation mIoU (%). */
export interface SweepBounds {
  benchmark: string;
  seed: number;
  sourceOnly: number;
  oracle?: number;
}

/** A configuration's aggregate over seeds. */
export interface ConfigurationResult {
  configuration: string;
  method: string;
  /** Per benchmark: values over seeds, and the paired gain over source only. */
  perBenchmark: Record<string, { values: number[]; seeds: number[]; gain: number[] }>;
  /** The mean over benchmarks of the per-benchmark means (the ranking key). */
  score: number;
  /** Whether every benchmark has the same seeds as the rest of its method's configurations. */
  complete: boolean;
}

/**
 * Aggregates a sweep: per configuration and benchmark the values over seeds
 * and the gains over source only from the same warm-up; the score is the
 * mean over benchmarks of the per-benchmark means (each benchmark weighs the
 * same, whatever its seeds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { aggregateSweep } from "./sweep.ts";
 * const r = aggregateSweep(
 *   [{ configuration: "a", method: "cdga", benchmark: "digits", seed: 0, value: 20 },
 *    { configuration: "a", method: "cdga", benchmark: "letters", seed: 0, value: 30 }],
 *   [{ benchmark: "digits", seed: 0, sourceOnly: 10 }, { benchmark: "letters", seed: 0, sourceOnly: 20 }],
 *   ["digits", "letters"],
 * );
 * assert.deepEqual([r[0].score, r[0].perBenchmark.digits.gain], [25, [10]]);
 * ```
 */
export function aggregateSweep(
  scores: readonly SweepScore[],
  bounds: readonly SweepBounds[],
  benchmarks: readonly string[],
): ConfigurationResult[] {
  const names = [...new Set(scores.map((s) => s.configuration))];
  return names.map((configuration) => {
    const mine = scores.filter((s) => s.configuration === configuration);
    const perBenchmark: ConfigurationResult["perBenchmark"] = {};
    const means: number[] = [];
    for (const benchmark of benchmarks) {
      const rows = mine.filter((s) => s.benchmark === benchmark).sort((a, b) => a.seed - b.seed);
      const gain = rows.map((r) => {
        const b = bounds.find((x) => x.benchmark === benchmark && x.seed === r.seed);
        return b ? r.value - b.sourceOnly : NaN;
      });
      perBenchmark[benchmark] = {
        values: rows.map((r) => r.value),
        seeds: rows.map((r) => r.seed),
        gain,
      };
      if (rows.length > 0) means.push(summarise(rows.map((r) => r.value)).mean);
    }
    const complete = means.length === benchmarks.length;
    return {
      configuration,
      method: mine[0].method,
      perBenchmark,
      score: means.length ? means.reduce((a, b) => a + b, 0) / means.length : NaN,
      complete,
    };
  });
}

/**
 * The sweep's table (Markdown, aligned as `deno fmt` writes it): one row per
 * configuration, grouped by method and ranked by score within it; per
 * benchmark the validation mIoU over seeds and the paired gain over source
 * only; the bounds first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { aggregateSweep, sweepTable } from "./sweep.ts";
 * const results = aggregateSweep(
 *   [{ configuration: "a", method: "cdga", benchmark: "digits", seed: 0, value: 20 }],
 *   [{ benchmark: "digits", seed: 0, sourceOnly: 10, oracle: 30 }],
 *   ["digits"],
 * );
 * const text = sweepTable(results, [{ benchmark: "digits", seed: 0, sourceOnly: 10, oracle: 30 }], ["digits"]);
 * assert.ok(text.includes("| a             | cdga   |  20.0 ± 0.0 (20.0–20.0) |"));
 * ```
 */
export function sweepTable(
  results: readonly ConfigurationResult[],
  bounds: readonly SweepBounds[],
  benchmarks: readonly string[],
): string {
  const header = [
    "configuration",
    "method",
    ...benchmarks.flatMap((b) => [`${b}: validation mIoU`, `${b}: gain over source only`]),
    "mean over benchmarks",
  ];
  const rows: string[][] = [];
  const boundRow = (label: string, pick: (b: SweepBounds) => number | undefined) => {
    const cells = benchmarks.flatMap((benchmark) => {
      const values = bounds.filter((b) => b.benchmark === benchmark).map(pick)
        .filter((v): v is number => v !== undefined);
      return [formatSummary(values), "–"];
    });
    const means = benchmarks.map((benchmark) =>
      bounds.filter((b) => b.benchmark === benchmark).map(pick).filter((v): v is number =>
        v !== undefined
      )
    ).filter((v) => v.length > 0).map((v) => summarise(v).mean);
    const mean = means.length ? (means.reduce((a, b) => a + b, 0) / means.length).toFixed(1) : "–";
    rows.push([label, "–", ...cells, mean]);
  };
  boundRow("source only", (b) => b.sourceOnly);
  boundRow("target oracle", (b) => b.oracle);
  const methods = [...new Set(results.map((r) => r.method))];
  for (const method of methods) {
    const ranked = results.filter((r) => r.method === method).sort((a, b) => b.score - a.score);
    for (const r of ranked) {
      const cells = benchmarks.flatMap((benchmark) => {
        const p = r.perBenchmark[benchmark];
        if (!p || p.values.length === 0) return ["–", "–"];
        const gains = p.gain.filter(Number.isFinite);
        const gain = gains.length === 0
          ? "–"
          : formatInterval(pairedInterval(gains, gains.map(() => 0)));
        return [formatSummary(p.values), gain];
      });
      rows.push([
        r.configuration,
        r.method,
        ...cells,
        Number.isFinite(r.score) ? r.score.toFixed(1) : "–",
      ]);
    }
  }
  const align = header.map((_, i): Alignment => (i < 2 ? "left" : "right"));
  return markdownTable(header, rows, align);
}
