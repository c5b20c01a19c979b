/**
 * Tensor lifetime helpers for functional training loops. Pure functions return
 * new tensors and never dispose their inputs; the loop owns the state and,
 * once a step has made the next state, drops the old one with
 * {@linkcode replace}, so that `tf.memory().numTensors` stays flat.
 *
 * @example A leak-free loop
 * ```ts
 * import assert from "node:assert/strict";
 * import { replace, tf, tidy } from "../mod.ts";
 *
 * const step = (w: tf.Tensor) => tidy(() => tf.mul(w, 0.5));
 * let w: tf.Tensor = tf.scalar(8);
 * const before = tf.memory().numTensors;
 * for (let i = 0; i < 3; i++) w = replace(w, step(w));
 * assert.deepEqual([tf.memory().numTensors === before, w.dataSync()[0]], [true, 1]);
 * w.dispose();
 * ```
 *
 * @module
 */
import { tf } from "./tf.ts";

/**
 * `tf.tidy` for functions that return trees (or tuples of trees): every
 * tensor made inside and not returned is disposed.
 *
 * @example
 * ```ts
 * import { tf, tidy } from "../mod.ts";
 * const [a, b] = tidy(() => [tf.scalar(1), { c: tf.scalar(2) }] as const);
 * a.dispose(); b.c.dispose();
 * ```
 */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}

/**
 * Disposes every tensor of `previous` that `next` does not also hold, and
 * returns `next`: the one-liner that drops an old training state once the step
 * has produced the new one (tensors passed through unchanged survive).
 * Anything that is not a tensor tree (numbers, strings) is ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replace, tf } from "../mod.ts";
 * const kept = tf.scalar(1);
 * let state = { kept, old: tf.scalar(2) };
 * state = replace(state, { kept, old: tf.scalar(3) });
 * assert.deepEqual(kept.isDisposed, false);
 * ```
 */
export function replace<T>(previous: unknown, next: T): T {
  const keep = new Set(collect(next));
  for (const t of new Set(collect(previous))) {
    if (!keep.has(t) && !t.isDisposed) t.dispose();
  }
  return next;
}

function collect(value: unknown): tf.Tensor[] {
  if (value instanceof tf.Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(collect);
  if (value !== null && typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return Object.values(value).flatMap(collect);
    }
  }
  return [];
}

/**
 * Disposes every tensor in any nesting of arrays and plain records (numbers,
 * strings and other values are skipped).
 *
 * @example
 * ```ts
 * import { disposeAll, tf } from "../mod.ts";
 * disposeAll([{ a: tf.scalar(1) }, 3, "x"]);
 * ```
 */
export function disposeAll(value: unknown): void {
  for (const t of new Set(collect(value))) if (!t.isDisposed) t.dispose();
}
