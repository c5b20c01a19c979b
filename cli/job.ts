/**
 * The training job behind `deno task train`: the backend, the data plan,
 * the run folder (locked, resumable, refused on changed options), the phases
 * (a source-only warm-up, then each method, the source-only baseline and the
 * target oracle from it: `cli/train_phase.ts`), the final evaluation
 * (`cli/final_evaluation.ts`) and the report (`cli/report.ts`).
 *
 * @module
 */
import { join } from "node:path";
import { dispose } from "../lib/tree.ts";
import { type BackendInfo, useBackend } from "../lib/backend.ts";
import type { Params } from "../methods/step.ts";
import { type Dataset, subset } from "../data/datasets.ts";
import {
  checkHeldOut,
  type DataPlan,
  openData,
  type ReadObserver,
  type SplitRecord,
} from "../data/plan.ts";
import { splitChanges, withFileSizes } from "../data/splits.ts";
import { DataError } from "../data/image_io.ts";
import { methodConfig, runKeys } from "./config.ts";
import { resolveConfig } from "../methods/config.ts";
import { makeTrainer } from "../methods/step.ts";
import { restoreTree } from "../io/checkpoint.ts";
import { loadWarmup } from "./warmup_from.ts";
import { evaluatePhases } from "./final_evaluation.ts";
import { type Options, OPTIONS_VERSION } from "./options.ts";
import { type Phase, phasesOf } from "./phases.ts";
import { MetricsLog } from "./metrics_log.ts";
import { writeProblem } from "./arguments.ts";
import { Progress } from "./progress.ts";
import { writeRunReport } from "./report.ts";
import {
  clearTemporaries,
  exists,
  lockRunFolder,
  resumeDifferences,
  storedOptions,
  watchInterrupts,
} from "./run_folder.ts";
import { checkResumable, type RunContext, trainPhase } from "./train_phase.ts";

/** What a caller may watch of a run (tests record the files each split reads). */
export interface RunHooks {
  /** Sees each file a split reads, with the split's role (`source/train`, `target/eval`, …). */
  observe?: ReadObserver;
}

/** Starts the backend the options name, warning where WebGPU runs on a software adapter. */
async function startBackend(o: Options, log: (line: string) => void): Promise<BackendInfo> {
  const backend: BackendInfo = await useBackend(o.backend, {
    threads: o.threads > 0 ? o.threads : undefined,
    nativeKernels: !o.tfjsKernels,
  });
  if (backend.name === "webgpu" && backend.detail.endsWith("(software)")) {
    log(
      `warning: webgpu runs on a software adapter (${backend.detail}): expect it many times ` +
        "slower than --backend wasm",
    );
  }
  return backend;
}

/** The phases to train: the oracle only where the target has labels to train it on. */
function trainablePhases(o: Options, data: DataPlan, log: (line: string) => void): Phase[] {
  return phasesOf(o).filter((phase) => {
    if (phase.method !== "oracle" || data.targetLabelled) return true;
    if (o.method === "oracle") {
      throw new Error(`--method oracle: ${data.target.description} has no target labels`);
    }
    log(`oracle: skipped (${data.target.description} has no labels to train it on)`);
    return false;
  });
}

/**
 * On a resume, the stored options against these: a change that alters the
 * result is refused unless `--accept-changes`. `configPending`: config.json
 * is to be written with the first checkpoint (a new run, or accepted
 * changes); `configBroken`: it is missing or unreadable, and is rebuilt
 * from the checkpoints' copy.
 */
async function checkResumedOptions(
  o: Options,
  runDir: string,
  resolved: Record<string, unknown>,
  log: (line: string) => void,
): Promise<{ configPending: boolean; configBroken: boolean }> {
  if (!o.resume) return { configPending: true, configBroken: false };
  const stored = await storedOptions(runDir);
  const configBroken = await Deno.readTextFile(join(runDir, "config.json")).then((text) => {
    const parsed = JSON.parse(text);
    return !parsed || typeof parsed !== "object" || Array.isArray(parsed);
  }).catch(() => true);
  const changes = resumeDifferences(stored, resolved);
  if (changes.length > 0 && !o.acceptChanges) {
    throw new Error(
      `${runDir}: --resume with options that change the result:\n  ${
        changes.join("\n  ")
      }\nGive them as the run has them, or add --accept-changes to continue with the new ones.`,
    );
  }
  for (const change of changes) log(`resume: accepted change ${change}`);
  return { configPending: changes.length > 0, configBroken };
}

/**
 * The splits as they are now, each file with its size; on a resume, checked
 * against the run's record of them. `pending`: splits.json is to be written.
 */
async function checkSplits(
  o: Options,
  data: DataPlan,
  runDir: string,
  log: (line: string) => void,
): Promise<{ splits: Record<string, SplitRecord>; splitsPath: string; pending: boolean }> {
  const splits = await withFileSizes(data.splits);
  const splitsPath = join(runDir, "splits.json");
  if (!o.resume || !(await exists(splitsPath))) return { splits, splitsPath, pending: true };
  let recorded: Record<string, SplitRecord>;
  try {
    recorded = JSON.parse(await Deno.readTextFile(splitsPath));
  } catch (error) {
    throw new DataError(
      splitsPath,
      `cannot be read (${
        (error as Error).message
      }); restore it, or delete it to record the splits as they are now`,
    );
  }
  const changed = splitChanges(recorded, splits);
  if (changed.length > 0 && !o.acceptChanges) {
    throw new Error(
      `${runDir}: --resume on data that changed since the run started (${splitsPath}):\n  ${
        changed.join("\n  ")
      }\nImages would move between training and scoring. Restore the data, or add --accept-changes to continue on the data as it is now.`,
    );
  }
  for (const change of changed) log(`resume: accepted changed split ${change}`);
  return { splits, splitsPath, pending: changed.length > 0 };
}

/** Makes and locks the run folder; `madeFolder`: it did not exist before. */
async function claimRunFolder(
  runDir: string,
): Promise<{ release: () => Promise<void>; madeFolder: boolean }> {
  const madeFolder = !(await exists(runDir));
  try {
    await Deno.mkdir(runDir, { recursive: true });
    await Deno.stat(runDir);
  } catch (error) {
    throw new Error(
      `${runDir}: cannot make the run folder there (${writeProblem(error)}); choose another --out`,
    );
  }
  try {
    return { release: await lockRunFolder(runDir), madeFolder };
  } catch (error) {
    if (madeFolder) await Deno.remove(runDir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/**
 * What intermediate evaluations watch: the validation split where there is
 * one, on evenly spaced samples of it (a split sorted by sub-domain is then
 * covered).
 */
function monitoredSplit(o: Options, data: DataPlan): Dataset {
  const watched = data.validation ?? data.test;
  return o.evalSamples < watched.length
    ? subset(
      watched,
      Array.from({ length: o.evalSamples }, (_, i) =>
        Math.floor((i * watched.length) / o.evalSamples)),
      watched.description,
    )
    : watched;
}

/** `--warmup-from`: another run's warm-up as this run's, checked against it. */
async function restoreWarmupFrom(run: RunContext, warmupFrom: string): Promise<void> {
  const { o, classes, keys } = run;
  const warm = await loadWarmup(warmupFrom, o);
  const template = makeTrainer(methodConfig(o, "sourceOnly", classes)).init(keys.init).params;
  run.finals.set("warmup", { seg: restoreTree(warm, "params/seg", template.seg, warmupFrom) });
  dispose(template);
  run.log(`warmup: from ${warmupFrom} (${o.warmupSteps} steps, checked against this run)`);
}

/**
 * A bad file of a held-out split, or a setting that cannot make a sample, is
 * found before anything is written.
 */
async function checkData(data: DataPlan, log: (line: string) => void): Promise<void> {
  const checked = await checkHeldOut(data);
  if (checked > 0) log(`held-out splits: ${checked} images and labels read and checked`);
  await data.source.get(0);
  await data.target.get(0);
}

/**
 * The metrics log: on a resume, everything it reads is checked first
 * (`checkResumable`) and the log is cut back to the checkpoints; else it
 * starts empty.
 */
async function startMetrics(run: RunContext, phases: Phase[]): Promise<void> {
  const keepMetric = run.o.resume ? await checkResumable(run, phases) : undefined;
  if (keepMetric && await exists(run.metrics.path)) await run.metrics.rewrite(keepMetric);
  else await run.metrics.reset();
}

/** The run's opening lines: where it writes, on what it runs, what it scores. */
function logStart(runDir: string, backend: BackendInfo, data: DataPlan, log: (l: string) => void) {
  log(`run folder: ${runDir}`);
  log(
    `backend: ${backend.name} (${backend.detail}); data: ${data.source.description} → ${data.target.description}`,
  );
  log(
    `scored: ${data.test.description}, ${data.test.length} images` +
      (data.sourceTest ? `; ${data.sourceTest.description}` : "") +
      (data.validation ? `; validation: ${data.validation.description}` : ""),
  );
}

/** The run's name and paths. */
function runPaths(o: Options) {
  const runName = o.name ?? `${o.method}-${o.dataset}-seed${o.seed}`;
  if (runName === "" || runName === "." || runName === "..") {
    throw new Error(`--name ${JSON.stringify(runName)}: a run needs a folder name of its own`);
  }
  const runDir = join(o.out, runName);
  return {
    runName,
    runDir,
    checkpoints: join(runDir, "checkpoints"),
    metricsPath: join(runDir, "metrics.jsonl"),
  };
}

/** A new run needs a folder without a run; a resume needs one with it. */
async function checkRunState(o: Options, runDir: string, checkpoints: string): Promise<void> {
  const started = await exists(checkpoints);
  if (!o.resume && started) {
    throw new Error(
      `${runDir} already holds a run: pass --resume to continue it, or another --name`,
    );
  }
  if (o.resume && !started) {
    throw new Error(`${runDir}: nothing to resume (no checkpoints folder)`);
  }
}

/** The options as config.json and every checkpoint store them (without the run-control flags). */
function storedForm(o: Options): Record<string, unknown> {
  return {
    optionsVersion: OPTIONS_VERSION,
    ...o,
    resume: undefined,
    acceptChanges: undefined,
    config: undefined,
    help: undefined,
  };
}

/** Clears a killed run's temporary files and makes the checkpoints and predictions folders. */
async function prepareFolder(runDir: string, checkpoints: string, log: (line: string) => void) {
  for (const dir of [runDir, checkpoints, join(runDir, "predictions")]) {
    for (const name of await clearTemporaries(dir)) log(`removed a stale temporary file ${name}`);
  }
  await Deno.mkdir(checkpoints, { recursive: true });
  await Deno.mkdir(join(runDir, "predictions"), { recursive: true });
}

/** Trains every phase (from `--warmup-from` where given), then evaluates and writes the report. */
async function trainAndReport(
  run: RunContext,
  phases: Phase[],
  where: { runDir: string; runName: string; backend: string },
  interrupts: ReturnType<typeof watchInterrupts>,
): Promise<void> {
  const { o, checkpoints, log } = run;
  if (o.warmupFrom) await restoreWarmupFrom(run, o.warmupFrom);
  for (const phase of phases) run.finals.set(phase.name, await trainPhase(run, phase));
  // Evaluation and report write nothing a resume needs: a signal now stops at once.
  interrupts.atOnce((signal) =>
    `${signal}: stopped during the final evaluation; every phase is trained and saved in ` +
    `${checkpoints}. Run again with the same flags and --resume to write the report.`
  );
  const evaluation = await evaluatePhases(run, phases);
  await writeRunReport(run, evaluation, phases, where);
  for (const params of run.finals.values()) dispose(params);
  log(`report: ${join(where.runDir, "report.md")}`);
  log(`run folder: ${where.runDir}`);
}

/**
 * Runs the whole job; returns the run folder.
 *
 * @example
 * ```ts ignore
 * const runDir = await runTraining(await parseOptions(["--steps", "100"]));
 * ```
 */
export async function runTraining(
  o: Options,
  log: (line: string) => void = console.log,
  hooks: RunHooks = {},
): Promise<string> {
  const backend = await startBackend(o, log);
  const keys = runKeys(o.seed);
  const data = await openData(o, keys.data, hooks.observe);
  const classes = data.classes.names.length;
  const { runName, runDir, checkpoints, metricsPath } = runPaths(o);
  // Checked before anything is written, and again once the folder is locked (another
  // process may have started the run in between).
  await checkRunState(o, runDir, checkpoints);
  const phases = trainablePhases(o, data, log);
  // Every phase's settings, checked against the data's class count before anything runs.
  for (const phase of phases) {
    resolveConfig(methodConfig(o, phase.method, classes, phase.overrides));
  }
  await checkData(data, log);
  const resolved = storedForm(o);
  // On a resume the run's config.json changes only with the first checkpoint under accepted changes.
  const resumed = await checkResumedOptions(o, runDir, resolved, log);
  let configPending = resumed.configPending;
  const splits = await checkSplits(o, data, runDir, log);
  const { release, madeFolder } = await claimRunFolder(runDir);
  const interrupts = watchInterrupts();
  let trainedAStep = false;
  try {
    await checkRunState(o, runDir, checkpoints);
    await prepareFolder(runDir, checkpoints, log);
    const writeConfig = async () => {
      await Deno.writeTextFile(
        join(runDir, "config.json"),
        JSON.stringify(resolved, null, 2) + "\n",
      );
      configPending = false;
    };
    if (!o.resume) await writeConfig();
    logStart(runDir, backend, data, log);
    const run: RunContext = {
      o,
      data,
      keys,
      classes,
      checkpoints,
      resolved,
      metrics: new MetricsLog(metricsPath),
      finals: new Map<string, Params>(),
      monitored: monitoredSplit(o, data),
      progress: new Progress(log),
      interrupts,
      log,
      beforeSave: async () => {
        if (configPending) await writeConfig();
      },
      afterStep: () => {
        trainedAStep = true;
      },
    };
    await startMetrics(run, phases);
    if (resumed.configBroken && !configPending) {
      await writeConfig();
      log(`${join(runDir, "config.json")} was missing or unreadable: rebuilt from the checkpoints`);
    }
    if (splits.pending) {
      await Deno.writeTextFile(splits.splitsPath, JSON.stringify(splits.splits, null, 2) + "\n");
    }
    await trainAndReport(run, phases, { runDir, runName, backend: backend.name }, interrupts);
    return runDir;
  } catch (error) {
    // A start that failed before its first step leaves no folder to block the rerun.
    if (madeFolder && !trainedAStep) {
      await Deno.remove(runDir, { recursive: true }).catch(() => {});
    }
    throw error;
  } finally {
    interrupts.stop();
    await release();
  }
}
