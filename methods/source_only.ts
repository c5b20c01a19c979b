/**
 * Source only: G trained by L_seg on labelled source images alone, the lower
 * bound of every adaptation table.
 *
 *     G minimises L_seg(P_s, Y_s)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourceOnly } from "./source_only.ts";
 * assert.deepEqual(sourceOnly.reads, { source: true, target: false });
 * ```
 *
 * @module
 */
import type { MethodDefinition } from "./method.ts";

/** The source-only method. */
export const sourceOnly: MethodDefinition = {
  label: "source only",
  plotted: [],
  reads: { source: true, target: false },
  supervision: "source",
  initParts: () => ({}),
  generator: () => ({ metrics: {} }),
};
