/**
 * `deno task bench`: the reference training step (see `reference_net.ts`) on
 * each available backend, median ms per step over `--steps` steps after
 * `--warmup`, a per-kernel profile of one step, and PyTorch's time for the
 * same step (`shared/bench/torch_reference_step.py`) when `/usr/bin/python3`
 * can import torch, with the ratio.
 *
 * Flags: `--backends wasm,webgpu,cpu` (default: wasm, and webgpu when an
 * adapter exists; cpu only on request: it takes about 2 minutes per step as
 * tfjs ships it), `--steps 12`, `--warmup 2`, `--batch 2`, `--size 128`,
 * `--threads 2` (PyTorch's), `--json FILE` (write the results), `--torch
 * PATH` (the PyTorch script), `--no-torch`, `--no-profile`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../lib/tf.ts";
import { type BackendChoice, probeWebGpu, useBackend } from "../lib/backend.ts";
import { key, split } from "../lib/random.ts";
import { replace } from "../lib/memory.ts";
import { dispose, type Tree } from "../lib/tree.ts";
import { initReference, makeReferenceStep, referenceBatch } from "./reference_net.ts";
import { loadDigitsBenchmark } from "../data/digits.ts";

const HELP = `deno task bench [flags]

Times the reference training step of shared/bench/torch_reference_step.py on
our backends and, when /usr/bin/python3 can import torch, on PyTorch.

  --backends LIST  comma-separated among wasm, webgpu, cpu
                   (default: wasm, plus webgpu when an adapter exists)
  --steps N        timed steps per backend (default 12)
  --warmup N       untimed steps first (default 2)
  --batch N        images per step (default 2)
  --size N         image side (default 128)
  --threads N      PyTorch threads (default 2)
  --torch PATH     the PyTorch script (default ../shared/bench/torch_reference_step.py)
  --no-torch       skip PyTorch
  --no-profile     skip the per-kernel profile
  --json FILE      also write the results as JSON
  --help           this text
`;

interface Timing {
  impl: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  lossFirst: number;
  lossLast: number;
  detail: string;
}

function parse() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backends: { type: "string" },
      steps: { type: "string", default: "12" },
      warmup: { type: "string", default: "2" },
      batch: { type: "string", default: "2" },
      size: { type: "string", default: "128" },
      threads: { type: "string", default: "2" },
      torch: { type: "string" },
      "no-torch": { type: "boolean", default: false },
      "no-profile": { type: "boolean", default: false },
      json: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  const positive = (name: string, text: string, min = 1) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(text)}`);
    }
    return n;
  };
  return {
    help: values.help,
    backends: values.backends?.split(",").map((s) => s.trim()).filter(Boolean),
    steps: positive("steps", values.steps!),
    warmup: positive("warmup", values.warmup!, 0),
    batch: positive("batch", values.batch!),
    size: positive("size", values.size!, 8),
    threads: positive("threads", values.threads!),
    torch: values.torch ??
      new URL("../../shared/bench/torch_reference_step.py", import.meta.url).pathname,
    noTorch: values["no-torch"],
    noProfile: values["no-profile"],
    json: values.json,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number) => Math.round(x * 10) / 10;

async function timeBackend(
  backend: Exclude<BackendChoice, "auto">,
  options: ReturnType<typeof parse>,
): Promise<{ timing: Timing; profile?: [string, number, number][] }> {
  const info = await useBackend(backend);
  const [initKey, dataKey] = split(key(0));
  let params = initReference(initKey);
  const batch = referenceBatch(dataKey, { batch: options.batch, size: options.size });
  const { init, step } = makeReferenceStep();
  let state = init(params);
  const times: number[] = [];
  const losses: number[] = [];
  const countsAfter: number[] = [];
  for (let i = 0; i < options.warmup + options.steps; i++) {
    const start = performance.now();
    const [p, s, metrics] = step(params, state, batch);
    // Reading the loss waits for the device, so the time is the whole step.
    losses.push((await metrics.loss.data())[0]);
    [params, state] = replace([params, state, metrics], [p, s]);
    if (i >= options.warmup) times.push(performance.now() - start);
    countsAfter.push(tf.memory().numTensors);
  }
  let profile: [string, number, number][] | undefined;
  if (!options.noProfile) {
    const result = await tf.profile(() => {
      const [p, s, metrics] = step(params, state, batch);
      [params, state] = replace([params, state, metrics], [p, s]);
    });
    const byKernel = new Map<string, [number, number]>();
    for (const k of result.kernels) {
      const entry = byKernel.get(k.name) ?? [0, 0];
      entry[0] += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
      entry[1]++;
      byKernel.set(k.name, entry);
    }
    profile = [...byKernel].map(([name, [ms, calls]]) =>
      [name, round(ms), calls] as [
        string,
        number,
        number,
      ]
    ).sort((a, b) => b[1] - a[1]);
  }
  if (new Set(countsAfter).size !== 1) {
    console.log(`  warning: tensor count changed over the steps: ${[...new Set(countsAfter)]}`);
  }
  dispose([params, state, batch] as Tree[]);
  return {
    timing: {
      impl: `tfjs-${info.name}`,
      medianMs: round(median(times)),
      minMs: round(Math.min(...times)),
      maxMs: round(Math.max(...times)),
      lossFirst: losses[0],
      lossLast: losses[losses.length - 1],
      detail: info.detail,
    },
    profile,
  };
}

async function timeTorch(options: ReturnType<typeof parse>): Promise<Timing | string> {
  const python = "/usr/bin/python3";
  try {
    await Deno.stat(options.torch);
  } catch {
    return `no PyTorch script at ${options.torch}`;
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
    args: [
      options.torch,
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
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!run.success) return `PyTorch run failed: ${new TextDecoder().decode(run.stderr).trim()}`;
  const lines = new TextDecoder().decode(run.stdout).trim().split("\n");
  const result = JSON.parse(lines[lines.length - 1]);
  return {
    impl: "pytorch",
    medianMs: result.medianMs,
    minMs: result.minMs,
    maxMs: result.maxMs,
    lossFirst: result.lossFirst,
    lossLast: result.lossLast,
    detail: `torch ${result.version}, ${result.threads} threads`,
  };
}

async function main() {
  const options = parse();
  if (options.help) {
    console.log(HELP);
    return;
  }
  const probe = await probeWebGpu();
  const backends = (options.backends ?? ["wasm", ...(probe.available ? ["webgpu"] : [])]) as (
    | "wasm"
    | "webgpu"
    | "cpu"
  )[];
  for (const b of backends) {
    if (!["wasm", "webgpu", "cpu"].includes(b)) {
      throw new Error(`--backends: unknown backend ${JSON.stringify(b)} (wasm, webgpu, cpu)`);
    }
  }
  console.log(
    `reference step: batch ${options.batch} of ${options.size}×${options.size}×3, ` +
      `median of ${options.steps} steps after ${options.warmup} warm-up`,
  );
  if (!options.backends) {
    console.log("cpu: not run by default (about 2 min per step as tfjs ships it; --backends cpu)");
    if (!probe.available) console.log(`webgpu: not run (${probe.description})`);
  }
  // PyTorch first: the webgpu software rasteriser's threads can linger after
  // its run and would slow PyTorch down.
  let torch: Timing | undefined;
  if (!options.noTorch) {
    console.log("running pytorch …");
    const result = await timeTorch(options);
    if (typeof result === "string") console.log(`pytorch: skipped (${result})`);
    else torch = result;
  }
  const timings: Timing[] = [];
  const profiles: Record<string, [string, number, number][]> = {};
  for (const backend of backends) {
    console.log(`running ${backend} …`);
    const { timing, profile } = await timeBackend(backend, options);
    timings.push(timing);
    if (profile) profiles[timing.impl] = profile;
  }
  // The digits benchmark's scene generation, which must never dominate training.
  const bench = await loadDigitsBenchmark();
  const sceneMs: Record<string, number> = {};
  for (const domain of ["source", "target"] as const) {
    const start = performance.now();
    for (let i = 0; i < 300; i++) {
      bench.scene(key(1), i, { split: "train", domain }, { scale: [2, 2.3], digits: [1, 2] });
    }
    sceneMs[domain] = Number(((performance.now() - start) / 300).toFixed(2));
  }
  const rows = [...timings, ...(torch ? [torch] : [])];
  console.log("");
  console.log(
    "| implementation | median ms/step | min | max | × PyTorch | loss first → last | detail |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const t of rows) {
    const ratio = torch ? (t.medianMs / torch.medianMs).toFixed(1) : "–";
    console.log(
      `| ${t.impl} | ${t.medianMs} | ${t.minMs} | ${t.maxMs} | ${ratio} | ` +
        `${t.lossFirst.toFixed(4)} → ${t.lossLast.toFixed(4)} | ${t.detail} |`,
    );
  }
  for (const [impl, profile] of Object.entries(profiles)) {
    const total = profile.reduce((s, [, ms]) => s + ms, 0);
    console.log(`\nper-kernel profile of one ${impl} step (kernel time ${round(total)} ms):`);
    for (const [name, ms, calls] of profile.slice(0, 15)) {
      console.log(`  ${name.padEnd(28)} ${String(ms).padStart(7)} ms  ${calls} calls`);
    }
  }
  console.log(
    `\ndigits benchmark scene generation (64×64): ${sceneMs.source} ms per source scene, ` +
      `${sceneMs.target} ms per target scene (a training step of 8 + 8 scenes spends ` +
      `${round(8 * (sceneMs.source + sceneMs.target))} ms on them)`,
  );
  if (options.json) {
    await Deno.writeTextFile(
      options.json,
      JSON.stringify({ options, timings: rows, profiles, sceneMs }, null, 2) + "\n",
    );
    console.log(`\nwrote ${options.json}`);
  }
}

try {
  await main();
} catch (error) {
  console.error(`bench: ${(error as Error).message}`);
  Deno.exit(2);
}
