/** Helpers the loss tests share: scalar reads, a tolerance, one-pixel-row maps, L_sc's distances. */
import { tf } from "../lib/tf.ts";
import type { ConsistencyDistance } from "../losses/semantic_consistency.ts";

/** The value of a scalar computed by `f` (its tensors freed). */
export const scalar = (f: () => tf.Tensor): number => {
  const t = tf.tidy(f);
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

/** `a` and `b` agree to a relative (or, below 1, absolute) tolerance. */
export const close = (a: number, b: number, tol = 1e-5): boolean =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

/** Rows (pixels × channels) as a [1, 1, M, C] map. */
export const asMap = (rows: number[][]): tf.Tensor4D =>
  tf.tensor4d(rows.flat(), [1, 1, rows.length, rows[0].length]);

/** Class ids as a one-hot [1, 1, M, C] map. */
export const oneHot = (ids: number[], c: number): tf.Tensor4D =>
  asMap(ids.map((id) => Array.from({ length: c }, (_, j) => (j === id ? 1 : 0))));

/** Every distance L_sc can use. */
export const DISTANCES: ConsistencyDistance[] = ["l1", "l2", "js"];
