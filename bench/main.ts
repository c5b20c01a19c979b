/**
 * `deno task bench`: in one run,
 *
 * 1. the reference training step (`model/reference_net.ts`, the network of
 *    the project's PyTorch speed yardstick) on our fastest CPU backend
 *    (wasm: XNNPACK, SIMD, a thread per core), and on webgpu where a hardware
 *    adapter exists;
 * 2. the training steps that matter, each against its PyTorch port
 *    (`torch_steps.py`), in rounds back to back: the default step of
 *    `deno task train` (CDGA, ResNet-18 ×0.25, 8 + 8 digits scenes of
 *    64×64; G, C and D, both updates) and the DeepLab MobileNetV2 step
 *    (`--backbone mobilenetv2 --norm frozen --method sourceOnly`, same
 *    shapes and batch). Each port starts from our initial weights and first
 *    batch (`step_export.ts`); the bench prints both parameter counts and
 *    the first two steps' losses on both sides;
 * 3. PyTorch's reference step, when `/usr/bin/python3` (`--python`) imports
 *    torch, on the CPU (or on CUDA with `--torch-device cuda`), and
 *    every time's ratio to it;
 * 4. a per-kernel profile of one reference step and of each training step;
 * 5. memory over a long default training run (a child process running
 *    `train.ts`): peak resident memory at step 200 and at the last step
 *    (`--memory-steps`, 2,000), and the live tensor count; with `--soak N`
 *    only this run, N steps (20,000 for the soak the docs quote; or as many
 *    as `--soak-minutes` allows), with resident memory, live tensors and
 *    step time by quarter of the steps and their least-squares slopes;
 * 6. the digits benchmark's scene generation time.
 *
 * Run `deno task bench --help` for the flags.
 *
 * @module
 */
import { commandHelp } from "../cli/command.ts";
import { BENCH_COMMAND, type BenchOptions as Options, parseBenchOptions } from "./options.ts";
import { tf } from "../lib/tf.ts";
import { type BackendInfo, probeWebGpu, useBackend } from "../lib/backend.ts";
import { key, split } from "../lib/random.ts";
import { replace } from "../lib/memory.ts";
import { dispose, type Tree } from "../lib/tree.ts";
import { initReference, makeReferenceStep, referenceBatch } from "../model/reference_net.ts";
import { timeTrainingStep } from "./training_step.ts";
import { exportFirstStep } from "./step_export.ts";
import { median, oneDecimal, summarise } from "./stats.ts";
import { measureTrainingMemory, type MemoryReport } from "./memory.ts";
import { type Profile, profileOf } from "./profile.ts";
import { printMemory, printProfile, printTable } from "./tables.ts";
import { loadDigitsBenchmark } from "../data/digits.ts";
import {
  lossAgreement,
  type PortResult,
  timePort,
  timeTorch,
  type Timing,
  type TrainingStep,
} from "./torch.ts";

async function timeReference(
  info: BackendInfo,
  options: Options,
  profiled: boolean,
): Promise<{ timing: Timing; profile?: Profile; tensorCounts: number[] }> {
  const [initKey, dataKey] = split(key(0));
  let params = initReference(initKey);
  const batch = referenceBatch(dataKey, { batch: options.batch, size: options.size });
  const { init, step } = makeReferenceStep();
  let state = init(params);
  const times: number[] = [], losses: number[] = [], tensorCounts: number[] = [];
  for (let i = 0; i < options.warmup + options.steps; i++) {
    const start = performance.now();
    const [p, s, metrics] = step(params, state, batch);
    // Reading the loss waits for the device, so the time is the whole step.
    losses.push((await metrics.loss.data())[0]);
    [params, state] = replace([params, state, metrics], [p, s]);
    if (i >= options.warmup) times.push(performance.now() - start);
    tensorCounts.push(tf.memory().numTensors);
  }
  const profile = !profiled ? undefined : await profileOf(() => {
    const [p, s, metrics] = step(params, state, batch);
    [params, state] = replace([params, state, metrics], [p, s]);
  });
  dispose([params, state, batch] as Tree[]);
  return {
    timing: {
      impl: `tfjs-${info.name}`,
      ...summarise(times),
      lossFirst: losses[0],
      lossLast: losses[losses.length - 1],
      detail: info.detail,
    },
    profile,
    tensorCounts,
  };
}

const steady = (counts: number[]) => new Set(counts).size === 1;

/** One timing for several rounds: the median of their medians, the extremes of all. */
function combineRounds(rounds: Timing[]): Timing {
  return {
    ...rounds[rounds.length - 1],
    medianMs: oneDecimal(median(rounds.map((t) => t.medianMs))),
    minMs: Math.min(...rounds.map((t) => t.minMs)),
    maxMs: Math.max(...rounds.map((t) => t.maxMs)),
  };
}

/** One training step against its port: our rows, the port's, the ratios and the agreement. */
interface StepReport {
  title: string;
  ours: Timing[];
  port?: Timing;
  ratios: number[][];
  counts: {
    ours: { total: number; trainable: number };
    port?: { total: number; trainable: number };
  };
  firstStep: { ours: Record<string, number>; port?: Record<string, number> };
  secondStep: { ours: Record<string, number>; port?: Record<string, number> };
  notes: string[];
}

/** Starts a backend with the bench's kernel settings. */
function startBackend(backend: "wasm" | "webgpu" | "cpu", options: Options): Promise<BackendInfo> {
  return useBackend(backend, { threads: options.wasmThreads, nativeKernels: !options.tfjsKernels });
}

/**
 * The rounds of one training step: the port (until it cannot run), then
 * ours on each backend; the last round profiles ours. A live tensor count
 * that moves during a run is recorded in `leaks`.
 */
async function timeRounds(
  spec: TrainingStep,
  options: Options,
  backends: ("wasm" | "webgpu" | "cpu")[],
  out: { dir: string; noTorch: boolean; profiles: Record<string, Profile>; leaks: string[] },
): Promise<{ portRounds: PortResult[]; ourRounds: Map<string, Timing[]> }> {
  const portRounds: PortResult[] = [];
  const ourRounds = new Map<string, Timing[]>();
  let portSkipped = out.noTorch;
  for (let round = 1; round <= options.rounds; round++) {
    if (!portSkipped) {
      console.log(`round ${round}: ${spec.title}, PyTorch port …`);
      const result = await timePort(options, spec, out.dir);
      if (typeof result === "string") {
        console.log(`PyTorch port: skipped (${result})`);
        portSkipped = true;
      } else portRounds.push(result);
    }
    for (const backend of backends) {
      const info = await startBackend(backend, options);
      console.log(`round ${round}: ${spec.title}, ${backend} …`);
      const last = round === options.rounds;
      const { tensorCounts, profile, detail, ...timing } = await timeTrainingStep({
        steps: options.trainSteps,
        warmup: options.warmup,
        profile: last && !options.noProfile,
        args: spec.args,
      });
      const row = { impl: `tfjs-${info.name}`, ...timing, detail: `${detail}; ${info.detail}` };
      ourRounds.set(backend, [...(ourRounds.get(backend) ?? []), row]);
      if (!steady(tensorCounts)) {
        out.leaks.push(`${spec.title} on ${backend}: ${[...new Set(tensorCounts)]}`);
      }
      if (profile) out.profiles[`${spec.title} on tfjs-${info.name}`] = profile;
    }
  }
  return { portRounds, ourRounds };
}

/** The agreement of ours and the port: parameter counts and the first two steps' losses. */
function portNotes(
  exported: Awaited<ReturnType<typeof exportFirstStep>>,
  port: PortResult,
): string[] {
  const same = port.counts.total === exported.counts.total &&
    port.counts.trainable === exported.counts.trainable;
  const first = lossAgreement(exported.metrics, port.firstStep);
  const second = lossAgreement(exported.second, port.secondStep);
  return [
    `parameters: ours ${exported.counts.total} (${exported.counts.trainable} trained), ` +
    `port ${port.counts.total} (${port.counts.trainable} trained): ` +
    (same ? "equal" : "DIFFERENT"),
    `first step from the same weights and batch, ours / port: ${first.text} ` +
    `(${first.largest <= 1e-4 ? "≤ 1e-4" : "MORE THAN 1e-4"})`,
    `second step, same batch, after each side's own update: ${second.text}`,
  ];
}

async function timeTrainingSteps(
  spec: TrainingStep,
  options: Options,
  backends: ("wasm" | "webgpu" | "cpu")[],
  noTorch: boolean,
  profiles: Record<string, Profile>,
  leaks: string[],
): Promise<StepReport> {
  await startBackend(backends[0], options);
  const dir = await Deno.makeTempDir({ prefix: `uda-bench-${spec.name}-` });
  try {
    console.log(`${spec.title}: exporting our initial weights and first batch to the port …`);
    const exported = await exportFirstStep(spec.args, dir);
    const { portRounds, ourRounds } = await timeRounds(spec, options, backends, {
      dir,
      noTorch,
      profiles,
      leaks,
    });
    const port = portRounds.length > 0 ? combineRounds(portRounds.map((r) => r.timing)) : undefined;
    const ratios = [...ourRounds.values()].map((rounds) =>
      portRounds.length === rounds.length
        ? rounds.map((t, i) => oneDecimal(t.medianMs / portRounds[i].timing.medianMs))
        : []
    );
    const portResult = portRounds[0];
    const notes = portResult ? portNotes(exported, portResult) : [];
    return {
      title: spec.title,
      ours: [...ourRounds.values()].map(combineRounds),
      port,
      ratios,
      counts: { ours: exported.counts, port: portResult?.counts },
      firstStep: { ours: exported.metrics, port: portResult?.firstStep },
      secondStep: { ours: exported.second, port: portResult?.secondStep },
      notes,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `--soak N`: N default CDGA steps in a child process, memory and step time over them. */
async function soak(options: Options & { soak: number }): Promise<void> {
  console.log(
    `soak: ${options.soak} default CDGA training steps in a child process` +
      (options.soakMinutes ? ` (at most ${options.soakMinutes} min)` : "") + " …",
  );
  const memory = await measureTrainingMemory({
    steps: options.soak,
    early: options.memoryEarly,
    threads: options.wasmThreads,
    tfjsKernels: options.tfjsKernels,
    minutes: options.soakMinutes,
    onProgress: (step) => console.log(`  step ${step}`),
  });
  printMemory(memory);
  if (options.json) {
    await Deno.writeTextFile(options.json, JSON.stringify({ options, memory }, null, 2) + "\n");
    console.log(`\nwrote ${options.json}`);
  }
}

/**
 * Rounds of PyTorch's reference step then ours on every backend, back to
 * back: these shared machines change speed from minute to minute, and a
 * ratio is only fair between runs close in time.
 */
async function timeReferenceRounds(
  options: Options,
  backends: readonly ("wasm" | "webgpu" | "cpu")[],
) {
  const torchRounds: Timing[] = [];
  const referenceRounds = new Map<string, Timing[]>();
  const profiles: Record<string, Profile> = {};
  const leaks: string[] = [];
  let torchSkipped = options.noTorch;
  for (let round = 1; round <= options.rounds; round++) {
    if (!torchSkipped) {
      console.log(`round ${round}: running pytorch (${options.torchDevice}) …`);
      const result = await timeTorch(options);
      if (typeof result === "string") {
        console.log(`pytorch: skipped (${result})`);
        torchSkipped = true;
      } else torchRounds.push(result);
    }
    for (const backend of backends) {
      const info = await useBackend(backend, {
        threads: options.wasmThreads,
        nativeKernels: !options.tfjsKernels,
      });
      console.log(`round ${round}: running ${backend} (${info.detail}) …`);
      const last = round === options.rounds;
      const ref = await timeReference(info, options, last && !options.noProfile);
      referenceRounds.set(backend, [...(referenceRounds.get(backend) ?? []), ref.timing]);
      if (ref.profile) profiles[`reference step on ${ref.timing.impl}`] = ref.profile;
      if (!steady(ref.tensorCounts)) {
        leaks.push(`reference step on ${backend}: ${[...new Set(ref.tensorCounts)]}`);
      }
    }
  }
  return { torchRounds, referenceRounds, profiles, leaks, torchSkipped };
}

/** The digits benchmark's scene generation (ms per scene), which must never dominate training. */
async function timeSceneGeneration(): Promise<Record<string, number>> {
  const bench = await loadDigitsBenchmark();
  const sceneMs: Record<string, number> = {};
  for (const domain of ["source", "target"] as const) {
    const start = performance.now();
    for (let i = 0; i < 300; i++) {
      bench.scene(key(1), i, { split: "train", domain }, { scale: [2, 2.3], digits: [1, 2] });
    }
    sceneMs[domain] = Number(((performance.now() - start) / 300).toFixed(2));
  }
  return sceneMs;
}

/** Prints the bench's tables and notes, and writes them as JSON where `--json` asks. */
async function printResults(options: Options, results: {
  torchRounds: Timing[];
  referenceRounds: Map<string, Timing[]>;
  torch: Timing | undefined;
  reference: Timing[];
  ratios: number[][];
  training: StepReport[];
  profiles: Record<string, Profile>;
  sceneMs: Record<string, number>;
  memory: MemoryReport | undefined;
  leaks: string[];
}): Promise<void> {
  const { torchRounds, referenceRounds, torch, reference, ratios, training, profiles } = results;
  const { sceneMs, memory, leaks } = results;
  printTable(
    `reference training step (${options.rounds} rounds of ${options.steps} steps; ms: median of the rounds' medians)`,
    [...reference, ...(torch ? [torch] : [])],
    torch,
    ratios,
  );
  for (const report of training) {
    printTable(
      `${report.title} (${options.rounds} rounds of ${options.trainSteps} steps; × PyTorch: against its port, round by round)`,
      [...report.ours, ...(report.port ? [report.port] : [])],
      report.port,
      report.ratios,
    );
    for (const line of report.notes) console.log(line);
  }
  for (const [title, profile] of Object.entries(profiles)) printProfile(title, profile);
  console.log(
    `\ndigits benchmark scene generation (64×64): ${sceneMs.source} ms per source scene, ` +
      `${sceneMs.target} ms per target scene (a training step of 8 + 8 scenes spends ` +
      `${oneDecimal(8 * (sceneMs.source + sceneMs.target))} ms on them)`,
  );
  console.log(
    leaks.length === 0
      ? "live tensors: constant over every timed step"
      : `live tensors CHANGED over the steps: ${leaks.join("; ")}`,
  );
  if (memory) printMemory(memory);
  if (options.json) {
    await Deno.writeTextFile(
      options.json,
      JSON.stringify(
        {
          options,
          reference,
          torch,
          rounds: { torch: torchRounds, reference: Object.fromEntries(referenceRounds), ratios },
          training,
          profiles,
          sceneMs,
          memory,
        },
        null,
        2,
      ) +
        "\n",
    );
    console.log(`\nwrote ${options.json}`);
  }
}

async function main() {
  const options = parseBenchOptions(Deno.args);
  if (options.help) {
    console.log(commandHelp(BENCH_COMMAND));
    return;
  }
  if (options.soak) {
    await soak({ ...options, soak: options.soak });
    return;
  }
  const probe = await probeWebGpu();
  const hardwareGpu = probe.available && !probe.software;
  const backends = options.backends ?? ["wasm", ...(hardwareGpu ? ["webgpu" as const] : [])];
  console.log(
    `reference step: batch ${options.batch} of ${options.size}×${options.size}×3, ` +
      `median of ${options.steps} steps after ${options.warmup} warm-up; ` +
      `CDGA step: median of ${options.trainSteps} steps after ${options.warmup}`,
  );
  if (!options.backends) {
    console.log("cpu: not run by default (minutes per step as tfjs ships it; --backends cpu)");
    if (!hardwareGpu) {
      console.log(
        `webgpu: not run (${
          probe.available ? `software adapter: ${probe.description}` : probe.description
        }; --backends webgpu)`,
      );
    }
  }
  const { torchRounds, referenceRounds, profiles, leaks, torchSkipped } = await timeReferenceRounds(
    options,
    backends,
  );
  const torch = torchRounds.length > 0 ? combineRounds(torchRounds) : undefined;
  const reference = [...referenceRounds.values()].map(combineRounds);
  const ratios = [...referenceRounds.values()].map((rounds) =>
    torchRounds.length === rounds.length
      ? rounds.map((t, i) => oneDecimal(t.medianMs / torchRounds[i].medianMs))
      : []
  );
  const training: StepReport[] = [];
  for (const spec of options.trainSteps > 0 ? options.trainingSteps : []) {
    const report = await timeTrainingSteps(spec, options, backends, torchSkipped, profiles, leaks);
    training.push(report);
  }
  const sceneMs = await timeSceneGeneration();
  let memory: MemoryReport | undefined;
  if (options.memorySteps > 0) {
    console.log(
      `running the memory run (${options.memorySteps} default CDGA training steps in a child process) …`,
    );
    memory = await measureTrainingMemory({
      steps: options.memorySteps,
      early: options.memoryEarly,
      threads: options.wasmThreads,
      tfjsKernels: options.tfjsKernels,
      onProgress: (step) => console.log(`  step ${step}`),
    });
  }

  await printResults(options, {
    torchRounds,
    referenceRounds,
    torch,
    reference,
    ratios,
    training,
    profiles,
    sceneMs,
    memory,
    leaks,
  });
}

/** Prints a memory (or soak) run's report: memory, live tensors and step time over the steps. */
try {
  await main();
} catch (error) {
  console.error(`bench: ${(error as Error).message}`);
  Deno.exit(2);
}
