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

/**
 * The update count of each part of a partitioned state (one optimizer state
 * per named part, as {@linkcode partition} keeps them), by part name; a part
 * whose optimizer keeps no count is left out. The tensors are the states' own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adam, partUpdateCounts, tf, tree } from "../../mod.ts";
 * const state = { net: adam({ learningRate: 0.1 }).init({ w: tf.scalar(1) }) };
 * assert.deepEqual(Object.keys(partUpdateCounts(state)), ["net"]);
 * tree.dispose(state);
 * ```
 */
export function partUpdateCounts(
  states: { readonly [part: string]: OptState | undefined },
): Record<string, Scalar> {
  const counts: Record<string, Scalar> = {};
  for (const [part, state] of Object.entries(states)) {
    const count = state === undefined ? undefined : updateCount(state);
    if (count) counts[part] = count;
  }
  return counts;
}
