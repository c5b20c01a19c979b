/**
 * A setting declared once: its kind, default, help and checks. The jobs'
 * flags, `--config` files, stored options and each method's own settings
 * (`MethodDefinition.options`) are all read through {@linkcode checkOption},
 * so a value is judged by the same rules wherever it comes from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOption, type OptionSpec } from "./option_spec.ts";
 * const steps: OptionSpec = { kind: "integer", default: 10, min: 1, help: "steps" };
 * assert.equal(checkOption("steps", steps, "12", "--steps"), 12);
 * assert.throws(() => checkOption("steps", steps, "0", "--steps"), /--steps: steps must be ≥ 1, got 0/);
 * ```
 *
 * @module
 */

/** An option's kind: how its text (a flag) or its JSON value is read. */
export type OptionKind = "string" | "number" | "integer" | "boolean";

/** A value an option can hold. */
export type OptionValue = string | number | boolean;

/** One option: its kind, default, help and checks. */
export interface OptionSpec {
  /** How its value is read. */
  kind: OptionKind;
  /** Its value where none is given (`undefined`: unset). */
  default: OptionValue | undefined;
  /** One line for `--help`. */
  help: string;
  /** The values it may take (strings, also for numbers: `["18", "34"]`). */
  choices?: readonly string[];
  /** The smallest number it may take. */
  min?: number;
  /** The largest number it may take. */
  max?: number;
  /** Not settable from `--config` (a run-control flag). */
  flagOnly?: boolean;
}

/**
 * The value type of a spec: a string option with choices takes the union of
 * its choices, so that no reader casts.
 */
export type ValueOfSpec<S extends OptionSpec> = S["kind"] extends "boolean" ? boolean
  : S["kind"] extends "string" ? (S extends { choices: readonly (infer C)[] } ? C : string)
  : number;

/** The values of a record of specs, by name. */
export type ValuesOfSpecs<S extends Readonly<Record<string, OptionSpec>>> = {
  -readonly [K in keyof S]: ValueOfSpec<S[K]>;
};

/**
 * An option name as a flag: `lambdaAdv` → `lambda-adv`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kebabCase } from "./option_spec.ts";
 * assert.equal(kebabCase("cdgaGlobalDiscResolution"), "cdga-global-disc-resolution");
 * ```
 */
export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * `value` read as `spec` says, or an error `where: name …` that names the
 * rule it breaks. Text is read as the option's kind (flags are text); with
 * `typed`, a number or boolean given as text is refused (a JSON value must
 * have its type already).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOption } from "./option_spec.ts";
 * const mode = { kind: "string", default: "a", choices: ["a", "b"], help: "" } as const;
 * assert.equal(checkOption("mode", mode, "b", "--mode"), "b");
 * assert.throws(() => checkOption("mode", mode, "c", "x.json"), /x.json: mode must be one of a, b, got "c"/);
 * ```
 */
export function checkOption(
  name: string,
  spec: OptionSpec,
  value: unknown,
  where: string,
  typed = false,
): OptionValue {
  const fail = (why: string): never => {
    throw new Error(`${where}: ${name} ${why}`);
  };
  if (typed && spec.kind !== "string" && typeof value === "string") {
    fail(
      `must be ${spec.kind === "boolean" ? "true or false" : "a number"} (not in quotes), got ${
        JSON.stringify(value)
      }`,
    );
  }
  if (spec.kind === "boolean") {
    const v = value === "true" ? true : value === "false" ? false : value;
    if (typeof v !== "boolean") fail(`must be true or false, got ${JSON.stringify(value)}`);
    return v as boolean;
  }
  if (spec.kind === "number" || spec.kind === "integer") {
    const v = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      return fail(`must be a number, got ${JSON.stringify(value)}`);
    }
    if (spec.kind === "integer" && !Number.isInteger(v)) {
      fail(`must be an integer, got ${JSON.stringify(value)}`);
    }
    if (spec.min !== undefined && v < spec.min) fail(`must be ≥ ${spec.min}, got ${v}`);
    if (spec.max !== undefined && v > spec.max) fail(`must be ≤ ${spec.max}, got ${v}`);
    if (spec.choices && !spec.choices.includes(String(v))) {
      fail(`must be one of ${spec.choices.join(", ")}, got ${v}`);
    }
    return v;
  }
  if (typeof value !== "string") return fail(`must be a string, got ${JSON.stringify(value)}`);
  if (spec.choices && !spec.choices.includes(value)) {
    fail(`must be one of ${spec.choices.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Every option of `specs` resolved: the given value (checked) or the
 * default. A given name that `specs` lacks is an error naming `where`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveOptions } from "./option_spec.ts";
 * const specs = { lambdaX: { kind: "number", default: 0.1, min: 0, help: "" } } as const;
 * assert.deepEqual(resolveOptions(specs, {}, "config"), { lambdaX: 0.1 });
 * assert.throws(() => resolveOptions(specs, { lambdaY: 1 }, "config"), /config: lambdaY is not one of its options \(lambdaX\)/);
 * ```
 */
export function resolveOptions<S extends Readonly<Record<string, OptionSpec>>>(
  specs: S,
  given: Readonly<Record<string, unknown>>,
  where: string,
): ValuesOfSpecs<S> {
  for (const name of Object.keys(given)) {
    if (!(name in specs)) {
      const known = Object.keys(specs).join(", ") || "none";
      throw new Error(`${where}: ${name} is not one of its options (${known})`);
    }
  }
  const out: Record<string, OptionValue> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) throw new Error(`${where}: ${name} has no value and no default`);
    out[name] = checkOption(name, spec, value, where);
  }
  return out as ValuesOfSpecs<S>;
}
