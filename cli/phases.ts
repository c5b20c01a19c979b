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

/**
 * Method variants that a phase name may ask for (`--also cdga.class`): the
 * method, then a dot and the variant.
 */
export const VARIANTS: Readonly<Record<string, Partial<MethodConfigInput>>> = {
  pixel: { groupDistribution: "pixel" },
  class: { groupDistribution: "class" },
  GC: { groupingLossesTrain: "G+C" },
};

function phaseSpec(name: string): { method: Method; overrides?: Partial<MethodConfigInput> } {
  const [method, variant, ...more] = name.split(".");
  if (!(METHODS as readonly string[]).includes(method) || more.length > 0) {
    throw new Error(
      `--also: unknown method ${JSON.stringify(name)} (one of ${METHODS.join(", ")}, ` +
        `optionally with a variant: ${Object.keys(VARIANTS).map((v) => `.${v}`).join(", ")})`,
    );
  }
  if (variant === undefined) return { method: method as Method };
  if (!VARIANTS[variant]) {
    throw new Error(
      `--also: unknown variant ${JSON.stringify(variant)} of ${method} (one of ${
        Object.keys(VARIANTS).join(", ")
      })`,
    );
  }
  return { method: method as Method, overrides: VARIANTS[variant] };
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

/** Row labels of the phases in tables. */
export const LABELS: Readonly<Record<string, string>> = {
  sourceOnly: "source only",
  adaptSegNet: "AdaptSegNet",
  advEnt: "ADVENT (AdvEnt)",
  minEnt: "ADVENT (MinEnt)",
  cdga: "CDGA",
  "cdga.pixel": "CDGA, pixel-weighted groups",
  "cdga.class": "CDGA, class-balanced groups",
  "cdga.GC": "CDGA, grouping losses train G and C",
  oracle: "target oracle",
};
