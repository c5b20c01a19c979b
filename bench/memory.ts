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
  quarters: { from: number; to: number; min: number; median: number; max: number }[];
  /** The least-squares slope of resident memory over those steps, MiB per 1,000 steps. */
  slopeMbPer1000: number;
  seconds: number;
  command: string;
}

/**
 * Trains `steps` CDGA steps with the default options in a child process and
 * compares its memory at step `early` with that at the end.
 *
 * @example
 * ```ts ignore
 * import { measureTrainingMemory } from "./memory.ts";
 * console.log((await measureTrainingMemory({ steps: 400, early: 200 })).last.peakRssMb);
 * ```
 */
export async function measureTrainingMemory(
  options: {
    steps: number;
    early: number;
    threads?: number;
    tfjsKernels?: boolean;
    onProgress?: (step: number) => void;
  },
): Promise<MemoryReport> {
  if (options.early < 1 || options.early >= options.steps) {
    throw new Error(
      `memory bench: the early step (${options.early}) must lie in [1, ${options.steps})`,
    );
  }
  const out = await Deno.makeTempDir({ prefix: "uda-memory-" });
  const train = new URL("../train.ts", import.meta.url).pathname;
  const permissions = ["--allow-read", "--allow-write", "--allow-env"];
  const flags = [
    "--warmup-steps",
    "0",
    "--steps",
    String(options.steps),
    "--baseline",
    "none",
    // One phase: the oracle's tensors (G alone) would read as a change of the count.
    "--no-oracle",
    "--test-samples",
    "16",
    "--backend",
    "wasm",
    ...(options.threads ? ["--threads", String(options.threads)] : []),
    ...(options.tfjsKernels ? ["--tfjs-kernels"] : []),
  ];
  const args = ["run", ...permissions, train, ...flags, "--out", out, "--name", "memory"];
  const start = performance.now();
  try {
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
    const status = await child.output();
    clearInterval(poll);
    if (!status.success) {
      throw new Error(
        `memory bench: the training run failed: ${new TextDecoder().decode(status.stderr).trim()}`,
      );
    }
    const lines = (await Deno.readTextFile(metrics)).trim().split("\n").map((l) => JSON.parse(l));
    const sample = (line: Record<string, number>): MemorySample => ({
      step: line.step,
      rssMb: line.rssMb,
      peakRssMb: line.peakRssMb,
      tensors: line.tensors,
    });
    const early = sample(lines.find((l) => l.step === options.early));
    const last = sample(lines[lines.length - 1]);
    const after = lines.filter((l) => l.step >= options.early);
    const later = after.map((l) => l.tensors as number);
    return {
      ...residentTrend(after.map((l) => [l.step as number, l.rssMb as number])),
      early,
      last,
      growth: last.peakRssMb / early.peakRssMb - 1,
      tensorRange: [Math.min(...later), Math.max(...later)],
      seconds: Math.round((performance.now() - start) / 1000),
      command: ["deno", "run", ...permissions, "train.ts", ...flags].join(" "),
    };
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

/** Quarters and slope of resident memory over `(step, MiB)` readings. */
function residentTrend(
  readings: [number, number][],
): Pick<MemoryReport, "quarters" | "slopeMbPer1000"> {
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
  const meanMb = readings.reduce((s, [, y]) => s + y, 0) / n;
  const covariance = readings.reduce((s, [x, y]) => s + (x - meanStep) * (y - meanMb), 0);
  const variance = readings.reduce((s, [x]) => s + (x - meanStep) ** 2, 0);
  return { quarters, slopeMbPer1000: variance > 0 ? (1000 * covariance) / variance : 0 };
}
