/**
 * Runs a gradient transformation on all leaves at once, as one flat vector
 * (as `optax.flatten`).
 *
 * An optimizer written leaf by leaf launches a handful of kernels per
 * parameter tensor every step: Adam over a ResNet's ~130 tensors is ~1,600
 * kernel calls, each with the backend's fixed overhead. Flattened, the same
 * arithmetic is one concatenation, the inner transformation's dozen kernels on
 * one vector, and one split. Elementwise transformations give bit-identical
 * results either way; transformations that need leaf paths (`scaleByPath`,
 * `freezeWhere`) or per-leaf norms belong outside.
 *
 * @example Adam's arithmetic over one vector
 * ```ts
 * import assert from "node:assert/strict";
 * import { flattened, scaleByAdam, tf, tree } from "../../mod.ts";
 * const opt = flattened(scaleByAdam());
 * const params = { w: tf.ones([2, 2]), b: tf.zeros([3]) };
 * const state = opt.init(params);
 * const [updates, next] = opt.update({ w: tf.ones([2, 2]), b: tf.ones([3]) }, state, params);
 * assert.deepEqual([updates.w.shape, updates.b.shape], [[2, 2], [3]]);
 * tree.dispose([params, state, updates, next]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../tf.ts";
import { tidy } from "../memory.ts";
import { type Entry, flatten, map } from "../tree.ts";
import type { GradientTransformation, OptState } from "./transform.ts";

/** State of {@linkcode flattened}: the inner transformation's, over one vector. */
export type FlattenedState<S extends OptState = OptState> = {
  /** The inner state, for a parameter tree that is a single 1-D tensor. */
  readonly inner: S;
};

function ravel(entries: readonly Entry[], what: string): Tensor {
  for (const [path, leaf] of entries) {
    if (leaf.dtype !== "float32") {
      throw new Error(`flattened: ${what} leaf '${path}' is ${leaf.dtype}, not float32`);
    }
  }
  if (entries.length === 0) return tf.zeros([0]);
  if (entries.length === 1) return tf.reshape(entries[0][1], [-1]);
  return tf.concat(entries.map(([, leaf]) => tf.reshape(leaf, [-1])));
}

/**
 * `inner`, applied to the concatenation of every leaf of the updates (and of
 * the parameters, when given); its output is split back into the updates'
 * tree.
 *
 * @example
 * ```ts
 * import { chain, flattened, scaleByAdam, scaleByLearningRate, scaleByPath } from "../../mod.ts";
 * const opt = chain(flattened(chain(scaleByAdam(), scaleByLearningRate(1e-3))), scaleByPath({ head: 10 }));
 * ```
 */
export function flattened<S extends OptState>(
  inner: GradientTransformation<S>,
): GradientTransformation<FlattenedState<S>> {
  return {
    init: (params) =>
      tidy(() => {
        const flat = ravel(flatten(params), "parameter");
        return { inner: inner.init(flat) };
      }),
    update: (updates, state, params) =>
      tidy(() => {
        const entries = flatten(updates);
        const flatUpdates = ravel(entries, "update");
        const flatParams = params === undefined ? undefined : ravel(flatten(params), "parameter");
        const [out, next] = inner.update(flatUpdates, state.inner, flatParams);
        const parts = entries.length <= 1
          ? [out as Tensor]
          : tf.split(out as Tensor, entries.map(([, leaf]) => leaf.size));
        const index = new Map(entries.map(([path], i) => [path, i]));
        const rebuilt = map(
          updates,
          (leaf, path) => tf.reshape(parts[index.get(path)!], leaf.shape),
        );
        return [rebuilt, { inner: next }];
      }),
  };
}
