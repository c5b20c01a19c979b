/**
 * Optimizers as pure gradient transformations, in the manner of Optax: an
 * optimizer is an `init`/`update` pair; `update` maps gradients to updates and
 * an old state to a new one, and never mutates or disposes its inputs.
 * Transformations compose with {@linkcode chain}.
 *
 * @example One plain gradient-descent step
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyUpdates, sgd, tf, tree } from "../../mod.ts";
 *
 * const params = { w: tf.scalar(1) }, grads = { w: tf.scalar(0.5) };
 * const opt = sgd({ learningRate: 0.1 });
 * const state = opt.init(params);
 * const [updates, next] = opt.update(grads, state, params);
 * const newParams = applyUpdates(params, updates);
 * assert.ok(Math.abs(newParams.w.dataSync()[0] - 0.95) < 1e-7); // 1 − 0.1 · 0.5, in float32
 * tree.dispose([params, grads, state, updates, next, newParams]);
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";
import { tidy } from "../memory.ts";
import { type Tree, zipMap } from "../tree.ts";

/** The state of a transformation: a tree of tensors (possibly empty). */
export type OptState = Tree;

/**
 * A pure gradient transformation. `update(updates, state, params)` returns the
 * transformed updates and the next state as new tensors (or the very same
 * tensors where nothing changed), leaving its inputs untouched.
 */
export interface GradientTransformation<S extends OptState = OptState> {
  /** The initial state for a parameter tree. */
  init(params: Tree): S;
  /** Transforms updates (gradients at first); `params` is needed by some. */
  update<P extends Tree>(updates: P, state: S, params?: P): [P, S];
}

/**
 * Composes transformations left to right; the state is the array of their
 * states. The intermediate updates are disposed inside.
 *
 * @example Clipping then SGD
 * ```ts
 * import { chain, clipByGlobalNorm, scaleByLearningRate } from "../../mod.ts";
 * const opt = chain(clipByGlobalNorm(1), scaleByLearningRate(0.01));
 * ```
 */
export function chain(
  ...transforms: GradientTransformation[]
): GradientTransformation<OptState[]> {
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update: (updates, state, params) =>
      tidy(() => {
        if (!Array.isArray(state) || state.length !== transforms.length) {
          throw new Error(
            `chain: expected a state of ${transforms.length} parts, got ${
              Array.isArray(state) ? state.length : typeof state
            }`,
          );
        }
        let current = updates;
        const next: OptState[] = [];
        transforms.forEach((t, i) => {
          const [u, s] = t.update(current, state[i], params);
          current = u;
          next.push(s);
        });
        return [current, next];
      }),
  };
}

/**
 * New parameters: `params + updates`, leaf by leaf.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyUpdates, tf, tree } from "../../mod.ts";
 * const p = { w: tf.scalar(1) }, u = { w: tf.scalar(-0.25) };
 * const q = applyUpdates(p, u);
 * assert.deepEqual(q.w.dataSync()[0], 0.75);
 * tree.dispose([p, u, q]);
 * ```
 */
export function applyUpdates<P extends Tree>(params: P, updates: P): P {
  return tidy(() => zipMap([params, updates], ([p, u]) => tf.add(p, u)));
}
