/**
 * Every method by name: the list the rest derives from (`METHODS`, the
 * `--method` choices, the table labels, the loss chart).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_DEFINITIONS } from "../mod.ts";
 * assert.deepEqual(Object.keys(METHOD_DEFINITIONS).length, 6);
 * assert.equal(METHOD_DEFINITIONS.cdga.label, "CDGA");
 * ```
 *
 * @module
 */
import type { MethodDefinition } from "./method.ts";
import { sourceOnly } from "./source_only.ts";
import { adaptSegNet } from "./adaptsegnet.ts";
import { advEnt, minEnt } from "./advent.ts";
import { cdga } from "./cdga.ts";
import { oracle } from "./oracle.ts";

/**
 * Every method's definition, in the order `METHODS` and `--help` list them,
 * each at its own type: a new method is its file and one line here.
 * {@linkcode METHOD_DEFINITIONS} is the same list seen as plain
 * `MethodDefinition`s, for code that handles any method.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REGISTERED_METHODS } from "../mod.ts";
 * assert.equal(Object.keys(REGISTERED_METHODS)[0], "sourceOnly");
 * ```
 */
export const REGISTERED_METHODS = {
  sourceOnly,
  adaptSegNet,
  minEnt,
  advEnt,
  cdga,
  oracle,
} satisfies Readonly<Record<string, MethodDefinition>>;

/** A training method's name: a key of {@linkcode METHOD_DEFINITIONS}. */
export type Method = keyof typeof REGISTERED_METHODS;

/**
 * The definition of each method, in the order `METHODS` and `--help` list
 * them (each seen as a `MethodDefinition`: its own discriminator type stays
 * inside its file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHOD_DEFINITIONS } from "../mod.ts";
 * assert.equal(METHOD_DEFINITIONS.advEnt.label, "ADVENT (AdvEnt)");
 * ```
 */
export const METHOD_DEFINITIONS: Readonly<Record<Method, MethodDefinition>> = REGISTERED_METHODS;
