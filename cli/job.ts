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
import { subset } from "../data/datasets.ts";
import { checkHeldOut, openData, type ReadObserver, type SplitRecord } from "../data/plan.ts";
import { splitChanges, withFileSizes } from "../data/splits.ts";
import { DataError } from "../data/image_io.ts";
import { methodConfig, runKeys } from "./config.ts";
import { makeTrainer } from "../methods/step.ts";
import { restoreTree } from "../io/checkpoint.ts";
import { loadWarmup } from "./warmup_from.ts";
import { evaluatePhases } from "./final_evaluation.ts";
import { type Options, OPTIONS_VERSION } from "./options.ts";
import { phasesOf } from "./phases.ts";
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
  const backend: BackendInfo = await useBackend(o.backend, {
    threads: o.threads > 0 ? o.threads : undefined,
    ourKernels: !o.tfjsKernels,
  });
  if (backend.name === "webgpu" && backend.detail.endsWith("(software)")) {
    log(
      `warning: webgpu runs on a software adapter (${backend.detail}): expect it many times ` +
        "slower than --backend wasm",
    );
  }
  const keys = runKeys(o.seed);
  const data = await openData(o, keys.data, hooks.observe);
  const classes = data.classes.names.length;
  const runName = o.name ?? `${o.method}-${o.dataset}-seed${o.seed}`;
  if (runName === "" || runName === "." || runName === "..") {
    throw new Error(`--name ${JSON.stringify(runName)}: a run needs a folder name of its own`);
  }
  const runDir = join(o.out, runName);
  const checkpoints = join(runDir, "checkpoints");
  const metricsPath = join(runDir, "metrics.jsonl");
  // Checked before anything is written, and again once the folder is locked (another
  // process may have started the run in between).
  const checkRunState = async () => {
    const started = await exists(checkpoints);
    if (!o.resume && started) {
      throw new Error(
        `${runDir} already holds a run: pass --resume to continue it, or another --name`,
      );
    }
    if (o.resume && !started) {
      throw new Error(`${runDir}: nothing to resume (no checkpoints folder)`);
    }
  };
  await checkRunState();
  const phases = phasesOf(o).filter((phase) => {
    if (phase.method !== "oracle" || data.targetLabelled) return true;
    if (o.method === "oracle") {
      throw new Error(`--method oracle: ${data.target.description} has no target labels`);
    }
    log(`oracle: skipped (${data.target.description} has no labels to train it on)`);
    return false;
  });
  // A bad file of a held-out split, or a setting that cannot make a sample, is
  // found now, before anything is written.
  const checked = await checkHeldOut(data);
  if (checked > 0) log(`held-out splits: ${checked} images and labels read and checked`);
  await data.source.get(0);
  await data.target.get(0);
  const resolved = {
    optionsVersion: OPTIONS_VERSION,
    ...o,
    resume: undefined,
    acceptChanges: undefined,
    config: undefined,
    help: undefined,
  };
  // On a resume the run's config.json changes only with the first checkpoint under accepted changes.
  let configPending = !o.resume;
  // config.json missing or unreadable on a resume: rebuilt from the checkpoints' copy.
  let configBroken = false;
  if (o.resume) {
    const stored = await storedOptions(runDir);
    configBroken = await Deno.readTextFile(join(runDir, "config.json")).then((text) => {
      const parsed = JSON.parse(text);
      return !parsed || typeof parsed !== "object" || Array.isArray(parsed);
    }).catch(() => true);
    const changes = resumeDifferences(stored, resolved);
    configPending = changes.length > 0;
    if (changes.length > 0 && !o.acceptChanges) {
      throw new Error(
        `${runDir}: --resume with options that change the result:\n  ${
          changes.join("\n  ")
        }\nGive them as the run has them, or add --accept-changes to continue with the new ones.`,
      );
    }
    for (const change of changes) log(`resume: accepted change ${change}`);
  }
  // The splits as they are now, each file with its size; on a resume, as the run recorded them.
  const splits = await withFileSizes(data.splits);
  const splitsPath = join(runDir, "splits.json");
  let splitsPending = !o.resume || !(await exists(splitsPath));
  if (o.resume && !splitsPending) {
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
    splitsPending = changed.length > 0;
  }

  const madeFolder = !(await exists(runDir));
  try {
    await Deno.mkdir(runDir, { recursive: true });
    await Deno.stat(runDir);
  } catch (error) {
    throw new Error(
      `${runDir}: cannot make the run folder there (${writeProblem(error)}); choose another --out`,
    );
  }
  let release: () => Promise<void>;
  try {
    release = await lockRunFolder(runDir);
  } catch (error) {
    if (madeFolder) await Deno.remove(runDir, { recursive: true }).catch(() => {});
    throw error;
  }
  const interrupts = watchInterrupts();
  let trainedAStep = false;
  try {
    await checkRunState();
    for (const dir of [runDir, checkpoints, join(runDir, "predictions")]) {
      for (const name of await clearTemporaries(dir)) log(`removed a stale temporary file ${name}`);
    }
    await Deno.mkdir(checkpoints, { recursive: true });
    await Deno.mkdir(join(runDir, "predictions"), { recursive: true });
    const writeConfig = async () => {
      await Deno.writeTextFile(
        join(runDir, "config.json"),
        JSON.stringify(resolved, null, 2) + "\n",
      );
      configPending = false;
    };
    if (!o.resume) await writeConfig();
    log(`run folder: ${runDir}`);
    log(
      `backend: ${backend.name} (${backend.detail}); data: ${data.source.description} → ${data.target.description}`,
    );
    log(
      `scored: ${data.test.description}, ${data.test.length} images` +
        (data.sourceTest ? `; ${data.sourceTest.description}` : "") +
        (data.validation ? `; validation: ${data.validation.description}` : ""),
    );

    const metrics = new MetricsLog(metricsPath);
    const progress = new Progress(log);
    // Intermediate evaluations watch the validation split where there is one, on
    // evenly spaced samples of it (a split sorted by sub-domain is then covered).
    const watched = data.validation ?? data.test;
    const monitored = o.evalSamples < watched.length
      ? subset(
        watched,
        Array.from({ length: o.evalSamples }, (_, i) =>
          Math.floor((i * watched.length) / o.evalSamples)),
        watched.description,
      )
      : watched;
    const finals = new Map<string, Params>();
    const run: RunContext = {
      o,
      data,
      keys,
      classes,
      checkpoints,
      resolved,
      metrics,
      finals,
      monitored,
      progress,
      interrupts,
      log,
      beforeSave: async () => {
        if (configPending) await writeConfig();
      },
      afterStep: () => {
        trainedAStep = true;
      },
    };
    // Everything a resume reads is checked before anything is written.
    const keepMetric = o.resume ? await checkResumable(run, phases) : undefined;
    if (keepMetric && await exists(metricsPath)) await metrics.rewrite(keepMetric);
    else await metrics.reset();
    if (configBroken && !configPending) {
      await writeConfig();
      log(`${join(runDir, "config.json")} was missing or unreadable: rebuilt from the checkpoints`);
    }
    if (splitsPending) {
      await Deno.writeTextFile(splitsPath, JSON.stringify(splits, null, 2) + "\n");
    }
    if (o.warmupFrom) {
      const warm = await loadWarmup(o.warmupFrom, o);
      const template = makeTrainer(methodConfig(o, "sourceOnly", classes)).init(keys.init).params;
      finals.set("warmup", { seg: restoreTree(warm, "params/seg", template.seg, o.warmupFrom) });
      dispose(template);
      log(`warmup: from ${o.warmupFrom} (${o.warmupSteps} steps, checked against this run)`);
    }
    for (const phase of phases) finals.set(phase.name, await trainPhase(run, phase));
    // Evaluation and report write nothing a resume needs: a signal now stops at once.
    interrupts.atOnce((signal) =>
      `${signal}: stopped during the final evaluation; every phase is trained and saved in ` +
      `${checkpoints}. Run again with the same flags and --resume to write the report.`
    );
    const evaluation = await evaluatePhases(run, phases);
    await writeRunReport(run, evaluation, phases, { runDir, runName, backend: backend.name });
    for (const params of finals.values()) dispose(params);
    log(`report: ${join(runDir, "report.md")}`);
    log(`run folder: ${runDir}`);
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
