/**
 * The training job behind `deno task train`: data, phases (a source-only
 * warm-up, then the method and, for comparison, a source-only baseline over
 * as many steps from the same warm-up), checkpoints, exact resume, evaluation
 * and the report. All the I/O of training lives here and in `data/`.
 *
 * @module
 */
import { join } from "node:path";
import { tf } from "../lib/tf.ts";
import { type Key, key as rootKey, split } from "../lib/random.ts";
import { replace } from "../lib/memory.ts";
import { residentMemory } from "./resources.ts";
import { dispose, type Tree } from "../lib/tree.ts";
import { type BackendInfo, useBackend } from "../lib/backend.ts";
import { applyDeepLab, type DeepLabConfig, type DeepLabParams } from "../model/deeplab.ts";
import type { MobileNetV2Params } from "../model/mobilenet_v2.ts";
import type { ResNetVariant } from "../model/resnet.ts";
import { type Batch as StepBatch, makeTrainer, type Params, readMetrics } from "../methods/step.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";
import { type Method, type MethodConfigInput, METHODS } from "../methods/config.ts";
import { TARGET_STYLES } from "../data/digits.ts";
import { type Dataset, subset } from "../data/datasets.ts";
import { type DataPlan, openData, type ReadObserver } from "../data/plan.ts";
import { tableToJson } from "../data/labels.ts";
import { type Batch, batches, type Normalisation, normalise } from "../data/stream.ts";
import { loadMobileNetV2Weights } from "../data/pretrained.ts";
import { type PanelColumn, panelSvg } from "../data/visualize.ts";
import { ConfusionMatrix, evaluate } from "../eval/metrics.ts";
import { strideOracle } from "../eval/stride_oracle.ts";
import {
  gapClosed,
  iouJson,
  iouTable,
  type SummaryRow,
  summaryTable,
  type TableRow,
} from "../eval/table.ts";
import { type Checkpoint, loadCheckpoint, restoreTree, saveCheckpoint } from "./checkpoint.ts";
import { loadSafetensors } from "./safetensors.ts";
import type { Options } from "./options.ts";
import { Progress } from "./progress.ts";
import {
  clearTemporaries,
  Interrupted,
  lockRunFolder,
  parseMetricsLog,
  resumeDifferences,
  watchInterrupts,
} from "./run_folder.ts";
import { svgDocument } from "./report.ts";

/** G's configuration from the options. */
export function segConfig(o: Options, classes: number): DeepLabConfig {
  const atrousRates = String(o.asppRates ?? "6,12,18,24").split(",").map(Number);
  return o.backbone === "mobilenetv2"
    ? { backbone: "mobilenetv2", classes, norm: o.norm as "batch", atrousRates }
    : {
      backbone: "resnet",
      depth: o.depth as 18,
      width: o.width,
      classes,
      norm: o.norm as "batch",
      variant: (o.resnetVariant ?? "default") as ResNetVariant,
      atrousRates,
    };
}

/** A method's configuration from the options, with a phase's variant overrides. */
export function methodConfig(
  o: Options,
  method: Method,
  classes: number,
  overrides: Partial<MethodConfigInput> = {},
): MethodConfigInput {
  return {
    ...methodOptions(o, method, classes),
    ...overrides,
  };
}

function methodOptions(o: Options, method: Method, classes: number): MethodConfigInput {
  return {
    method,
    seg: segConfig(o, classes),
    groups: o.groups,
    disc: { width: o.discWidth, mode: o.discMode as "shared" },
    discResolution: (method === "advEnt" ? o.adventDiscResolution : o.discResolution) as "output",
    lambdas: {
      adv: o.lambdaAdv,
      advEnt: o.lambdaAdvEnt,
      sc: o.lambdaSc,
      orth: o.lambdaOrth,
      bal: o.lambdaBal,
      ent: o.lambdaEnt,
    },
    consistency: o.consistency as "l1",
    groupDistribution: o.groupDistribution as "class",
    groupingLossesTrain: o.groupingLossesTrain as "G+C",
    classEquivalence: o.classEquivalence,
    optim: {
      segOptimizer: o.segOptimizer as "adam",
      segLr: o.segLr,
      headMultiplier: o.headMultiplier,
      discLr: o.discLr,
      steps: o.warmupSteps + o.steps,
      trainNormAffine: o.norm === "batch",
    },
  };
}

interface Phase {
  name: string;
  method: Method;
  steps: number;
  /** The phase whose final state this one starts from. */
  from?: string;
  /** Global step of this phase's first step (positions in the data streams). */
  offset: number;
  /** A variant's settings over the options'. */
  overrides?: Partial<MethodConfigInput>;
}

/**
 * Method variants that a phase name may ask for (`--also cdga.class`): the
 * method, then a dot and the variant.
 */
export const VARIANTS: Readonly<Record<string, Partial<MethodConfigInput>>> = {
  pixel: { groupDistribution: "pixel" },
  class: { groupDistribution: "class" },
  GC: { groupingLossesTrain: "G+C" },
};

function phaseSpec(name: string): { method: Method; overrides?: Partial<MethodConfigInput> } {
  const [method, variant, ...more] = name.split(".");
  if (!(METHODS as readonly string[]).includes(method) || more.length > 0) {
    throw new Error(
      `--also: unknown method ${JSON.stringify(name)} (one of ${METHODS.join(", ")}, ` +
        `optionally with a variant: ${Object.keys(VARIANTS).map((v) => `.${v}`).join(", ")})`,
    );
  }
  if (variant === undefined) return { method: method as Method };
  if (!VARIANTS[variant]) {
    throw new Error(
      `--also: unknown variant ${JSON.stringify(variant)} of ${method} (one of ${
        Object.keys(VARIANTS).join(", ")
      })`,
    );
  }
  return { method: method as Method, overrides: VARIANTS[variant] };
}

/** The phases of a run. */
export function phasesOf(o: Options): Phase[] {
  const phases: Phase[] = [];
  const from = o.warmupSteps > 0 ? "warmup" : undefined;
  if (o.warmupSteps > 0) {
    phases.push({ name: "warmup", method: "sourceOnly", steps: o.warmupSteps, offset: 0 });
  }
  const add = (name: string) => {
    if (phases.some((p) => p.name === name)) return;
    phases.push({ name, ...phaseSpec(name), steps: o.steps, from, offset: o.warmupSteps });
  };
  if (o.baseline === "sourceOnly" && o.method !== "sourceOnly") add("sourceOnly");
  const extra = o.also.split(",").map((m) => m.trim()).filter(Boolean);
  for (const m of [...extra, o.method]) add(m);
  if (o.oracle && o.method !== "oracle") add("oracle");
  return phases;
}

/** Per-style and overall confusion matrices of G on a labelled data set. */
export async function evaluateSeg(
  seg: DeepLabParams,
  config: DeepLabConfig,
  data: Dataset,
  options: { samples: number; batch: number; normalise: Normalisation; keep?: number },
): Promise<
  {
    overall: ConfusionMatrix;
    byStyle: Map<string, ConfusionMatrix>;
    kept: {
      name: string;
      style?: string;
      width: number;
      height: number;
      image: Uint8Array;
      label: Uint8Array;
      prediction: Uint8Array;
    }[];
  }
> {
  const classes = data.classes.names.length;
  const overall = new ConfusionMatrix(classes);
  const byStyle = new Map<string, ConfusionMatrix>();
  const kept: Awaited<ReturnType<typeof evaluateSeg>>["kept"] = [];
  const keepPerStyle = new Map<string, number>();
  const count = Math.min(options.samples, data.length);
  for (let start = 0; start < count; start += options.batch) {
    const size = Math.min(options.batch, count - start);
    const samples = await Promise.all(Array.from({ length: size }, (_, i) => data.get(start + i)));
    const { width, height } = samples[0];
    const sameSize = samples.every((s) => s.width === width && s.height === height);
    const groups = sameSize ? [samples] : samples.map((s) => [s]);
    for (const group of groups) {
      const [w, h] = [group[0].width, group[0].height];
      const pixels = new Float32Array(group.length * w * h * 3);
      group.forEach((s, i) => pixels.set(normalise(s.image, options.normalise), i * w * h * 3));
      const predicted = tf.tidy(() => {
        const images = tf.tensor4d(pixels, [group.length, h, w, 3]);
        const { logits } = applyDeepLab(seg, images, config);
        const up = tf.image.resizeBilinear(logits as tf.Tensor4D, [h, w], false, true);
        return tf.argMax(up, -1);
      });
      const values = await predicted.data();
      predicted.dispose();
      group.forEach((s, i) => {
        const prediction = Uint8Array.from(values.subarray(i * w * h, (i + 1) * w * h));
        if (!s.label) {
          throw new Error(`${data.description}: ${s.name} has no labels to evaluate against`);
        }
        overall.add(prediction, s.label);
        const style = s.style ?? "all";
        if (s.style) {
          if (!byStyle.has(style)) byStyle.set(style, new ConfusionMatrix(classes));
          byStyle.get(style)!.add(prediction, s.label);
        }
        const n = keepPerStyle.get(style) ?? 0;
        if (n < (options.keep ?? 0)) {
          keepPerStyle.set(style, n + 1);
          kept.push({
            name: s.name,
            style: s.style,
            width: w,
            height: h,
            image: s.image,
            label: s.label,
            prediction,
          });
        }
      });
    }
  }
  return { overall, byStyle, kept };
}

/** Whether a file or folder exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Loads G's weights from a checkpoint or a .safetensors file over `seg`. */
export async function initSegFrom(path: string, seg: DeepLabParams): Promise<DeepLabParams> {
  if (path.endsWith(".safetensors")) return await loadSafetensors(path, seg);
  const checkpoint = await loadCheckpoint(path);
  return restoreTree(checkpoint, "params/seg", seg, path);
}

/** What a caller may watch of a run (tests record the files each split reads). */
export interface RunHooks {
  /** Sees each file a split reads, with the split's role (`source/train`, `target/eval`, …). */
  observe?: ReadObserver;
}

/** Runs the whole job; returns the run folder. */
export async function runTraining(
  o: Options,
  log: (line: string) => void = console.log,
  hooks: RunHooks = {},
): Promise<string> {
  const backend: BackendInfo = await useBackend(o.backend as "auto", {
    threads: o.threads > 0 ? o.threads : undefined,
    ourKernels: !o.tfjsKernels,
  });
  if (backend.name === "webgpu" && backend.detail.endsWith("(software)")) {
    log(
      `warning: webgpu runs on a software adapter (${backend.detail}): expect it many times ` +
        "slower than --backend wasm",
    );
  }
  const root = rootKey(o.seed);
  const [initKey, dataKey, sourceKey, targetKey] = split(root, 4);
  const data = await openData(o, dataKey, hooks.observe);
  const classes = data.classes.names.length;
  const runName = o.name ?? `${o.method}-${o.dataset}-seed${o.seed}`;
  if (runName === "" || runName === "." || runName === "..") {
    throw new Error(`--name ${JSON.stringify(runName)}: a run needs a folder name of its own`);
  }
  const runDir = join(o.out, runName);
  const checkpoints = join(runDir, "checkpoints");
  const metricsPath = join(runDir, "metrics.jsonl");
  if (!o.resume && await exists(checkpoints)) {
    throw new Error(
      `${runDir} already holds a run: pass --resume to continue it, or another --name`,
    );
  }
  if (o.resume && !(await exists(checkpoints))) {
    throw new Error(`${runDir}: nothing to resume (no checkpoints folder)`);
  }
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
    ...o,
    resume: undefined,
    acceptChanges: undefined,
    config: undefined,
    help: undefined,
  };
  // On a resume the run's config.json changes only with the first checkpoint under accepted changes.
  let configPending = !o.resume;
  if (o.resume) {
    const stored = await storedOptions(runDir);
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

  const madeFolder = !(await exists(runDir));
  try {
    await Deno.mkdir(runDir, { recursive: true });
    await Deno.stat(runDir);
  } catch (error) {
    const why =
      error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
        ? "this location cannot be written"
        : (error as Error).message;
    throw new Error(`${runDir}: cannot make the run folder there (${why}); choose another --out`);
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
    if (o.resume && !(await exists(checkpoints))) {
      throw new Error(`${runDir}: nothing to resume (no checkpoints folder)`);
    }
    if (!o.resume && await exists(checkpoints)) {
      throw new Error(
        `${runDir} already holds a run: pass --resume to continue it, or another --name`,
      );
    }
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
    if (!o.resume || !(await exists(join(runDir, "splits.json")))) {
      await Deno.writeTextFile(
        join(runDir, "splits.json"),
        JSON.stringify(data.splits, null, 2) + "\n",
      );
    }
    log(`run folder: ${runDir}`);
    log(
      `backend: ${backend.name} (${backend.detail}); data: ${data.source.description} → ${data.target.description}`,
    );
    log(
      `scored: ${data.test.description}, ${data.test.length} images` +
        (data.sourceTest ? `; ${data.sourceTest.description}` : "") +
        (data.validation ? `; validation: ${data.validation.description}` : ""),
    );

    // Metric lines written after the checkpoint we resume from are dropped.
    let history: Record<string, unknown>[] = [];
    if (o.resume && await exists(metricsPath)) {
      const parsed = parseMetricsLog(await Deno.readTextFile(metricsPath), metricsPath);
      if (parsed.torn) log(`${metricsPath}: dropped a last line cut short by a kill`);
      history = parsed.lines;
    }
    const keptHistory: Record<string, unknown>[] = [];
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

    for (const phase of phases) {
      const trainer = makeTrainer(methodConfig(o, phase.method, classes, phase.overrides));
      const definition = METHOD_DEFINITIONS[phase.method];
      const supervisedByTarget = definition.supervision === "target";
      const path = join(checkpoints, `${phase.name}.ckpt`);
      const fresh = trainer.init(initKey);
      let params: Params = fresh.params, optState = fresh.optState;
      let step = 0;
      let restored: Checkpoint | undefined;
      if (o.resume && await exists(path)) restored = await loadCheckpoint(path);
      if (restored) {
        params = restoreTree(restored, "params", fresh.params, path);
        optState = restoreTree(restored, "opt", fresh.optState, path);
        dispose([fresh.params, fresh.optState] as unknown as Tree);
        step = restored.position.step;
        log(`${phase.name}: resuming at step ${step} of ${phase.steps}`);
      } else if (phase.from) {
        const start = finals.get(phase.from);
        if (!start) throw new Error(`phase ${phase.name} needs ${phase.from} first`);
        // G (and its optimizer state) continue from the warm-up; C and D start fresh.
        dispose([params.seg, optState.seg] as unknown as Tree);
        const warm = await loadCheckpoint(join(checkpoints, `${phase.from}.ckpt`));
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
      keptHistory.push(
        ...history.filter((h) => h.phase === phase.name && (h.step as number) <= step),
      );
      // The step of this phase's checkpoint on disk, where there is one.
      let saved: number | undefined = restored ? step : undefined;
      const save = async (done: boolean) => {
        if (configPending) await writeConfig();
        await saveCheckpoint(path, {
          // The class list travels with the weights: prediction works after the data moved.
          config: {
            ...resolved,
            classes: tableToJson(data.classes),
          },
          position: { phase: phase.name, step, done, globalStep: phase.offset + step, key: root },
          tensors: { params, opt: optState } as unknown as Tree,
        });
        saved = step;
      };
      const kept = () =>
        saved === undefined
          ? `No checkpoint of ${phase.name} was written yet (one every ${o.checkpointEvery} steps)` +
            (phase.from ? `; ${phase.from}'s is kept in ${checkpoints}` : "")
          : `The last good checkpoint (step ${saved}) is kept at ${path}`;
      await Deno.writeTextFile(
        metricsPath,
        keptHistory.map((h) => JSON.stringify(h) + "\n").join(""),
      );
      const remaining = phase.steps - step;
      const stream = (dataset: Dataset, k: Key) =>
        batches(dataset, {
          key: k,
          batchSize: o.batch,
          shuffle: o.dataset !== "digits",
          crop: data.crop,
          scale: data.scale,
          flip: data.flip,
          normalise: data.normalise,
          start: (phase.offset + step) * o.batch,
          batches: remaining,
        });
      const sources = supervisedByTarget ? undefined : stream(data.source, sourceKey);
      const targets = definition.reads.target
        ? stream(supervisedByTarget ? data.targetLabelled! : data.target, targetKey)
        : undefined;
      progress.start(phase.name, step, phase.steps);
      while (step < phase.steps) {
        const s = sources ? (await sources.next()).value as Batch : undefined;
        const t = targets ? (await targets.next()).value as Batch : undefined;
        // Only the oracle is handed target labels; it reads no source batch.
        const labelled = (s ?? t)!;
        const batch: StepBatch = {
          source: { images: labelled.images, labels: labelled.labels! },
          target: t
            ? { images: t.images, ...(supervisedByTarget ? { labels: t.labels } : {}) }
            : { images: labelled.images },
        };
        const [nextParams, nextOpt, metrics] = trainer.step(params, optState, batch);
        const values = await readMetrics(metrics);
        const stateCheck = values.stateCheck;
        delete values.stateCheck;
        const bad = Object.entries(values).find(([, v]) =>
          [v].flat().some((x) => !Number.isFinite(x))
        );
        tf.dispose([s?.images, s?.labels, t?.images, t?.labels].filter((x) => x !== undefined));
        if (bad || (stateCheck !== undefined && !Number.isFinite(stateCheck as number))) {
          replace([nextParams, nextOpt, metrics], []);
          progress.stop();
          throw new Error(
            `${phase.name} step ${step + 1}: ${
              bad
                ? `loss '${bad[0]}' is ${bad[1]}`
                : "the updated parameters or optimizer state hold non-finite values"
            }; stopped, nothing of this step kept. ${kept()}`,
          );
        }
        [params, optState] = replace([params, optState, metrics], [nextParams, nextOpt]);
        step++;
        trainedAStep = true;
        const line: Record<string, unknown> = {
          phase: phase.name,
          step,
          global: phase.offset + step,
          ...values,
          ...residentMemory(),
          tensors: tf.memory().numTensors,
        };
        progress.update(step, values);
        if (step % o.checkpointEvery === 0 || step === phase.steps) {
          await save(step === phase.steps);
        }
        if (o.evalEvery > 0 && (step % o.evalEvery === 0 || step === phase.steps)) {
          const quick = await evaluateSeg(params.seg, segConfig(o, classes), monitored, {
            samples: monitored.length,
            batch: 16,
            normalise: data.normalise,
          });
          line.targetMIoU = quick.overall.meanIoU();
          progress.note(
            `target mIoU ${
              (100 * (line.targetMIoU as number)).toFixed(1)
            } (${monitored.length} samples of ${monitored.description})`,
          );
        }
        keptHistory.push(line);
        await Deno.writeTextFile(metricsPath, JSON.stringify(line) + "\n", { append: true });
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
      finals.set(phase.name, params);
      dispose(optState as unknown as Tree);
    }

    // Final evaluation of every phase after the warm-up, on the whole held-out
    // target split and, where there is one, the held-out source split.
    const rows: Record<string, TableRow[]> = { overall: [] };
    const sourceRows: TableRow[] = [];
    const names = data.classes.names;
    const results: Record<
      string,
      {
        steps: number;
        groupUsage?: number[];
        groupClasses?: number[][];
        disc?: number;
        discAccuracy?: number;
      }
    > = {};
    const labelOf = (name: string) => LABELS[name] ?? name;
    const evaluated = phases.filter((p) => p.name !== "warmup" || phases.length === 1);
    const miou: Record<
      string,
      { target: number; styles: Record<string, number>; source: number; validation: number }
    > = {};
    // One panel per kept target sample: image | ground truth | every model's prediction.
    const panels = new Map<
      string,
      {
        name: string;
        style?: string;
        width: number;
        height: number;
        image: Uint8Array;
        label: Uint8Array;
        columns: PanelColumn[];
      }
    >();
    for (const phase of evaluated) {
      const signal = interrupts.pending();
      if (signal) {
        throw new Interrupted(
          signal,
          `${signal}: stopped during the final evaluation; every phase is trained and saved in ` +
            `${checkpoints}. Run again with the same flags and --resume to write the report.`,
        );
      }
      const params = finals.get(phase.name)!;
      const config = segConfig(o, classes);
      const result = await evaluateSeg(params.seg, config, data.test, {
        samples: data.test.length,
        batch: 16,
        normalise: data.normalise,
        keep: 2,
      });
      const label = labelOf(phase.name);
      rows.overall.push({
        name: label,
        evaluation: evaluate(result.overall, names, data.protocols),
      });
      const styles: Record<string, number> = {};
      for (const [style, matrix] of result.byStyle) {
        (rows[style] ??= []).push({
          name: label,
          evaluation: evaluate(matrix, names, data.protocols),
        });
        styles[style] = matrix.meanIoU();
      }
      let source = NaN;
      if (data.sourceTest) {
        const held = await evaluateSeg(params.seg, config, data.sourceTest, {
          samples: data.sourceTest.length,
          batch: 16,
          normalise: data.normalise,
        });
        sourceRows.push({ name: label, evaluation: evaluate(held.overall, names, data.protocols) });
        source = held.overall.meanIoU();
      }
      const ordered = Object.fromEntries(
        [...TARGET_STYLES, ...Object.keys(styles).sort()].filter((k, i, all) =>
          k in styles && all.indexOf(k) === i
        ).map((k) => [k, styles[k]]),
      );
      // The validation split, where it is not the one reported: what settings are chosen on.
      let validation = NaN;
      if (data.validation && o.evaluateOn !== "val") {
        const val = await evaluateSeg(params.seg, config, data.validation, {
          samples: data.validation.length,
          batch: 16,
          normalise: data.normalise,
        });
        validation = val.overall.meanIoU();
      }
      miou[phase.name] = {
        target: result.overall.meanIoU(),
        styles: ordered,
        source,
        validation,
      };
      for (const kept of result.kept) {
        const id = `${kept.style ?? "all"}_${kept.name.replace(/\.png$/i, "")}`;
        if (!panels.has(id)) panels.set(id, { ...kept, columns: [] });
        panels.get(id)!.columns.push({ title: label, classes: kept.prediction });
      }
      const history = keptHistory.filter((h) => h.phase === phase.name);
      const last = history.at(-1);
      const usage = history.filter((h) => Array.isArray(h.groupUsage)).at(-1)?.groupUsage as
        | number[]
        | undefined;
      // Each group's class make-up, averaged over the phase's last 50 steps.
      const makeUps = history.filter((h) => Array.isArray(h.groupClasses)).slice(-50)
        .map((h) => h.groupClasses as number[]);
      // A class absent from a step's batch has no make-up there: average over the steps that had it.
      const present = (m: number[], c: number) =>
        m.reduce((sum, v, i) => (i % classes === c ? sum + v : sum), 0) > 0.5;
      const groupClasses = makeUps.length > 0
        ? Array.from({ length: o.groups }, (_, k) =>
          Array.from({ length: classes }, (_, c) => {
            const steps = makeUps.filter((m) => present(m, c));
            return steps.reduce((sum, m) => sum + m[k * classes + c], 0) /
              Math.max(1, steps.length);
          }))
        : undefined;
      results[phase.name] = {
        steps: phase.offset + phase.steps,
        groupUsage: usage,
        groupClasses,
        disc: typeof last?.disc === "number" ? last.disc : undefined,
        discAccuracy: typeof last?.discAccuracy === "number" ? last.discAccuracy : undefined,
      };
    }
    const panelFiles: string[] = [];
    for (const [id, panel] of panels) {
      const file = join("predictions", `${id}.svg`);
      await Deno.writeTextFile(
        join(runDir, file),
        panelSvg(
          `${panel.style ?? "target"}: ${panel.name} (${data.test.description})`,
          panel.width,
          panel.height,
          [
            { title: "image", rgb: panel.image },
            { title: "ground truth", classes: panel.label },
            ...panel.columns,
          ],
          data.classes.names,
          data.classes.palette,
        ),
      );
      panelFiles.push(file);
    }
    // What a perfect stride-8 map would score on the held-out source split: the ceiling of its column.
    let strideBound: number | undefined;
    if (data.sourceTest) {
      const bound = new ConfusionMatrix(classes);
      for (let i = 0; i < data.sourceTest.length; i++) {
        const sample = await data.sourceTest.get(i);
        if (!sample.label) break;
        bound.add(
          strideOracle(sample.label, sample.width, sample.height, 8, classes),
          sample.label,
        );
      }
      strideBound = bound.meanIoU();
    }
    const lower = miou.sourceOnly, upper = miou.oracle;
    const summary: (SummaryRow & { phase: string; validation: number })[] = evaluated.map((
      phase,
    ) => ({
      phase: phase.name,
      name: labelOf(phase.name),
      ...miou[phase.name],
      gapClosed: lower && upper && phase.name !== "sourceOnly" && phase.name !== "oracle"
        ? gapClosed(miou[phase.name].target, lower.target, upper.target)
        : NaN,
    }));
    const styleOrder = [
      "overall",
      ...TARGET_STYLES.filter((s) => rows[s]),
      ...Object.keys(rows).filter((s) =>
        s !== "overall" && !(TARGET_STYLES as readonly string[]).includes(s)
      ).sort(),
    ];
    const tables = styleOrder.map((style) => `### Target: ${style}\n\n${iouTable(rows[style])}`);
    if (sourceRows.length > 0) {
      tables.push(`### Held-out source\n\n${iouTable(sourceRows)}`);
    }
    const summaryText = summaryTable(summary);
    const byPhase = (metric: string) =>
      phases.map((p) => ({
        name: `${p.name} ${metric}`,
        points: keptHistory.filter((h) => h.phase === p.name && typeof h[metric] === "number").map((
          h,
        ) => [h.global as number, h[metric] as number] as [number, number]),
      })).filter((s) => s.points.length > 0);
    const charts = [
      {
        title: "losses",
        series: ["seg", "adv", "sc", "orth", "bal", "ent"].flatMap(byPhase),
      },
      { title: "discriminator: loss L_D (chance: 2 ln 2 = 1.386)", series: byPhase("disc") },
      { title: "discriminator: accuracy on its batch", series: byPhase("discAccuracy") },
      {
        title: "group usage (CDGA)",
        series: Array.from({ length: o.groups }, (_, g) => ({
          name: `group ${g}`,
          points: keptHistory.filter((h) => Array.isArray(h.groupUsage)).map((h) =>
            [h.global as number, (h.groupUsage as number[])[g]] as [number, number]
          ),
        })).filter((s) => s.points.length > 0),
      },
      ...Array.from({ length: o.groups }, (_, g) => ({
        title: `group ${g}: class make-up (share of each class's source pixels in this group)`,
        series: names.map((className, c) => ({
          name: className,
          points: keptHistory.filter((h) => Array.isArray(h.groupClasses)).map((h) =>
            [h.global as number, (h.groupClasses as number[])[g * classes + c]] as [number, number]
          ),
        })).filter((s) => s.points.length > 0),
      })),
      {
        title: `target mIoU (${monitored.length} samples of ${monitored.description})`,
        series: phases.map((p) => ({
          name: p.name,
          points: keptHistory.filter((h) => h.phase === p.name && typeof h.targetMIoU === "number")
            .map((h) => [h.global as number, h.targetMIoU as number] as [number, number]),
        })),
      },
    ].filter((chart) => chart.series.length > 0);
    await Deno.writeTextFile(join(runDir, "plot.svg"), svgDocument(charts));
    const makeUp = Object.entries(results).filter(([, r]) => r.groupClasses).map(([name, r]) =>
      [
        `### Groups of ${labelOf(name)}: usage and class make-up`,
        "",
        "Share of each class's source pixels (training batches) that each group holds (columns sum to 100%), " +
        "over the last 50 steps, and each group's share of all pixels (usage).",
        "",
        groupTable(r.groupClasses!, r.groupUsage, names),
        "",
      ].join("\n")
    );
    const discLines = Object.entries(results).filter(([, r]) => r.disc !== undefined).map((
      [name, r],
    ) =>
      `- ${labelOf(name)}: L_D ${r.disc!.toFixed(3)}, D's accuracy ${
        (100 * (r.discAccuracy ?? NaN)).toFixed(0)
      }% at the last step`
    );
    const markdown = [
      `# Run ${runName}`,
      "",
      `${o.dataset}: ${
        phases.map((p) => `${p.name} (${p.steps} steps${p.from ? ` from ${p.from}` : ""})`).join(
          ", ",
        )
      }; ` +
      `backbone ${o.backbone}${
        o.backbone === "resnet" ? `-${o.depth} ×${o.width}` : ""
      }, batch ${o.batch}, seed ${o.seed}, backend ${backend.name}.`,
      `mIoU (%) of the final models (no checkpoint picked on an evaluation split) on the held-out ` +
      `target split (${data.test.description}, ${data.test.length} images)` +
      (data.sourceTest
        ? ` and the held-out source split (${data.sourceTest.description}, ${data.sourceTest.length} images)`
        : "") +
      (data.validation && o.evaluateOn !== "val"
        ? `; validation: ${data.validation.description}, ${data.validation.length} images`
        : "") +
      `; gap closed = (method − source only) / (oracle − source only). ` +
      "No scored image is read by training; `splits.json` lists the files of every split.",
      "",
      summaryText,
      "",
      ...(strideBound !== undefined
        ? [
          `Output-stride bound on the held-out source split (a perfect stride-8 class map, ` +
          `upsampled): ${(100 * strideBound).toFixed(1)}% mIoU.`,
          "",
        ]
        : []),
      ...(discLines.length > 0 ? ["Discriminators at the end:", "", ...discLines, ""] : []),
      "Per-class IoU (%):",
      "",
      ...tables.flatMap((t) => [t, ""]),
      ...makeUp,
      "## Over the steps",
      "",
      "![losses, discriminators, group usage and make-up, target mIoU over the steps](plot.svg)",
      "",
      "## Predictions on held-out target images",
      "",
      "Image, ground truth, and every model's prediction (the first two images of each sub-domain).",
      "",
      ...panelFiles.map((f) => `![${f}](${f})\n`),
    ].join("\n");
    await Deno.writeTextFile(join(runDir, "report.md"), markdown);
    await Deno.writeTextFile(
      join(runDir, "report.json"),
      JSON.stringify(
        {
          run: runName,
          phases,
          results,
          summary: summary.map((r) => ({
            ...r,
            source: Number.isNaN(r.source) ? null : r.source,
            gapClosed: Number.isNaN(r.gapClosed) ? null : r.gapClosed,
            validation: Number.isNaN(r.validation) ? null : r.validation,
          })),
          strideBound: strideBound ?? null,
          scored: {
            target: `${data.test.description}, ${data.test.length} images`,
            source: data.sourceTest
              ? `${data.sourceTest.description}, ${data.sourceTest.length} images`
              : null,
            validation: data.validation && o.evaluateOn !== "val"
              ? `${data.validation.description}, ${data.validation.length} images`
              : null,
          },
          tables: Object.fromEntries(styleOrder.map((s) => [s, iouJson(rows[s])])),
          ...(sourceRows.length > 0 ? { source: iouJson(sourceRows) } : {}),
        },
        null,
        2,
      ) + "\n",
    );
    for (const params of finals.values()) dispose(params as unknown as Tree);
    log("");
    for (const t of tables) log(t + "\n");
    log(summaryText + "\n");
    if (strideBound !== undefined) {
      log(
        `output-stride bound on the held-out source split: ${(100 * strideBound).toFixed(1)}% mIoU`,
      );
    }
    for (const line of discLines) log(line);
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

/** The options a run was made with (its `config.json`, else its first checkpoint's). */
async function storedOptions(runDir: string): Promise<Record<string, unknown>> {
  const path = join(runDir, "config.json");
  try {
    const parsed = JSON.parse(await Deno.readTextFile(path));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {
    // Fall back to a checkpoint's copy below.
  }
  for await (const entry of Deno.readDir(join(runDir, "checkpoints"))) {
    if (!entry.name.endsWith(".ckpt")) continue;
    const checkpoint = await loadCheckpoint(join(runDir, "checkpoints", entry.name));
    if (checkpoint.config && typeof checkpoint.config === "object") {
      const { classes: _classes, ...options } = checkpoint.config as Record<string, unknown>;
      return options;
    }
  }
  throw new Error(`${path}: cannot read the run's options (and no checkpoint carries them)`);
}

/** Reads every sample of the file-backed held-out splits; returns how many. */
async function checkHeldOut(data: DataPlan): Promise<number> {
  let count = 0;
  for (const split of [data.test, data.validation, data.sourceTest]) {
    if (!split?.files) continue;
    for (let i = 0; i < split.length; i++) {
      const sample = await split.get(i);
      if (!sample.label) throw new Error(`${split.description}: ${sample.name} has no labels`);
      count++;
    }
  }
  return count;
}

/** Row labels of the phases in tables. */
export const LABELS: Readonly<Record<string, string>> = {
  sourceOnly: "source only",
  adaptSegNet: "AdaptSegNet",
  advEnt: "ADVENT (AdvEnt)",
  minEnt: "ADVENT (MinEnt)",
  cdga: "CDGA",
  "cdga.pixel": "CDGA, pixel-weighted groups",
  "cdga.class": "CDGA, class-balanced groups",
  "cdga.GC": "CDGA, grouping losses train G and C",
  oracle: "target oracle",
};

/** A Markdown table of groups × classes (%), with each group's usage. */
function groupTable(makeUp: number[][], usage: number[] | undefined, names: readonly string[]) {
  const header = ["group", "usage", ...names];
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...makeUp.map((row, k) =>
      `| ${
        [
          String(k),
          usage ? (100 * usage[k]).toFixed(1) : "–",
          ...row.map((v) => (100 * v).toFixed(0)),
        ].join(" | ")
      } |`
    ),
  ].join("\n");
}
