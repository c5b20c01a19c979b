/**
 * One phase of a run: G (and C and D, as the method has them) from the
 * warm-up, a checkpoint, `--init-from` or ImageNet weights; then the steps,
 * each guarded (a non-finite loss, parameter or optimizer state stops the
 * run, naming the checkpoint kept), logged to `metrics.jsonl`, checkpointed
 * every `--checkpoint-every` steps, evaluated every `--eval-every`, and
 * ended at a step boundary by SIGINT or SIGTERM with a checkpoint.
 *
 * @example
 * ```ts ignore
 * const params = await trainPhase(run, phase);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../lib/tf.ts";
import type { Key } from "../lib/random.ts";
import { replace } from "../lib/memory.ts";
import { dispose } from "../lib/tree.ts";
import type { MobileNetV2Params } from "../model/mobilenet_v2.ts";
import {
  type Batch as StepBatch,
  makeTrainer,
  type OptStates,
  type Params,
  readMetrics,
  stepProblem,
} from "../methods/step.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";
import type { Dataset } from "../data/datasets.ts";
import type { DataPlan } from "../data/plan.ts";
import { tableToJson } from "../data/labels.ts";
import { type Batch, trainingBatches } from "../data/stream.ts";
import { loadMobileNetV2Weights } from "../model/pretrained.ts";
import { evaluateSeg } from "../eval/segmentation.ts";
import { type Checkpoint, loadCheckpoint, restoreTree, saveCheckpoint } from "../io/checkpoint.ts";
import { loadSafetensors } from "../io/safetensors.ts";
import { loadWarmup } from "./warmup_from.ts";
import { methodConfig, type RunKeys, segConfig } from "./config.ts";
import type { Options } from "./options.ts";
import type { Phase } from "./phases.ts";
import type { Progress } from "./progress.ts";
import { residentMemory } from "./resources.ts";
import { checkpointMismatch, exists, Interrupted } from "./run_folder.ts";
import { DataError } from "../data/image_io.ts";
import type { DeepLabParams } from "../model/deeplab.ts";
import type { MetricsLine, MetricsLog } from "./metrics_log.ts";

/** What every phase of a run shares. */
export interface RunContext {
  o: Options;
  data: DataPlan;
  keys: RunKeys;
  classes: number;
  /** The run's checkpoints folder. */
  checkpoints: string;
  /** The options as stored with every checkpoint. */
  resolved: Record<string, unknown>;
  /** The run's metrics log, with a bounded sample of it in memory for the report. */
  metrics: MetricsLog;
  /** Each finished phase's parameters. */
  finals: Map<string, Params>;
  /** The held-out samples of the intermediate evaluations. */
  monitored: Dataset;
  progress: Progress;
  interrupts: { pending(): "SIGINT" | "SIGTERM" | undefined };
  log: (line: string) => void;
  /** Called before each checkpoint is written. */
  beforeSave: () => Promise<void>;
  /** Called after each step is taken. */
  afterStep: () => void;
}

/**
 * Loads G's weights from a checkpoint or a .safetensors file over `seg`.
 *
 * @example
 * ```ts ignore
 * const seg = await initSegFrom("g101.safetensors", params.seg);
 * ```
 */
export async function initSegFrom(path: string, seg: DeepLabParams): Promise<DeepLabParams> {
  if (path.endsWith(".safetensors")) return await loadSafetensors(path, seg);
  const checkpoint = await loadCheckpoint(path);
  return restoreTree(checkpoint, "params/seg", seg, path);
}

/**
 * Refuses a checkpoint that does not belong where the run is about to use it
 * (`checkpointMismatch`); other options are let through under
 * `--accept-changes`, another phase or step never.
 *
 * @example
 * ```ts ignore
 * assertBelongs(await loadCheckpoint(path), path, { phase: "cdga", steps: 600 }, resolved, false);
 * ```
 */
export function assertBelongs(
  checkpoint: Checkpoint,
  path: string,
  expected: { phase: string; steps: number; complete?: boolean },
  resolved: Record<string, unknown>,
  acceptChanges: boolean,
): void {
  const why = checkpointMismatch(checkpoint, expected, resolved);
  if (!why) return;
  const otherOptions = why.startsWith("it was made by a run with other options");
  if (otherOptions && acceptChanges) return;
  throw new DataError(
    path,
    `does not belong to this run's ${expected.phase} phase: ${why}\n` +
      (otherOptions
        ? "Add --accept-changes to continue from it anyway."
        : "Restore the run's own file, or remove it to restart the phase."),
  );
}

/**
 * Before a resume writes anything: every phase checkpoint on disk belongs to
 * the run (`assertBelongs`), and the metrics log holds every step it has
 * done (a deleted or cut log is refused unless `--accept-changes`). The log's
 * lines up to each checkpoint are loaded into `run.metrics`; the filter that
 * kept them is returned, for `MetricsLog.rewrite` once writing may begin.
 *
 * @example
 * ```ts ignore
 * const keep = await checkResumable(run, phases);
 * await run.metrics.rewrite(keep);
 * ```
 */
export async function checkResumable(
  run: RunContext,
  phases: readonly Phase[],
): Promise<(line: MetricsLine) => boolean> {
  const { o, checkpoints, metrics, resolved, log } = run;
  const steps = new Map<string, number>();
  for (const phase of phases) {
    const path = join(checkpoints, `${phase.name}.ckpt`);
    if (!(await exists(path))) continue;
    const checkpoint = await loadCheckpoint(path);
    assertBelongs(
      checkpoint,
      path,
      { phase: phase.name, steps: phase.steps },
      resolved,
      o.acceptChanges,
    );
    steps.set(phase.name, checkpoint.position.step);
  }
  // Lines past a phase's checkpoint (or of a phase without one) are redone by the resume.
  const keep = (line: MetricsLine) => (line.step as number) <= (steps.get(String(line.phase)) ?? 0);
  const logged = new Map<string, Set<unknown>>();
  if (await exists(metrics.path)) {
    const { torn } = await metrics.load((line) => {
      if (!keep(line)) return false;
      const phase = String(line.phase);
      if (!logged.has(phase)) logged.set(phase, new Set());
      logged.get(phase)!.add(line.step);
      return true;
    });
    if (torn) log(`${metrics.path}: dropped a last line cut short by a kill`);
  }
  for (const [phase, step] of steps) {
    const count = logged.get(phase)?.size ?? 0;
    if (count >= step) continue;
    const gap = `${metrics.path} holds ${count} of the ${step} steps of ${phase} that ` +
      `its checkpoint has done (lines lost, or the file deleted or replaced)`;
    if (!o.acceptChanges) {
      throw new Error(
        `${gap}.\nRestore the run's metrics.jsonl, or add --accept-changes to continue with the gap.`,
      );
    }
    log(`resume: accepted a gap: ${gap}`);
  }
  return keep;
}

/** Where a phase starts: its parameters, optimizer state and step. */
interface PhaseStart {
  params: Params;
  optState: OptStates;
  step: number;
  /** Whether the phase resumed from its own checkpoint. */
  resumed: boolean;
}

/**
 * The phase's state to start from: its own checkpoint (a resume), G from the
 * phase it continues (C and D fresh), G from `--init-from`, MobileNetV2's
 * ImageNet weights, or the fresh initialisation.
 */
async function startPhase(
  run: RunContext,
  phase: Phase,
  fresh: { params: Params; optState: OptStates },
  path: string,
): Promise<PhaseStart> {
  const { o, checkpoints, resolved, finals, log } = run;
  let params: Params = fresh.params, optState = fresh.optState;
  if (o.resume && await exists(path)) {
    const restored = await loadCheckpoint(path);
    assertBelongs(
      restored,
      path,
      { phase: phase.name, steps: phase.steps },
      resolved,
      o.acceptChanges,
    );
    params = restoreTree(restored, "params", fresh.params, path);
    optState = restoreTree(restored, "opt", fresh.optState, path);
    dispose([fresh.params, fresh.optState]);
    const step = restored.position.step;
    log(`${phase.name}: resuming at step ${step} of ${phase.steps}`);
    return { params, optState, step, resumed: true };
  }
  if (phase.from) {
    const start = finals.get(phase.from);
    if (!start) throw new Error(`phase ${phase.name} needs ${phase.from} first`);
    // G (and its optimizer state) continue from the warm-up; C and D start fresh.
    dispose([params.seg, optState.seg]);
    const fromPath = join(checkpoints, `${phase.from}.ckpt`);
    const warmupFrom = phase.from === "warmup" ? o.warmupFrom : undefined;
    const warm = warmupFrom ? await loadWarmup(warmupFrom, o) : await loadCheckpoint(fromPath);
    if (!warmupFrom) {
      const from = { phase: phase.from, steps: phase.offset, complete: true };
      assertBelongs(warm, fromPath, from, resolved, o.acceptChanges);
    }
    params = { ...params, seg: restoreTree(warm, "params/seg", start.seg, phase.from) };
    optState = {
      ...optState,
      seg: restoreTree(warm, "opt/seg", fresh.optState.seg, phase.from),
    };
  } else if (o.initFrom) {
    const seg = await initSegFrom(o.initFrom, params.seg);
    dispose(params.seg);
    params = { ...params, seg };
    log(`${phase.name}: G initialised from ${o.initFrom}`);
  } else if (o.backbone === "mobilenetv2" && o.pretrained) {
    const { params: backbone } = await loadMobileNetV2Weights();
    dispose(params.seg.backbone);
    params = { ...params, seg: { ...params.seg, backbone: backbone as MobileNetV2Params } };
    log(`${phase.name}: MobileNetV2 backbone from ImageNet weights (npm:nsfwjs)`);
  }
  return { params, optState, step: 0, resumed: false };
}

/** The phase's batch streams from `step` on: source (unless the oracle) and target (if read). */
function phaseStreams(run: RunContext, phase: Phase, step: number) {
  const { o, data } = run;
  const definition = METHOD_DEFINITIONS[phase.method];
  const supervisedByTarget = definition.supervision === "target";
  const stream = (dataset: Dataset, k: Key) =>
    trainingBatches(dataset, data, {
      key: k,
      batchSize: o.batch,
      start: (phase.offset + step) * o.batch,
      batches: phase.steps - step,
    });
  return {
    supervisedByTarget,
    sources: supervisedByTarget ? undefined : stream(data.source, run.keys.source),
    targets: definition.reads.target
      ? stream(supervisedByTarget ? data.targetLabelled! : data.target, run.keys.target)
      : undefined,
  };
}

/** The step's batch: only the oracle is handed target labels, and it reads no source batch. */
function stepBatch(s: Batch | undefined, t: Batch | undefined, supervisedByTarget: boolean) {
  const labelled = (s ?? t)!;
  const batch: StepBatch = {
    source: { images: labelled.images, labels: labelled.labels! },
    target: t
      ? { images: t.images, ...(supervisedByTarget ? { labels: t.labels } : {}) }
      : { images: labelled.images },
  };
  return batch;
}

/**
 * The step's metrics as numbers for the log, and why the step must not be
 * kept (a non-finite loss, parameter or optimizer state), if so.
 */
async function readStep(metrics: Parameters<typeof readMetrics>[0]) {
  const values = await readMetrics(metrics);
  const problem = stepProblem(values);
  delete values.stateCheck;
  // metrics.jsonl keeps K × C make-ups flat, row by row, as runs have always stored them.
  if (Array.isArray(values.groupClasses)) values.groupClasses = values.groupClasses.flat();
  return { values: values as Record<string, number | number[]>, problem };
}

/** Writes the phase's checkpoint, with the options and the class list beside the weights. */
async function savePhase(
  run: RunContext,
  phase: Phase,
  path: string,
  state: { params: Params; optState: OptStates; step: number; done: boolean },
): Promise<void> {
  const { params, optState, step, done } = state;
  await run.beforeSave();
  await saveCheckpoint(path, {
    // The class list travels with the weights: prediction works after the data moved.
    config: { ...run.resolved, classes: tableToJson(run.data.classes) },
    position: {
      phase: phase.name,
      step,
      done,
      globalStep: phase.offset + step,
      key: run.keys.root,
    },
    tensors: { params, opt: optState },
  });
}

/** `--eval-every`: target mIoU on the monitored held-out samples, shown in the progress line. */
async function quickEvaluation(run: RunContext, params: Params): Promise<number> {
  const { o, classes, monitored, data, progress } = run;
  const quick = await evaluateSeg(params.seg, segConfig(o, classes), monitored, {
    samples: monitored.length,
    batch: 16,
    normalise: data.normalise,
  });
  const mIoU = quick.overall.meanIoU();
  progress.note(
    `target mIoU ${
      (100 * mIoU).toFixed(1)
    } (${monitored.length} samples of ${monitored.description})`,
  );
  return mIoU;
}

/**
 * Trains one phase to its end (or resumes it); returns its final parameters.
 *
 * @example
 * ```ts ignore
 * for (const phase of phases) run.finals.set(phase.name, await trainPhase(run, phase));
 * ```
 */
export async function trainPhase(run: RunContext, phase: Phase): Promise<Params> {
  const { o, classes, checkpoints, metrics: metricsLog, progress, interrupts } = run;
  const trainer = makeTrainer(methodConfig(o, phase.method, classes, phase.overrides));
  const path = join(checkpoints, `${phase.name}.ckpt`);
  let { params, optState, step, resumed } = await startPhase(
    run,
    phase,
    trainer.init(run.keys.init),
    path,
  );
  // The step of this phase's checkpoint on disk, where there is one.
  let saved: number | undefined = resumed ? step : undefined;
  const save = async (done: boolean) => {
    await savePhase(run, phase, path, { params, optState, step, done });
    saved = step;
  };
  const kept = () =>
    saved === undefined
      ? `No checkpoint of ${phase.name} was written yet (one every ${o.checkpointEvery} steps)` +
        (phase.from ? `; ${phase.from}'s is kept in ${checkpoints}` : "")
      : `The last good checkpoint (step ${saved}) is kept at ${path}`;
  const { sources, targets, supervisedByTarget } = phaseStreams(run, phase, step);
  progress.start(phase.name, step, phase.steps);
  while (step < phase.steps) {
    const stepStarted = performance.now();
    const s = sources ? (await sources.next()).value as Batch : undefined;
    const t = targets ? (await targets.next()).value as Batch : undefined;
    const [nextParams, nextOpt, metrics] = trainer.step(
      params,
      optState,
      stepBatch(s, t, supervisedByTarget),
    );
    const { values, problem } = await readStep(metrics);
    tf.dispose([s?.images, s?.labels, t?.images, t?.labels].filter((x) => x !== undefined));
    if (problem) {
      replace([nextParams, nextOpt, metrics], []);
      progress.stop();
      throw new Error(
        `${phase.name} step ${step + 1}: ${problem}; stopped, nothing of this step kept. ${kept()}`,
      );
    }
    [params, optState] = replace([params, optState, metrics], [nextParams, nextOpt]);
    step++;
    run.afterStep();
    const line: Record<string, unknown> = {
      phase: phase.name,
      step,
      global: phase.offset + step,
      ...values,
      ...residentMemory(),
      tensors: tf.memory().numTensors,
      // Wall time of the step, batch loading included (what a soak watches for a slowdown).
      stepMs: Math.round(10 * (performance.now() - stepStarted)) / 10,
    };
    progress.update(step, values);
    if (step % o.checkpointEvery === 0 || step === phase.steps) {
      await save(step === phase.steps);
    }
    if (o.evalEvery > 0 && (step % o.evalEvery === 0 || step === phase.steps)) {
      line.targetMIoU = await quickEvaluation(run, params);
    }
    await metricsLog.append(line);
    const signal = interrupts.pending();
    if (signal) {
      if (saved !== step) await save(step === phase.steps);
      progress.stop();
      throw new Interrupted(
        signal,
        `${signal}: stopped after ${phase.name} step ${step} of ${phase.steps}; ` +
          `checkpoint ${path}. Continue with the same flags and --resume.`,
      );
    }
  }
  progress.stop();
  await sources?.return(undefined);
  await targets?.return(undefined);
  dispose(optState);
  return params;
}
