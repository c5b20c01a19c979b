/**
 * The elementary gradient transformations that optimizers are chained from.
 * Each is pure: it returns new tensors and leaves its inputs alone.
 *
 * @example AdamW built by hand
 * ```ts
 * import { addDecayedWeights, chain, scaleByAdam, scaleByLearningRate } from "../../mod.ts";
 * const adamw = chain(scaleByAdam(), addDecayedWeights(1e-2), scaleByLearningRate(1e-3));
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "../tf.ts";
import { tidy } from "../memory.ts";
import { leaves, map, type Tree, zipMap } from "../tree.ts";
import { asSchedule, type Schedule } from "./schedule.ts";
import type { GradientTransformation } from "./transform.ts";
import { adamMoments } from "../adam_moments.ts";

function requireParams<P>(params: P | undefined, name: string): P {
  if (params === undefined) {
    throw new Error(`${name}: update needs the current parameters`);
  }
  return params;
}

function finite(value: number, name: string, what: string): void {
  if (!Number.isFinite(value)) throw new Error(`${name}: ${what} must be finite, got ${value}`);
}

/** State holding a step count (float32 scalar, 0 before the first update). */
export type CountState = {
  /** Updates made so far. */
  readonly count: Scalar;
};

/** State of {@linkcode scaleByAdam}. */
export type AdamState = CountState & {
  /** First-moment estimate, one tensor per parameter. */
  readonly mu: Tree;
  /** Second-moment estimate, one tensor per parameter. */
  readonly nu: Tree;
};

/**
 * Adam's rescaling (Kingma & Ba 2015) with bias correction:
 * `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
 * update `= m̂ / (√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
 *
 * @example
 * ```ts
 * import { scaleByAdam } from "../../mod.ts";
 * const t = scaleByAdam({ b1: 0.9, b2: 0.99 });
 * ```
 */
export function scaleByAdam(
  options: { b1?: number; b2?: number; eps?: number } = {},
): GradientTransformation<AdamState> {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8 } = options;
  for (const [v, n] of [[b1, "b1"], [b2, "b2"]] as const) {
    if (!(v >= 0 && v < 1)) throw new Error(`scaleByAdam: ${n} must be in [0, 1), got ${v}`);
  }
  if (!(eps >= 0)) throw new Error(`scaleByAdam: eps must be ≥ 0, got ${eps}`);
  return {
    init: (params) =>
      tidy(() => ({
        count: tf.scalar(0),
        mu: map(params, (p) => tf.zerosLike(p)),
        nu: map(params, (p) => tf.zerosLike(p)),
      })),
    update: (updates, state) =>
      tidy(() => {
        const count = tf.add(state.count, 1) as Scalar;
        // 1 − βᵗ as −expm1(t·ln β): no cancellation in float32 when β ≈ 1.
        const correction1 = tf.neg(tf.expm1(tf.mul(count, Math.log(b1))));
        const correction2 = tf.neg(tf.expm1(tf.mul(count, Math.log(b2))));
        const moments = new Map<string, Tensor[]>();
        const out = zipMap([updates, state.mu, state.nu], ([g, m, v], path) => {
          const [update, m2, v2] = adamMoments(g, m, v, correction1, correction2, { b1, b2, eps });
          moments.set(path, [m2, v2]);
          return update;
        });
        const mu = map(updates, (_, path) => moments.get(path)![0]);
        const nu = map(updates, (_, path) => moments.get(path)![1]);
        return [out as typeof updates, { count, mu, nu }];
      }),
  };
}

/** State of {@linkcode trace}. */
export type TraceState = {
  /** The momentum buffer, one tensor per parameter. */
  readonly trace: Tree;
};

/**
 * Momentum as PyTorch's SGD computes it: `b ← μb + g`; the update is `b`, or
 * `g + μb` with Nesterov momentum.
 *
 * @example
 * ```ts
 * import { trace } from "../../mod.ts";
 * const momentum = trace(0.9, { nesterov: true });
 * ```
 */
export function trace(
  decay: number,
  options: { nesterov?: boolean } = {},
): GradientTransformation<TraceState> {
  if (!(decay >= 0 && decay < 1)) {
    throw new Error(`trace: momentum must be in [0, 1), got ${decay}`);
  }
  const nesterov = options.nesterov ?? false;
  return {
    init: (params) => tidy(() => ({ trace: map(params, (p) => tf.zerosLike(p)) })),
    update: (updates, state) =>
      tidy(() => {
        const next = zipMap([updates, state.trace], ([g, b]) => tf.add(tf.mul(b, decay), g));
        const out = nesterov
          ? zipMap([updates, next], ([g, b]) => tf.add(g, tf.mul(b, decay)))
          : next;
        return [out as typeof updates, { trace: next }];
      }),
  };
}

/**
 * Adds `rate · params` to the updates: L2 weight decay when placed before the
 * learning rate on gradients (PyTorch SGD's `weight_decay`), decoupled decay
 * when placed after Adam's rescaling (AdamW).
 *
 * @example
 * ```ts
 * import { addDecayedWeights } from "../../mod.ts";
 * const decay = addDecayedWeights(5e-4);
 * ```
 */
export function addDecayedWeights(rate: number): GradientTransformation<Record<never, never>> {
  finite(rate, "addDecayedWeights", "the rate");
  return {
    init: () => ({}),
    update: (updates, state, params) => {
      if (rate === 0) return [updates, state];
      const p = requireParams(params, "addDecayedWeights");
      return [tidy(() => zipMap([updates, p], ([u, w]) => tf.add(u, tf.mul(w, rate)))), state];
    },
  };
}

/**
 * Multiplies the updates by `−learningRate` (a number or a schedule of the
 * step count), turning a descent direction into a parameter change.
 *
 * @example
 * ```ts
 * import { poly, scaleByLearningRate } from "../../mod.ts";
 * const lr = scaleByLearningRate(poly(2.5e-4, 250_000));
 * ```
 */
export function scaleByLearningRate(
  learningRate: number | Schedule,
): GradientTransformation<CountState> {
  const schedule = asSchedule(learningRate);
  return {
    init: () => ({ count: tf.scalar(0) }),
    update: (updates, state) =>
      tidy(() => {
        const step = tf.neg(schedule(state.count));
        const out = map(updates, (u) => tf.mul(u, step));
        return [out, { count: tf.add(state.count, 1) as Scalar }];
      }),
  };
}

/**
 * Multiplies each leaf's update by a factor chosen by its path: the longest
 * key of `factors` that is the leaf's path or a prefix of it ending at a `/`
 * wins; leaves that match none keep factor 1. DeepLab's classifier head
 * learns 10× faster: `scaleByPath({ head: 10 })`. A factor of 0 freezes.
 *
 * @example
 * ```ts
 * import { scaleByPath } from "../../mod.ts";
 * const tenTimesHead = scaleByPath({ head: 10, "backbone/stem": 0 });
 * ```
 */
export function scaleByPath(
  factors: Readonly<Record<string, number>>,
): GradientTransformation<Record<never, never>> {
  const prefixes = Object.entries(factors);
  for (const [prefix, f] of prefixes) finite(f, "scaleByPath", `the factor of '${prefix}'`);
  const factorOf = (path: string) => {
    let best = -1, factor = 1;
    for (const [prefix, f] of prefixes) {
      const matches = path === prefix || path.startsWith(prefix + "/") || prefix === "";
      if (matches && prefix.length > best) [best, factor] = [prefix.length, f];
    }
    return factor;
  };
  return {
    init: () => ({}),
    update: (updates, state) => {
      if (prefixes.length === 0) return [updates, state];
      const out = tidy(() =>
        map(updates, (u, path) => {
          const f = factorOf(path);
          return f === 1 ? u : f === 0 ? tf.zerosLike(u) : tf.mul(u, f);
        })
      );
      return [out, state];
    },
  };
}

/**
 * Zeroes the updates of the leaves whose path satisfies `frozen`: those
 * parameters never change, whatever came before in the chain (weight decay
 * included).
 *
 * @example Running statistics are not trained
 * ```ts
 * import { freezeWhere } from "../../mod.ts";
 * const keepStats = freezeWhere((path) => /\/(mean|variance)$/.test(path));
 * ```
 */
export function freezeWhere(
  frozen: (path: string) => boolean,
): GradientTransformation<Record<never, never>> {
  return {
    init: () => ({}),
    update: (updates, state) => {
      const out = tidy(() => map(updates, (u, path) => (frozen(path) ? tf.zerosLike(u) : u)));
      return [out, state];
    },
  };
}

/**
 * Rescales all updates together so that their global L2 norm is at most
 * `maxNorm` (unchanged when it already is).
 *
 * @example
 * ```ts
 * import { clipByGlobalNorm } from "../../mod.ts";
 * const clip = clipByGlobalNorm(10);
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<Record<never, never>> {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  return {
    init: () => ({}),
    update: (updates, state) => {
      const out = tidy(() => {
        const norm = globalNorm(updates);
        const scale = tf.minimum(tf.div(maxNorm, norm), 1);
        return map(updates, (u) => tf.mul(u, scale));
      });
      return [out, state];
    },
  };
}

/**
 * The L2 norm of all leaves taken together, as a scalar.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { globalNorm, tf } from "../../mod.ts";
 * const g = { a: tf.tensor1d([3]), b: tf.tensor1d([4]) };
 * assert.deepEqual(globalNorm(g).dataSync()[0], 5);
 * ```
 */
export function globalNorm(tree: Tree): Scalar {
  return tidy(() => {
    const squares = leaves(tree).map((t: Tensor) => tf.sum(tf.square(t)));
    return tf.sqrt(squares.length ? tf.addN(squares) : tf.scalar(0)) as Scalar;
  });
}
