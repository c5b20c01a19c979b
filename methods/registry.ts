/**
 * Every method by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_DEFINITIONS } from "./registry.ts";
 * assert.deepEqual(Object.keys(METHOD_DEFINITIONS).length, 6);
 * ```
 *
 * @module
 */
import type { Method } from "./config.ts";
import type { MethodDefinition } from "./method.ts";
import { sourceOnly } from "./source_only.ts";
import { adaptSegNet } from "./adaptsegnet.ts";
import { advEnt, minEnt } from "./advent.ts";
import { cdga } from "./cdga.ts";
import { oracle } from "./oracle.ts";

/** The definition of each method. */
export const METHOD_DEFINITIONS: Readonly<Record<Method, MethodDefinition>> = {
  sourceOnly,
  adaptSegNet,
  minEnt,
  advEnt,
  cdga,
  oracle,
};
