/**
 * The target oracle: the same network trained by L_seg on labelled *target*
 * images, for as many steps as the methods it bounds: the upper bound every
 * UDA paper reports beside source-only. It reads `batch.target.labels`,
 * which no adaptation method does.
 *
 *     G minimises L_seg(P_t, Y_t)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oracle } from "./oracle.ts";
 * assert.deepEqual([oracle.supervision, oracle.reads], ["target", { source: false, target: true }]);
 * ```
 *
 * @module
 */
import type { MethodDefinition } from "./method.ts";

/** The target oracle. */
export const oracle: MethodDefinition = {
  label: "target oracle",
  plotted: [],
  reads: { source: false, target: true },
  supervision: "target",
  initParts: () => ({}),
  generator: () => ({ metrics: {} }),
};
