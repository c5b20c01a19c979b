/**
 * The training job's own step, timed: the default `deno task train` options
 * (CDGA, ResNet-18 ×0.25, batch 8 + 8 digits scenes of 64×64), on the active
 * backend. Batches are made before the clock starts, so the figure is the
 * step alone (`deno task bench` prints scene generation separately).
 *
 * @example
 * ```ts ignore
 * import { useBackend } from "../lib/backend.ts";
 * import { timeTrainingStep } from "./training_step.ts";
 * await useBackend("wasm");
 * const timing = await timeTrainingStep({ steps: 5, warmup: 1 });
 * console.log(timing.medianMs);
 * ```
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import { replace } from "../lib/memory.ts";
import { dispose } from "../lib/tree.ts";
import {
  type Batch as StepBatch,
  makeTrainer,
  type OptStates,
  type Params,
  type Trainer,
} from "../methods/step.ts";
import { batches } from "../data/stream.ts";
import { methodConfig, runKeys } from "../cli/config.ts";
import { openData } from "../data/plan.ts";
import { type Options, parseOptions } from "../cli/options.ts";
import { type Profile, profileOf } from "./profile.ts";
import { summarise } from "./stats.ts";

/** A training step ready to run: its options, trainer, initial state and batches. */
export interface StepSetup {
  o: Options;
  trainer: Trainer;
  params: Params;
  optState: OptStates;
  /** The first `count` batches of the run's streams, made ahead. */
  batches: StepBatch[];
}

/**
 * The training step of `deno task train` with `args`: G, C and D initialised
 * from the run's key, and its first `count` batches (source with labels,
 * target without), as the job would draw them.
 *
 * @example
 * ```ts ignore
 * import { stepSetup } from "./training_step.ts";
 * const { trainer, params, optState, batches } = await stepSetup(["--method", "cdga"], 1);
 * trainer.step(params, optState, batches[0]);
 * ```
 */
export async function stepSetup(args: string[], count: number): Promise<StepSetup> {
  const o = await parseOptions(args);
  const { init: initKey, data: dataKey, source: sourceKey, target: targetKey } = runKeys(o.seed);
  const data = await openData(o, dataKey);
  const trainer = makeTrainer(methodConfig(o, o.method, data.classes.names.length));
  const { params, optState } = trainer.init(initKey);
  const stream = (dataset: typeof data.source, k: typeof sourceKey) =>
    batches(dataset, {
      key: k,
      batchSize: o.batch,
      shuffle: false,
      normalise: data.normalise,
      batches: count,
    });
  const sources = stream(data.source, sourceKey), targets = stream(data.target, targetKey);
  const prepared: StepBatch[] = [];
  for (let i = 0; i < count; i++) {
    const s = (await sources.next()).value!, t = (await targets.next()).value!;
    t.labels?.dispose();
    prepared.push({
      source: { images: s.images, labels: s.labels! },
      target: { images: t.images },
    });
  }
  return { o, trainer, params, optState, batches: prepared };
}

/** What {@linkcode timeTrainingStep} measured. */
export interface StepTiming {
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** L_seg at the first and last timed step. */
  lossFirst: number;
  lossLast: number;
  /** Live tensors after each step (constant when nothing leaks). */
  tensorCounts: number[];
  /** The options the step ran with, in words. */
  detail: string;
  /** Per-kernel profile of one more step, when asked for. */
  profile?: Profile;
}

/**
 * Times `steps` steps of the default CDGA training step after `warmup`
 * untimed ones, on whatever backend is active.
 *
 * @example
 * ```ts ignore
 * import { timeTrainingStep } from "./training_step.ts";
 * console.log((await timeTrainingStep({ steps: 3, warmup: 1 })).detail);
 * ```
 */
export async function timeTrainingStep(
  options: {
    steps: number;
    warmup: number;
    method?: string;
    profile?: boolean;
    /** More `deno task train` flags (`--backbone mobilenetv2`, …). */
    args?: string[];
  },
): Promise<StepTiming> {
  const total = options.warmup + options.steps + (options.profile ? 1 : 0);
  const { o, trainer, params: initial, optState: initialState, batches: prepared } =
    await stepSetup([
      ...(options.method ? ["--method", options.method] : []),
      ...(options.args ?? []),
    ], total);
  let params = initial, optState = initialState;
  const times: number[] = [], losses: number[] = [], tensorCounts: number[] = [];
  for (let i = 0; i < options.warmup + options.steps; i++) {
    const start = performance.now();
    const [nextParams, nextOpt, metrics] = trainer.step(params, optState, prepared[i]);
    // Reading a loss waits for the backend, so the time is the whole step.
    const loss = (await metrics.seg.data())[0];
    [params, optState] = replace([params, optState, metrics], [nextParams, nextOpt]);
    if (i < options.warmup) continue;
    times.push(performance.now() - start);
    losses.push(loss);
    tensorCounts.push(tf.memory().numTensors);
  }
  const profile = options.profile
    ? await profileOf(() => {
      const [nextParams, nextOpt, metrics] = trainer.step(params, optState, prepared[total - 1]);
      [params, optState] = replace([params, optState, metrics], [nextParams, nextOpt]);
    })
    : undefined;
  dispose([params, optState, prepared]);
  return {
    ...summarise(times),
    lossFirst: losses[0],
    lossLast: losses[losses.length - 1],
    tensorCounts,
    profile,
    detail: `${o.method}, ${
      o.backbone === "resnet" ? `resnet-${o.depth} ×${o.width}` : o.backbone
    }, norm ${o.norm}, batch ${o.batch}+${o.batch} of ${o.canvas}×${o.canvas}`,
  };
}
