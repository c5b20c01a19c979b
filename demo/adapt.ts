/**
 * Live adaptation for the demo page: from a checkpoint, a method's training
 * steps (`makeTrainer`'s `step`, as `deno task train` runs them) on the
 * benchmark's source scenes and either the user's target images or the
 * benchmark's own target scenes, stoppable between steps, and the adapted
 * state as a checkpoint in the project's format.
 *
 * The same class runs in Deno (the browser tests compare the page's losses
 * with it) and in the page's worker.
 *
 * @example Five CDGA steps from a checkpoint (`ckpt`, decoded) of the digits benchmark
 * ```ts ignore
 * const data = await openData(options, runKeys(options.seed).data);
 * const session = await AdaptSession.open(ckpt, "cdga.ckpt", { method: "cdga", data });
 * await session.run({ steps: 5, every: 5, targets: [] }, (progress) => console.log(progress.metrics));
 * ```
 *
 * @module
 */
import {
  type Checkpoint,
  disposeAll,
  encodeCheckpoint,
  makeTrainer,
  normalise,
  type OptStates,
  type Params,
  readMetrics,
  replace,
  restoreTree,
  stepProblem,
  tf,
  type Trainer,
} from "../mod.ts";
import { type Options, optionsFromStored } from "../cli/options.ts";
import { methodConfig, runKeys, segConfig } from "../cli/config.ts";
import type { RestoredSeg } from "../cli/restore.ts";
import type { DataPlan } from "../data/plan.ts";
import { type Batch, trainingBatches } from "../data/stream.ts";
import { predictImage } from "./worker_predict.ts";
import type { Progress, RgbImage } from "./protocol.ts";

/** The methods the page adapts with. */
export type PageMethod = "cdga" | "adaptSegNet";

/** What one adaptation request asks for. */
export interface AdaptRequest {
  steps: number;
  every: number;
  targets: RgbImage[];
  image?: RgbImage;
}

/** A method's trainer on a checkpoint's state, stepping on. */
export class AdaptSession {
  readonly method: PageMethod;
  readonly #options: Options;
  readonly #checkpoint: Checkpoint;
  readonly #data: DataPlan;
  readonly #trainer: Trainer;
  #params: Params;
  #optState: OptStates;
  #step = 0;
  #stopping = false;
  #sources: AsyncGenerator<Batch>;
  #targets: AsyncGenerator<Batch>;

  private constructor(
    method: PageMethod,
    checkpoint: Checkpoint,
    options: Options,
    data: DataPlan,
    trainer: Trainer,
    state: { params: Params; optState: OptStates },
  ) {
    this.method = method;
    this.#checkpoint = checkpoint;
    this.#options = options;
    this.#data = data;
    this.#trainer = trainer;
    this.#params = state.params;
    this.#optState = state.optState;
    const keys = runKeys(options.seed);
    const stream = (dataset: DataPlan["source"], key: typeof keys.source) =>
      trainingBatches(dataset, data, { key, batchSize: options.batch });
    this.#sources = stream(data.source, keys.source);
    this.#targets = stream(data.target, keys.target);
  }

  /**
   * A session of `method` from `checkpoint`: every part restored where the
   * checkpoint is that method's own (continuing it), otherwise G and its
   * optimiser state from the checkpoint and the method's other parts new,
   * as a run's phase starts from the warm-up.
   */
  static open(
    checkpoint: Checkpoint,
    path: string,
    how: { method: PageMethod; data: DataPlan },
  ): Promise<AdaptSession> {
    const options = optionsFromStored(checkpoint.config as Record<string, unknown>, path);
    const classes = how.data.classes.names.length;
    const trainer = makeTrainer(methodConfig(options, how.method, classes));
    const fresh = trainer.init(runKeys(options.seed).init);
    let state: { params: Params; optState: OptStates };
    if (checkpoint.position.phase === how.method) {
      state = {
        params: restoreTree(checkpoint, "params", fresh.params, path),
        optState: restoreTree(checkpoint, "opt", fresh.optState, path),
      };
      disposeAll([fresh.params, fresh.optState]);
    } else {
      const seg = restoreTree(checkpoint, "params/seg", fresh.params.seg, path);
      const optSeg = restoreTree(checkpoint, "opt/seg", fresh.optState.seg, path);
      disposeAll([fresh.params.seg, fresh.optState.seg]);
      state = {
        params: { ...fresh.params, seg },
        optState: { ...fresh.optState, seg: optSeg },
      };
    }
    return Promise.resolve(
      new AdaptSession(how.method, checkpoint, options, how.data, trainer, state),
    );
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /** G as it stands, for prediction. */
  restoredSeg(): RestoredSeg {
    const classes = this.#data.classes.names.length;
    return {
      seg: this.#params.seg,
      config: segConfig(this.#options, classes),
      options: this.#options,
      phase: this.method,
      classes: this.#data.classes,
    };
  }

  /** Stops a running {@linkcode AdaptSession.run} after its current step. */
  stop(): void {
    this.#stopping = true;
  }

  /**
   * Takes `request.steps` steps (fewer when stopped), reporting every
   * `request.every` steps (and after the last) with the step's metrics and,
   * given `request.image`, its prediction. Returns the steps taken.
   */
  async run(request: AdaptRequest, report: (progress: Progress) => void): Promise<number> {
    this.#stopping = false;
    const targets = request.targets.length > 0 ? this.#userTargets(request.targets) : undefined;
    let taken = 0;
    try {
      for (; taken < request.steps && !this.#stopping; taken++) {
        const began = performance.now();
        const values = await this.#takeStep(targets);
        this.#step++;
        const last = taken + 1 === request.steps;
        if ((taken + 1) % request.every === 0 || last || this.#stopping) {
          const { seg, config } = this.restoredSeg();
          const prediction = request.image &&
            {
              image: request.image,
              ...await predictImage(seg, config, this.#data.normalise, request.image),
            };
          report({
            kind: "progress",
            step: this.#step,
            steps: request.steps,
            metrics: values,
            ms: performance.now() - began,
            ...(prediction ? { prediction } : {}),
          });
        }
        // Lets a "stop" message in between two steps.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      targets?.dispose();
    }
    return taken;
  }

  async #takeStep(
    userTargets: tf.Tensor4D | undefined,
  ): Promise<Record<string, number | number[]>> {
    const s = (await this.#sources.next()).value as Batch;
    const t = userTargets ? undefined : (await this.#targets.next()).value as Batch;
    const target = userTargets ?? t!.images;
    const [params, optState, metrics] = this.#trainer.step(this.#params, this.#optState, {
      source: { images: s.images, labels: s.labels! },
      target: { images: target },
    });
    const values = await readMetrics(metrics);
    tf.dispose([s.images, s.labels!, ...(t ? [t.images] : [])]);
    const problem = stepProblem(values);
    if (problem) {
      replace([params, optState, metrics], []);
      throw new Error(`step ${this.#step + 1}: ${problem}; nothing of it kept`);
    }
    [this.#params, this.#optState] = replace([this.#params, this.#optState, metrics], [
      params,
      optState,
    ]);
    delete values.stateCheck;
    return values as Record<string, number | number[]>;
  }

  /** The user's images as one target batch of the training size (bilinear resize, then normalised). */
  #userTargets(images: RgbImage[]): tf.Tensor4D {
    const size = this.#options.canvas;
    const batch = this.#options.batch;
    return tf.tidy(() => {
      const resized = Array.from({ length: batch }, (_, i) => {
        const { width, height, rgb } = images[i % images.length];
        const x = tf.tensor3d(rgb, [height, width, 3], "int32").toFloat();
        const r = tf.image.resizeBilinear(x, [size, size]).round().clipByValue(0, 255);
        const bytes = Uint8Array.from(r.dataSync());
        return tf.tensor3d(normalise(bytes, this.#data.normalise), [size, size, 3]);
      });
      return tf.stack(resized) as tf.Tensor4D;
    });
  }

  /** The adapted state in the project's checkpoint format (`deno task eval` reads it). */
  async checkpointBytes(): Promise<Uint8Array> {
    return await encodeCheckpoint({
      config: this.#checkpoint.config,
      position: {
        phase: this.method,
        step: this.#step,
        done: true,
        adaptedFrom: this.#checkpoint.position.phase,
      },
      tensors: { params: this.#params, opt: this.#optState },
    }, `${this.method}-adapted.ckpt`);
  }

  /** Releases the session's tensors. */
  dispose(): void {
    disposeAll([this.#params, this.#optState]);
  }
}
