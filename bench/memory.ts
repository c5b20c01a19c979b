/**
 * Memory over a long training run: runs `train.ts` in a child process (the
 * default options, CDGA from the first step, `--steps N`) and reads the
 * resident memory and live tensor count that the job logs with every step.
 *
 * @example
 * ```ts ignore
 * import { measureTrainingMemory } from "./memory.ts";
 * const report = await measureTrainingMemory({ steps: 2000, early: 200 });
 * console.log(report.growth);
 * ```
 *
 * @module
 */
import { join } from "node:path";

/** One logged step's memory. */
export interface MemorySample {
  step: number;
  rssMb: number;
  peakRssMb: number;
  tensors: number;
}

/** The lowest, median and highest reading over one quarter of the steps. */
export interface Quarter {
  from: number;
  to: number;
  min: number;
  median: number;
  max: number;
}

/** What {@linkcode measureTrainingMemory} found. */
export interface MemoryReport {
  early: MemorySample;
  last: MemorySample;
  /** Peak resident memory at the last step over that at the early one, minus 1. */
  growth: number;
  /** Fewest and most live tensors over the steps after the early one. */
  tensorRange: [number, number];
  /**
   * Resident memory (MiB) over each quarter of the steps from the early one
   * on: the lowest, median and highest reading, so that a trend (a leak)
   * shows apart from the spikes the peak records.
   */
  quarters: Quarter[];
  /** The least-squares slope of resident memory over those steps, MiB per 1,000 steps. */
  slopeMbPer1000: number;
  /**
   * Wall time per step (ms, batch loading included) over the same quarters,
   * and its least-squares slope in ms per 1,000 steps: a run that slows down
   * shows here. Absent for logs without `stepMs`.
   */
  stepTime?: { quarters: Quarter[]; slopeMsPer1000: number };
  /** Whether the run was stopped by the time limit before its last step. */
  stoppedAt?: number;
  seconds: number;
  command: string;
}

/**
 * Trains `steps` CDGA steps with the default options in a child process and
 * compares its memory at step `early` with that at the end. With `minutes`,
 * the run is stopped (SIGINT, as a user would) when that time is up, and the
 * steps it did are read.
 *
 * @example
 * ```ts ignore
 * import { measureTrainingMemory } from "./memory.ts";
 * console.log((await measureTrainingMemory({ steps: 400, early: 200 })).last.peakRssMb);
 * ```
 */
export async function measureTrainingMemory(
  options: MemoryRunOptions,
): Promise<MemoryReport> {
  if (options.early < 1 || options.early >= options.steps) {
    throw new Error(
      `memory bench: the early step (${options.early}) must lie in [1, ${options.steps})`,
    );
  }
  const out = await Deno.makeTempDir({ prefix: "uda-memory-" });
  const start = performance.now();
  try {
    const { lines, stopped, command } = await runChild(options, out);
    return {
      ...summariseMemory(lines, options.early, stopped),
      seconds: Math.round((performance.now() - start) / 1000),
      command,
    };
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

/** What {@linkcode measureTrainingMemory} runs. */
interface MemoryRunOptions {
  steps: number;
  early: number;
  threads?: number;
  tfjsKernels?: boolean;
  minutes?: number;
  onProgress?: (step: number) => void;
}

/**
 * Runs the training child (`train.ts`, default CDGA, one phase) in `out`,
 * reporting progress and stopping it with SIGINT after `minutes`; returns
 * its metrics lines.
 */
async function runChild(
  options: MemoryRunOptions,
  out: string,
): Promise<{ lines: Record<string, number>[]; stopped: boolean; command: string }> {
  const train = new URL("../train.ts", import.meta.url).pathname;
  const permissions = ["--allow-read", "--allow-write", "--allow-env"];
  const flags = [
    "--warmup-steps",
    "0",
    "--steps",
    String(options.steps),
    "--baseline",
    "none",
    // One phase: the oracle's tensors (G alone), or a baseline's beside CDGA (`--also auto`),
    // would read as a change of the count, and their steps as CDGA's.
    "--no-oracle",
    "--also",
    "",
    "--test-samples",
    "16",
    "--backend",
    "wasm",
    ...(options.threads ? ["--threads", String(options.threads)] : []),
    ...(options.tfjsKernels ? ["--tfjs-kernels"] : []),
  ];
  const args = ["run", ...permissions, train, ...flags, "--out", out, "--name", "memory"];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const metrics = join(out, "memory", "metrics.jsonl");
  let reported = 0;
  const poll = setInterval(async () => {
    try {
      const text = await Deno.readTextFile(metrics);
      const step = text.trimEnd().split("\n").length;
      if (step - reported >= Math.max(1, Math.floor(options.steps / 10))) {
        reported = step;
        options.onProgress?.(step);
      }
    } catch { /* not written yet */ }
  }, 2000);
  let stopped = false;
  const limit = options.minutes === undefined ? undefined : setTimeout(() => {
    stopped = true;
    child.kill("SIGINT");
  }, options.minutes * 60_000);
  const status = await child.output();
  clearInterval(poll);
  clearTimeout(limit);
  if (!status.success && !(stopped && status.code === 130)) {
    throw new Error(
      `memory bench: the training run failed: ${new TextDecoder().decode(status.stderr).trim()}`,
    );
  }
  const lines = (await Deno.readTextFile(metrics)).trim().split("\n").map((l) => JSON.parse(l));
  return {
    lines,
    stopped,
    command: ["deno", "run", ...permissions, "train.ts", ...flags.map((f) => f || '""')].join(" "),
  };
}

/** The memory report of a run's metrics lines, from the early step on. */
function summariseMemory(
  lines: Record<string, number>[],
  earlyStep: number,
  stopped: boolean,
): Omit<MemoryReport, "seconds" | "command"> {
  const sample = (line: Record<string, number>): MemorySample => ({
    step: line.step,
    rssMb: line.rssMb,
    peakRssMb: line.peakRssMb,
    tensors: line.tensors,
  });
  const reached = lines.find((l) => l.step === earlyStep);
  if (!reached || lines.length <= earlyStep) {
    throw new Error(
      `memory bench: the run stopped at step ${lines.length}, not past the early step ${earlyStep}; ` +
        "give it more time or a lower early step",
    );
  }
  const early = sample(reached);
  const last = sample(lines[lines.length - 1]);
  const after = lines.filter((l) => l.step >= earlyStep);
  const later = after.map((l) => l.tensors);
  const resident = trend(after.map((l) => [l.step, l.rssMb]));
  const timed = after.filter((l) => typeof l.stepMs === "number");
  const time = timed.length > 0 ? trend(timed.map((l) => [l.step, l.stepMs])) : undefined;
  return {
    quarters: resident.quarters,
    slopeMbPer1000: resident.slopePer1000,
    ...(time ? { stepTime: { quarters: time.quarters, slopeMsPer1000: time.slopePer1000 } } : {}),
    ...(stopped ? { stoppedAt: last.step } : {}),
    early,
    last,
    growth: last.peakRssMb / early.peakRssMb - 1,
    tensorRange: [Math.min(...later), Math.max(...later)],
  };
}

/** Quarters and least-squares slope (per 1,000 steps) of `(step, value)` readings. */
function trend(readings: [number, number][]): { quarters: Quarter[]; slopePer1000: number } {
  const quarters = [0, 1, 2, 3].map((q) => {
    const part = readings.slice(
      Math.floor((q * readings.length) / 4),
      Math.floor(((q + 1) * readings.length) / 4),
    );
    const values = part.map(([, mb]) => mb).sort((a, b) => a - b);
    return {
      from: part[0]?.[0] ?? 0,
      to: part[part.length - 1]?.[0] ?? 0,
      min: values[0] ?? NaN,
      median: values[Math.floor(values.length / 2)] ?? NaN,
      max: values[values.length - 1] ?? NaN,
    };
  });
  const n = readings.length;
  const meanStep = readings.reduce((s, [x]) => s + x, 0) / n;
  const meanValue = readings.reduce((s, [, y]) => s + y, 0) / n;
  const covariance = readings.reduce((s, [x, y]) => s + (x - meanStep) * (y - meanValue), 0);
  const variance = readings.reduce((s, [x]) => s + (x - meanStep) ** 2, 0);
  return { quarters, slopePer1000: variance > 0 ? (1000 * covariance) / variance : 0 };
}
