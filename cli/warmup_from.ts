/**
 * `--warmup-from FILE`: a run that starts every phase from another run's
 * finished warm-up instead of training its own, so that many configurations
 * (a sweep) share one warm-up per seed. The checkpoint is checked before it
 * is used: it must be a finished warm-up of the same length, made with the
 * options that decide the warm-up (data, model, seed, schedule); any
 * difference is an error naming the file and the option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { warmupDifferences } from "./warmup_from.ts";
 * assert.deepEqual(warmupDifferences({ seed: 0, batch: 8 }, { seed: 1, batch: 8 }), [
 *   "--seed: the warm-up has 0, this run 1",
 * ]);
 * ```
 *
 * @module
 */
import { DataError } from "../data/image_io.ts";
import { type Checkpoint, loadCheckpoint } from "../io/checkpoint.ts";
import { OPTION_SPECS, type Options } from "./options.ts";
import { kebabCase } from "../lib/option_spec.ts";

/** The options a warm-up's result depends on (the rest only shape later phases). */
export const WARMUP_OPTIONS = [
  "dataset",
  "dataRoot",
  "sourceRoot",
  "targetRoot",
  "holdout",
  "splitSeed",
  "backbone",
  "depth",
  "resnetVariant",
  "asppRates",
  "width",
  "norm",
  "pretrained",
  "warmupSteps",
  // G's learning-rate schedule decays over the warm-up and the phases together.
  "steps",
  "batch",
  "crop",
  "flip",
  "glyphs",
  "canvas",
  "digitScaleMin",
  "digitScaleMax",
  "digitsMin",
  "digitsMax",
  "segOptimizer",
  "segLr",
  "headMultiplier",
  "seed",
  "initFrom",
] as const satisfies readonly (keyof Options)[];

/**
 * The warm-up options that differ between a warm-up's stored options and
 * this run's, one line each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { warmupDifferences } from "./warmup_from.ts";
 * assert.deepEqual(warmupDifferences({ steps: 600 }, { steps: 600, lambdaAdv: 1 }), []);
 * ```
 */
export function warmupDifferences(
  stored: Record<string, unknown>,
  given: Record<string, unknown>,
): string[] {
  const defaults = OPTION_SPECS;
  const out: string[] = [];
  for (const name of WARMUP_OPTIONS) {
    const before = name in stored ? stored[name] : defaults[name].default;
    const after = name in given ? given[name] : defaults[name].default;
    if (JSON.stringify(before ?? null) !== JSON.stringify(after ?? null)) {
      const flag = `--${kebabCase(name)}`;
      out.push(
        `${flag}: the warm-up has ${JSON.stringify(before ?? null)}, this run ${
          JSON.stringify(after ?? null)
        }`,
      );
    }
  }
  return out;
}

/**
 * Loads and checks a shared warm-up checkpoint for a run with options `o`.
 *
 * @example
 * ```ts ignore
 * const warm = await loadWarmup("runs/sweep/bounds-digits-seed0/checkpoints/warmup.ckpt", options);
 * ```
 */
export async function loadWarmup(path: string, o: Options): Promise<Checkpoint> {
  const checkpoint = await loadCheckpoint(path);
  const { phase, step, done } = checkpoint.position;
  if (phase !== "warmup" || !done) {
    throw new DataError(
      path,
      `--warmup-from needs a finished warm-up; this checkpoint is ${phase} at step ${step}` +
        (done ? "" : " (not finished)"),
    );
  }
  if (step !== o.warmupSteps) {
    throw new DataError(
      path,
      `the warm-up ran ${step} steps; this run has --warmup-steps ${o.warmupSteps}`,
    );
  }
  const stored = checkpoint.config;
  if (stored === null || typeof stored !== "object") {
    throw new DataError(path, "the checkpoint holds no run options to check the warm-up against");
  }
  const differences = warmupDifferences(stored as Record<string, unknown>, o);
  if (differences.length > 0) {
    throw new DataError(
      path,
      `this warm-up was made with other options than this run's:\n  ${differences.join("\n  ")}`,
    );
  }
  return checkpoint;
}
