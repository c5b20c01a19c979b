/**
 * The figures a bench prints for a list of step times.
 *
 * @example
 * ```ts
 * import { summarise } from "./stats.ts";
 * console.log(summarise([3, 1, 2])); // { medianMs: 2, minMs: 1, maxMs: 3 }
 * ```
 *
 * @module
 */

/** Rounded to one decimal, as every bench figure is printed. */
export const oneDecimal = (x: number): number => Math.round(x * 10) / 10;

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median, fastest and slowest of a non-empty list of milliseconds, one decimal each. */
export function summarise(times: readonly number[]): {
  medianMs: number;
  minMs: number;
  maxMs: number;
} {
  return {
    medianMs: oneDecimal(median(times)),
    minMs: oneDecimal(Math.min(...times)),
    maxMs: oneDecimal(Math.max(...times)),
  };
}
