/**
 * Optimizers as pure `init`/`update` pairs (Optax's design): elementary
 * transformations, their {@linkcode chain}, ready aliases (SGD, Adam, AdamW)
 * and learning-rate schedules.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../tf.ts";
 * import { dispose } from "../tree.ts";
 * import { adam, applyUpdates } from "./mod.ts";
 * const params = { w: tf.scalar(1) };
 * const opt = adam({ learningRate: 0.1 });
 * const state = opt.init(params);
 * const grads = { w: tf.scalar(2) };
 * const [updates, next] = opt.update(grads, state, params);
 * const moved = applyUpdates(params, updates);
 * assert.deepEqual(moved.w.dataSync()[0].toFixed(2), "0.90");
 * dispose([params, state, grads, updates, next, moved]);
 * ```
 *
 * @module
 */
export * from "./transform.ts";
export * from "./transforms.ts";
export * from "./flattened.ts";
export * from "./aliases.ts";
export * from "./schedule.ts";
export * from "./partition.ts";
export * from "./update_count.ts";
