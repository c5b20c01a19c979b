/**
 * The phases of a run: a source-only warm-up, then each method (and its
 * variants, `cdga.pixel`), the source-only baseline and the target oracle,
 * each for as many steps from the warm-up; and their labels in tables.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions } from "./options.ts";
 * import { phasesOf } from "./phases.ts";
 * const phases = phasesOf(await parseOptions(["--method", "cdga", "--also", "cdga.pixel"]));
 * assert.deepEqual(phases.map((p) => p.name), ["warmup", "sourceOnly", "cdga.pixel", "cdga", "oracle"]);
 * ```
 *
 * @module
 */
import { type Method, type MethodConfigInput, METHODS } from "../methods/config.ts";
import type { MethodDefinition } from "../methods/method.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";
import type { Options } from "./options.ts";

/** One phase of a run. */
export interface Phase {
  name: string;
  method: Method;
  steps: number;
  /** The phase whose final state this one starts from. */
  from?: string;
  /** Global step of this phase's first step (positions in the data streams). */
  offset: number;
  /** A variant's settings over the options'. */
  overrides?: Partial<MethodConfigInput>;
}

function phaseSpec(name: string): { method: Method; overrides?: Partial<MethodConfigInput> } {
  const [method, variant, ...more] = name.split(".");
  if (!(METHODS as readonly string[]).includes(method) || more.length > 0) {
    const variants = METHODS.flatMap((m) =>
      Object.keys(METHOD_DEFINITIONS[m].variants ?? {}).map((v) => `${m}.${v}`)
    );
    throw new Error(
      `--also: unknown method ${JSON.stringify(name)} (one of ${METHODS.join(", ")}, ` +
        `or a variant: ${variants.join(", ")})`,
    );
  }
  if (variant === undefined) return { method: method as Method };
  const variants = METHOD_DEFINITIONS[method as Method].variants ?? {};
  if (!variants[variant]) {
    throw new Error(
      `--also: unknown variant ${JSON.stringify(variant)} of ${method} (${
        Object.keys(variants).length > 0
          ? `one of ${Object.keys(variants).join(", ")}`
          : "it has none"
      })`,
    );
  }
  return { method: method as Method, overrides: variants[variant].overrides };
}

/**
 * The phases of a run.
 *
 * @example
 * ```ts ignore
 * for (const phase of phasesOf(options)) console.log(phase.name, phase.steps);
 * ```
 */
export function phasesOf(o: Options): Phase[] {
  const phases: Phase[] = [];
  // A shared warm-up (--warmup-from) is loaded as the phase "warmup", not trained.
  const from = o.warmupSteps > 0 ? "warmup" : undefined;
  if (o.warmupSteps > 0 && !o.warmupFrom) {
    phases.push({ name: "warmup", method: "sourceOnly", steps: o.warmupSteps, offset: 0 });
  }
  const add = (name: string) => {
    if (phases.some((p) => p.name === name)) return;
    phases.push({ name, ...phaseSpec(name), steps: o.steps, from, offset: o.warmupSteps });
  };
  if (o.baseline === "sourceOnly" && o.method !== "sourceOnly") add("sourceOnly");
  const extra = o.also === "auto"
    ? (o.method === "cdga" ? [STRONGEST_BASELINE] : [])
    : o.also.split(",").map((m) => m.trim()).filter(Boolean);
  for (const m of [...extra, o.method]) add(m);
  if (o.oracle && o.method !== "oracle") add("oracle");
  return phases;
}

/**
 * The baseline a default CDGA run trains beside it (`--also auto`): the
 * strongest after equal tuning, by mean validation mIoU over the digits and
 * letters benchmarks and three seeds (AdaptSegNet 24.6, AdvEnt 23.5;
 * `docs/tuning.md`).
 */
export const STRONGEST_BASELINE: Method = "adaptSegNet";

/**
 * A phase's row label in tables: its method's label, and its variant's after
 * a comma (`cdga.pixel`: "CDGA, pixel-weighted groups"); any other name as
 * it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { phaseLabel } from "./phases.ts";
 * assert.deepEqual([phaseLabel("cdga.pixel"), phaseLabel("warmup")], ["CDGA, pixel-weighted groups", "warmup"]);
 * ```
 */
export function phaseLabel(name: string): string {
  const [method, variant] = name.split(".");
  const definition = (METHOD_DEFINITIONS as Record<string, MethodDefinition>)[method];
  if (!definition) return name;
  if (variant === undefined) return definition.label;
  const label = definition.variants?.[variant]?.label;
  return label ? `${definition.label}, ${label}` : name;
}
