/**
 * The bench's PyTorch side: the project's reference step and the ports of
 * our training steps (`torch_steps.py`), run with `/usr/bin/python3` (or
 * `--python`) where it imports torch, each printing its timing as JSON on
 * its last line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossAgreement } from "./torch.ts";
 * assert.equal(lossAgreement({ seg: 1 }, { seg: 1.5 }).largest, 0.5);
 * ```
 *
 * @module
 */

/** One row of a bench table: an implementation's step times and losses. */
export interface Timing {
  impl: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  lossFirst: number;
  lossLast: number;
  detail: string;
}

/** A training step timed against its PyTorch port (`torch_steps.py --step port`). */
export interface TrainingStep {
  name: string;
  title: string;
  port: string;
  /** `deno task train` flags that make the step. */
  args: string[];
}

/** What the PyTorch runs read of the bench's options. */
export interface TorchOptions {
  /** The Python that imports torch. */
  python: string;
  /** Where PyTorch runs. */
  torchDevice: "cpu" | "cuda";
  /** The reference step's script. */
  torch: string;
  /** The ports' script. */
  ports: string;
  threads: number;
  steps: number;
  warmup: number;
  batch: number;
  size: number;
  trainSteps: number;
}

/**
 * Runs a PyTorch script with `args` and returns the JSON object it prints on
 * its last line, or why it could not.
 */
async function runTorchScript(
  options: TorchOptions,
  script: string,
  args: string[],
): Promise<Record<string, unknown> | string> {
  const python = options.python;
  try {
    await Deno.stat(script);
  } catch {
    return `no PyTorch script at ${script}`;
  }
  let probe;
  try {
    probe = await new Deno.Command(python, { args: ["-c", "import torch"], stderr: "null" })
      .output();
  } catch {
    return `${python} not found`;
  }
  if (!probe.success) return `${python} cannot import torch (apt-get install python3-torch)`;
  const run = await new Deno.Command(python, {
    args: [script, ...args, ...(options.torchDevice === "cuda" ? ["--device", "cuda"] : [])],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!run.success) {
    return `PyTorch run failed: ${new TextDecoder().decode(run.stderr).trim().split("\n").pop()}`;
  }
  const lines = new TextDecoder().decode(run.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** A PyTorch script's printed timing as a table row. */
function torchTiming(result: Record<string, unknown>, impl: string, note = ""): Timing {
  const r = result as {
    medianMs: number;
    minMs: number;
    maxMs: number;
    lossFirst: number;
    lossLast: number;
    version: string;
    device?: string;
    gpu?: string;
    threads: number;
  };
  return {
    impl,
    medianMs: r.medianMs,
    minMs: r.minMs,
    maxMs: r.maxMs,
    lossFirst: r.lossFirst,
    lossLast: r.lossLast,
    detail: `torch ${r.version}, ${
      r.device === "cuda" ? r.gpu ?? "CUDA" : `${r.threads} threads`
    }${note}`,
  };
}

/** PyTorch's reference step, or why it did not run. */
export async function timeTorch(options: TorchOptions): Promise<Timing | string> {
  const result = await runTorchScript(options, options.torch, [
    "--threads",
    String(options.threads),
    "--steps",
    String(options.steps),
    "--warmup",
    String(options.warmup),
    "--batch",
    String(options.batch),
    "--size",
    String(options.size),
  ]);
  if (typeof result === "string") return result;
  return torchTiming(result, `pytorch-${result.device ?? "cpu"}`);
}

/** What a port printed: its timing, parameter counts and first two steps' losses. */
export interface PortResult {
  timing: Timing;
  counts: { total: number; trainable: number };
  firstStep: Record<string, number>;
  secondStep: Record<string, number>;
}

/** A training step's PyTorch port, from our exported first step, or why it did not run. */
export async function timePort(
  options: TorchOptions,
  step: TrainingStep,
  exportDir: string,
): Promise<PortResult | string> {
  const result = await runTorchScript(options, options.ports, [
    "--step",
    step.port,
    "--export",
    exportDir,
    "--threads",
    String(options.threads),
    "--steps",
    String(options.trainSteps),
    "--warmup",
    String(options.warmup),
  ]);
  if (typeof result === "string") return result;
  return {
    // The port repeats its one batch: its last loss is not comparable with ours.
    timing: torchTiming(result, `pytorch-${result.device} (port)`, ", the first batch repeated"),
    counts: result.counts as PortResult["counts"],
    firstStep: result.firstStep as Record<string, number>,
    secondStep: result.secondStep as Record<string, number>,
  };
}

/** "seg 2.1963615 / 2.1963615, …; largest difference 4.1e-7" for the losses both sides report. */
export function lossAgreement(ours: Record<string, number>, port: Record<string, number>): {
  text: string;
  largest: number;
} {
  const names = Object.keys(port).filter((name) => name in ours);
  const largest = Math.max(...names.map((name) => Math.abs(ours[name] - port[name])));
  const pairs = names.map((name) => `${name} ${ours[name].toFixed(7)} / ${port[name].toFixed(7)}`);
  return { text: `${pairs.join(", ")}; largest difference ${largest.toExponential(1)}`, largest };
}
