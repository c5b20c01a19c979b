/**
 * How many updates an optimizer state has seen: the step count its
 * transformations keep (Adam's moments, a schedule), read without a copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adam, tf, tree, updateCount } from "../../mod.ts";
 * const params = { w: tf.scalar(1) };
 * const opt = adam({ learningRate: 0.1 });
 * const state = opt.init(params);
 * assert.equal(updateCount(state)?.dataSync()[0], 0);
 * const [updates, next] = opt.update({ w: tf.scalar(1) }, state, params);
 * assert.equal(updateCount(next)?.dataSync()[0], 1);
 * tree.dispose([params, state, updates, next]);
 * ```
 *
 * @module
 */
import type { Scalar } from "../tf.ts";
import { flatten } from "../tree.ts";
import type { OptState } from "./transform.ts";

/**
 * The update count of an optimizer state: its first scalar leaf named
 * `count` (every transformation of a chain counts the same updates), or
 * undefined where no transformation keeps one (plain momentum-free SGD at a
 * constant rate, say). The tensor is the state's own: do not dispose it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sgd, tf, tree, updateCount } from "../../mod.ts";
 * const params = { w: tf.scalar(1) };
 * const state = sgd({ learningRate: (count) => tf.mul(count, 0) as tf.Scalar }).init(params);
 * assert.equal(updateCount(state)?.dataSync()[0], 0);
 * tree.dispose([params, state]);
 * ```
 */
export function updateCount(state: OptState): Scalar | undefined {
  const found = flatten(state).find(([path, leaf]) => /(^|\/)count$/.test(path) && leaf.rank === 0);
  return found?.[1] as Scalar | undefined;
}
