/**
 * Ready optimizers, each a {@linkcode chain} of elementary transformations
 * with the semantics of their PyTorch namesakes.
 *
 * @example DeepLab-V2's recipe: SGD, momentum 0.9, decay 5e-4, poly, head ×10
 * ```ts
 * import { poly, sgd } from "../../mod.ts";
 * const opt = sgd({
 *   learningRate: poly(2.5e-4, 250_000, 0.9),
 *   momentum: 0.9,
 *   weightDecay: 5e-4,
 *   lrMultipliers: { head: 10 },
 * });
 * ```
 *
 * @module
 */
import type { Schedule } from "./schedule.ts";
import { chain, type GradientTransformation, type OptState } from "./transform.ts";
import { flattened } from "./flattened.ts";
import {
  addDecayedWeights,
  clipByGlobalNorm,
  scaleByAdam,
  scaleByLearningRate,
  scaleByPath,
  trace,
} from "./transforms.ts";

/** Options every alias takes. */
export interface CommonOptions {
  /** A constant or a schedule of the step count. */
  learningRate: number | Schedule;
  /** Learning-rate factors by path prefix (see {@linkcode scaleByPath}). */
  lrMultipliers?: Readonly<Record<string, number>>;
  /** Clip the gradients' global norm to this before anything else. */
  clipNorm?: number;
}

function assemble(
  options: CommonOptions,
  middle: GradientTransformation[],
): GradientTransformation<OptState[]> {
  // The elementwise arithmetic runs on all leaves as one vector (a dozen
  // kernel calls instead of a dozen per parameter tensor); the per-path
  // multipliers need the leaves and come after (they commute with the rate).
  return chain(
    ...(options.clipNorm === undefined ? [] : [clipByGlobalNorm(options.clipNorm)]),
    flattened(chain(...middle, scaleByLearningRate(options.learningRate))),
    scaleByPath(options.lrMultipliers ?? {}),
  );
}

/**
 * Stochastic gradient descent as `torch.optim.SGD`: L2 weight decay added to
 * the gradient, then momentum (optionally Nesterov), then the learning rate.
 *
 * @example
 * ```ts
 * import { sgd } from "../../mod.ts";
 * const opt = sgd({ learningRate: 0.01, momentum: 0.9, nesterov: true });
 * ```
 */
export function sgd(
  options: CommonOptions & { momentum?: number; nesterov?: boolean; weightDecay?: number },
): GradientTransformation<OptState[]> {
  const { momentum = 0, nesterov = false, weightDecay = 0 } = options;
  if (nesterov && momentum === 0) throw new Error("sgd: Nesterov needs a momentum > 0");
  return assemble(options, [
    addDecayedWeights(weightDecay),
    ...(momentum > 0 ? [trace(momentum, { nesterov })] : []),
  ]);
}

/** Options of {@linkcode adam} and {@linkcode adamw}. */
export interface AdamOptions extends CommonOptions {
  /** β₁, default 0.9. */
  b1?: number;
  /** β₂, default 0.999. */
  b2?: number;
  /** ε, default 1e-8. */
  eps?: number;
  /** Weight decay: L2 on the gradient for adam, decoupled for adamw. */
  weightDecay?: number;
}

/**
 * Adam as `torch.optim.Adam` (weight decay, if any, as L2 on the gradient).
 *
 * @example The AdaptSegNet discriminator's optimizer
 * ```ts
 * import { adam } from "../../mod.ts";
 * const opt = adam({ learningRate: 1e-4, b1: 0.9, b2: 0.99 });
 * ```
 */
export function adam(options: AdamOptions): GradientTransformation<OptState[]> {
  return assemble(options, [
    addDecayedWeights(options.weightDecay ?? 0),
    scaleByAdam(options),
  ]);
}

/**
 * AdamW (Loshchilov & Hutter 2019) as `torch.optim.AdamW`: decay decoupled
 * from the gradient, scaled by the learning rate (default decay 0.01).
 *
 * @example
 * ```ts
 * import { adamw } from "../../mod.ts";
 * const opt = adamw({ learningRate: 1e-3, weightDecay: 0.05 });
 * ```
 */
export function adamw(options: AdamOptions): GradientTransformation<OptState[]> {
  return assemble(options, [
    scaleByAdam(options),
    addDecayedWeights(options.weightDecay ?? 0.01),
  ]);
}
