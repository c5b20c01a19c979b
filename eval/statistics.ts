/**
 * Summaries over seeds: mean, sample standard deviation, range, and the 95%
 * Student t-interval of a mean (for paired differences between methods
 * trained from the same warm-ups).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairedInterval, summarise } from "./statistics.ts";
 * assert.deepEqual(summarise([1, 2, 3]).sd, 1);
 * const d = pairedInterval([3, 4, 5], [1, 1, 1]);
 * assert.deepEqual([d.mean, d.low < 3 && d.high > 3], [3, true]);
 * ```
 *
 * @module
 */

/** Mean, sample standard deviation (0 for one value), min, max and count. */
export interface Summary {
  mean: number;
  sd: number;
  min: number;
  max: number;
  n: number;
}

/**
 * Summarises values (at least one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarise } from "./statistics.ts";
 * assert.deepEqual(summarise([2, 4]), { mean: 3, sd: Math.SQRT2, min: 2, max: 4, n: 2 });
 * ```
 */
export function summarise(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error("statistics: no values to summarise");
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), n };
}

// Two-sided 95% quantiles of Student's t, by degrees of freedom 1–30.
const T95 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/**
 * The two-sided 95% quantile of Student's t with `df` degrees of freedom
 * (1.96 beyond 30, where the table stops).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tQuantile95 } from "./statistics.ts";
 * assert.deepEqual(tQuantile95(4), 2.776);
 * ```
 */
export function tQuantile95(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`statistics: df must be ≥ 1, got ${df}`);
  return df <= T95.length ? T95[df - 1] : 1.96;
}

/** A mean with its 95% t-interval (low = high = mean for a single value). */
export interface Interval {
  mean: number;
  low: number;
  high: number;
  n: number;
}

/**
 * The mean of the per-seed differences `a[i] − b[i]` (same seeds, same
 * warm-ups) with its 95% t-interval.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairedInterval } from "./statistics.ts";
 * const d = pairedInterval([22, 24, 23], [21, 22, 23]);
 * assert.deepEqual(d.mean, 1);
 * assert.ok(d.low < 0 && d.high > 2);
 * ```
 */
export function pairedInterval(a: readonly number[], b: readonly number[]): Interval {
  if (a.length !== b.length) {
    throw new Error(`statistics: paired values differ in count (${a.length} and ${b.length})`);
  }
  const s = summarise(a.map((v, i) => v - b[i]));
  if (s.n < 2) return { mean: s.mean, low: s.mean, high: s.mean, n: s.n };
  const half = tQuantile95(s.n - 1) * s.sd / Math.sqrt(s.n);
  return { mean: s.mean, low: s.mean - half, high: s.mean + half, n: s.n };
}

/**
 * `mean ± sd (min–max)` with `digits` decimals; "–" for no values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSummary } from "./statistics.ts";
 * assert.deepEqual(formatSummary([1, 3]), "2.0 ± 1.4 (1.0–3.0)");
 * ```
 */
export function formatSummary(values: readonly number[], digits = 1): string {
  if (values.length === 0) return "–";
  const s = summarise(values);
  const f = (v: number) => v.toFixed(digits);
  return `${f(s.mean)} ± ${f(s.sd)} (${f(s.min)}–${f(s.max)})`;
}

/**
 * `+1.2 [−0.3, +2.7]`: a paired mean difference and its 95% interval.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatInterval } from "./statistics.ts";
 * assert.deepEqual(formatInterval({ mean: 1, low: -0.5, high: 2.5, n: 3 }), "+1.0 [−0.5, +2.5]");
 * ```
 */
export function formatInterval(d: Interval, digits = 1): string {
  const f = (v: number) => formatSigned(v, digits);
  return d.n < 2 ? f(d.mean) : `${f(d.mean)} [${f(d.low)}, ${f(d.high)}]`;
}

/**
 * A difference with its sign, a typographic minus for negatives (`−0.4`, `+0.9`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSigned } from "./statistics.ts";
 * assert.deepEqual([formatSigned(-0.44), formatSigned(0.9)], ["−0.4", "+0.9"]);
 * ```
 */
export function formatSigned(v: number, digits = 1): string {
  return `${v < 0 ? "−" : "+"}${Math.abs(v).toFixed(digits)}`;
}
