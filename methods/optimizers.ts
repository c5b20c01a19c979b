/**
 * The optimisers of the training step, from a method's configuration: G's
 * (SGD with momentum as AdaptSegNet's protocol, or Adam; its head at
 * `headMultiplier` times the rate; batch norm's running statistics, and its
 * γ and β unless trained, left as they are), the one a part trained with G
 * uses (C: G's rule at the head's rate) and D's (Adam). A method names, for
 * each part it adds, which of them trains it (its definition's `parts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discriminatorOptimizer, resolveConfig } from "../mod.ts";
 * const config = resolveConfig({ method: "adaptSegNet", seg: { classes: 3 } });
 * assert.equal(typeof discriminatorOptimizer(config).update, "function");
 * ```
 *
 * @module
 */
import {
  adam,
  chain,
  freezeWhere,
  type GradientTransformation,
  poly,
  sgd,
} from "../lib/optim/mod.ts";
import type { MethodConfig } from "./config.ts";

const isRunningStat = (path: string) => /(^|\/)(mean|variance)$/.test(path);
const isNormAffine = (path: string) => /(^|\/)bn\d*\/(gamma|beta)$/.test(path);

/**
 * Which of G's parameters (by tree path) the optimizer leaves as they are:
 * batch norm's running statistics, and its γ and β unless
 * `optim.trainNormAffine`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frozenParameter } from "../mod.ts";
 * const frozen = frozenParameter({ optim: { trainNormAffine: false } });
 * assert.deepEqual(frozen("backbone/stem/bn/gamma"), true);
 * assert.deepEqual(frozen("backbone/stem/conv/kernel"), false);
 * ```
 */
export function frozenParameter(
  config: { optim: { trainNormAffine: boolean } },
): (path: string) => boolean {
  return (path) => isRunningStat(path) || (!config.optim.trainNormAffine && isNormAffine(path));
}

/** G's rule at base rate `lr`: Adam (β₂ as D's) or SGD as AdaptSegNet's; weight decay is L2 in both. */
function segRule(config: MethodConfig, lr: number, lrMultipliers?: Record<string, number>) {
  const o = config.optim;
  return o.segOptimizer === "adam"
    ? adam({ learningRate: poly(lr, o.steps, o.power), weightDecay: o.weightDecay, lrMultipliers })
    : sgd({
      learningRate: poly(lr, o.steps, o.power),
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      lrMultipliers,
    });
}

/**
 * G's optimiser: its rule at `segLr`, the head at `headMultiplier` times it,
 * the frozen parameters ({@linkcode frozenParameter}) left as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveConfig, segOptimizer } from "../mod.ts";
 * const config = resolveConfig({ method: "sourceOnly", seg: { classes: 3 } });
 * assert.equal(typeof segOptimizer(config).init, "function");
 * ```
 */
export function segOptimizer(config: MethodConfig): GradientTransformation {
  return chain(
    segRule(config, config.optim.segLr, { head: config.optim.headMultiplier }),
    freezeWhere(frozenParameter(config)),
  );
}

/**
 * The optimiser of a part trained with G on G's objective (CDGA's C): G's
 * rule at the head's rate, `segLr` × `headMultiplier`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headOptimizer, resolveConfig } from "../mod.ts";
 * const config = resolveConfig({ method: "cdga", seg: { classes: 3 } });
 * assert.equal(typeof headOptimizer(config).init, "function");
 * ```
 */
export function headOptimizer(config: MethodConfig): GradientTransformation {
  return segRule(config, config.optim.segLr * config.optim.headMultiplier);
}

/**
 * D's optimiser: Adam at `discLr` with `discBetas`, on the poly schedule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discriminatorOptimizer, resolveConfig } from "../mod.ts";
 * const config = resolveConfig({ method: "advEnt", seg: { classes: 3 } });
 * assert.equal(typeof discriminatorOptimizer(config).init, "function");
 * ```
 */
export function discriminatorOptimizer(config: MethodConfig): GradientTransformation {
  const o = config.optim;
  return adam({
    learningRate: poly(o.discLr, o.steps, o.power),
    b1: o.discBetas[0],
    b2: o.discBetas[1],
  });
}
