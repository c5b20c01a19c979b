/**
 * From the flags to the library: G's and each method's configuration, and
 * the named streams of randomness of a run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions } from "./options.ts";
 * import { runKeys, segConfig } from "./config.ts";
 * const o = await parseOptions(["--depth", "34"]);
 * assert.deepEqual([segConfig(o, 11).depth, runKeys(0).data.length], [34, 2]);
 * ```
 *
 * @module
 */
import { type Key, key as rootKey, split } from "../lib/random.ts";
import type { DeepLabConfig } from "../model/deeplab.ts";
import type { ResNetDepth } from "../model/resnet.ts";
import type { Method, MethodConfigInput } from "../methods/config.ts";
import { methodOptionValues, type Options } from "./options.ts";

/**
 * Every stream of randomness of a run, from its seed: G's (and C's and D's)
 * initialisation, the data (generated scenes), the source stream's order
 * and augmentations, the target stream's.
 */
export interface RunKeys {
  root: Key;
  init: Key;
  data: Key;
  source: Key;
  target: Key;
}

/**
 * The keys of a run with seed `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runKeys } from "./config.ts";
 * const a = runKeys(0), b = runKeys(0);
 * assert.deepEqual([a.source.join() === b.source.join(), a.source.join() !== a.target.join()], [true, true]);
 * ```
 */
export function runKeys(seed: number): RunKeys {
  const root = rootKey(seed);
  const [init, data, source, target] = split(root, 4);
  return { root, init, data, source, target };
}

/**
 * G's configuration from the options.
 *
 * @example
 * ```ts ignore
 * const config = segConfig(options, 19);
 * ```
 */
export function segConfig(o: Options, classes: number): DeepLabConfig {
  const atrousRates = String(o.asppRates ?? "6,12,18,24").split(",").map(Number);
  return o.backbone === "mobilenetv2"
    ? { backbone: "mobilenetv2", classes, norm: o.norm, atrousRates }
    : {
      backbone: "resnet",
      depth: o.depth as ResNetDepth, // one of RESNET_DEPTHS: the option's choices
      width: o.width,
      classes,
      norm: o.norm,
      variant: o.resnetVariant,
      atrousRates,
    };
}

/**
 * A method's configuration from the options, with a phase's variant overrides.
 *
 * @example
 * ```ts ignore
 * const config = methodConfig(options, "cdga", 19, { groupDistribution: "pixel" });
 * ```
 */
export function methodConfig(
  o: Options,
  method: Method,
  classes: number,
  overrides: Partial<MethodConfigInput> = {},
): MethodConfigInput {
  return {
    ...methodOptions(o, method, classes),
    ...overrides,
  };
}

/**
 * The flags that set a field each method has its own value of: λ_adv
 * (AdaptSegNet's and CDGA's; no other objective reads it) and where D looks.
 */
const OWN_FLAGS: Partial<
  Record<Method, {
    adv?: "lambdaAdv" | "lambdaAdvCdga";
    discResolution: "discResolution" | "adventDiscResolution" | "cdgaDiscResolution";
  }>
> = {
  adaptSegNet: { adv: "lambdaAdv", discResolution: "discResolution" },
  advEnt: { discResolution: "adventDiscResolution" },
  cdga: { adv: "lambdaAdvCdga", discResolution: "cdgaDiscResolution" },
};

function methodOptions(o: Options, method: Method, classes: number): MethodConfigInput {
  const own = OWN_FLAGS[method];
  return {
    method,
    seg: segConfig(o, classes),
    groups: o.groups,
    disc: { width: o.discWidth, mode: o.discMode },
    discResolution: o[own?.discResolution ?? "discResolution"],
    global: o.cdgaGlobal,
    globalDiscResolution: o.cdgaGlobalDiscResolution,
    groupSignal: o.groupSignal,
    pseudoLabelThreshold: o.pseudoLabelThreshold,
    lambdas: {
      ...(own?.adv ? { adv: o[own.adv] } : {}),
      global: o.lambdaCdgaGlobal,
      advEnt: o.lambdaAdvEnt,
      sc: o.lambdaSc,
      orth: o.lambdaOrth,
      bal: o.lambdaBal,
      ent: o.lambdaEnt,
    },
    consistency: o.consistency,
    groupDistribution: o.groupDistribution,
    groupingLossesTrain: o.groupingLossesTrain,
    classEquivalence: o.classEquivalence,
    optim: {
      segOptimizer: o.segOptimizer,
      segLr: o.segLr,
      headMultiplier: o.headMultiplier,
      discLr: o.discLr,
      steps: o.warmupSteps + o.steps,
      trainNormAffine: o.norm === "batch",
    },
    options: methodOptionValues(o, method),
  };
}
