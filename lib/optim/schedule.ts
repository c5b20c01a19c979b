/**
 * Learning-rate schedules: functions from the step count (a float32 scalar
 * tensor, 0 at the first update) to a scalar, computed with tensor ops so that
 * no value has to be read back from the device at each step.
 *
 * @example DeepLab's poly decay after a linear warm-up
 * ```ts
 * import assert from "node:assert/strict";
 * import { poly, tf, valueAt, warmup } from "../../mod.ts";
 * const lr = warmup(poly(2.5e-4, 1000, 0.9), 100);
 * assert.deepEqual([valueAt(lr, 50).toFixed(7), valueAt(lr, 1000)], ["0.0001217", 0]);
 * ```
 *
 * @module
 */
import { type Scalar, tf } from "../tf.ts";

/** A schedule: step count (float32 scalar) → value (float32 scalar). */
export type Schedule = (count: Scalar) => Scalar;

/**
 * Makes a schedule of a number (a constant); passes a schedule through.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asSchedule, valueAt } from "../../mod.ts";
 * assert.ok(Math.abs(valueAt(asSchedule(0.1), 99) - 0.1) < 1e-7); // a float32 scalar
 * ```
 */
export function asSchedule(value: number | Schedule): Schedule {
  if (typeof value === "function") return value;
  if (!Number.isFinite(value)) {
    throw new Error(`schedule: a constant must be finite, got ${value}`);
  }
  return () => tf.scalar(value);
}

/**
 * Polynomial decay: `init · (1 − min(count, steps)/steps)^power`, then `end`
 * added back (`(init − end)·(…)^power + end`). DeepLab uses power 0.9.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { poly, valueAt } from "../../mod.ts";
 * assert.deepEqual(valueAt(poly(1, 10, 1), 5), 0.5);
 * ```
 */
export function poly(init: number, steps: number, power = 0.9, end = 0): Schedule {
  if (!(steps > 0) || !Number.isFinite(init) || !(power > 0)) {
    throw new Error(
      `schedule: poly needs steps > 0, power > 0 and a finite value, got ${init}, ${steps}, ${power}`,
    );
  }
  return (count) =>
    tf.tidy(() => {
      const progress = tf.minimum(tf.div(count, steps), 1);
      const decay = tf.pow(tf.sub(1, progress), power);
      return tf.add(tf.mul(decay, init - end), end) as Scalar;
    });
}

/**
 * A linear warm-up: `after` scaled by `min(1, (count + 1)/steps)`, so the
 * first update already moves (by 1/steps of the rate) and the full rate is
 * reached after `steps` updates. The count given to `after` is not shifted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { valueAt, warmup } from "../../mod.ts";
 * assert.deepEqual([valueAt(warmup(1, 4), 1), valueAt(warmup(1, 4), 9)], [0.5, 1]);
 * ```
 */
export function warmup(after: number | Schedule, steps: number): Schedule {
  if (!Number.isInteger(steps) || steps < 0) {
    throw new Error(`schedule: warm-up steps must be a non-negative integer, got ${steps}`);
  }
  const base = asSchedule(after);
  if (steps === 0) return base;
  return (count) =>
    tf.tidy(() => {
      const ramp = tf.minimum(tf.div(tf.add(count, 1), steps), 1);
      return tf.mul(ramp, base(count)) as Scalar;
    });
}

/**
 * Reads a schedule's value at a step as a number (for logging and tests).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { poly, valueAt } from "../../mod.ts";
 * assert.deepEqual(valueAt(poly(1, 2, 1), 1), 0.5);
 * ```
 */
export function valueAt(schedule: Schedule, step: number): number {
  const count = tf.scalar(step);
  const value = schedule(count);
  const out = value.dataSync()[0];
  tf.dispose([count, value]);
  return out;
}
