/**
 * ADVENT (Vu et al., CVPR 2019).
 *
 * - MinEnt: G minimises L_seg + λ_ent · L_ent(P_t), the mean per-pixel
 *   entropy normalised by log C (`losses/entropy.ts`).
 * - AdvEnt: a patch discriminator on the weighted self-information map
 *   I = −P ⊙ log P: G minimises L_seg + λ_adv^AdvEnt · BCE(D(I_t), 1) (its
 *   own weight, `lambdas.advEnt`; ADVENT publishes 0.001), D minimises
 *   BCE(D(I_s), 1) + BCE(D(I_t), 0) on detached inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { advEnt, minEnt } from "./advent.ts";
 * assert.deepEqual([minEnt.reads.target, advEnt.discriminator !== undefined], [true, true]);
 * ```
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import { meanEntropy, selfInformation } from "../losses/entropy.ts";
import type { MethodDefinition } from "./method.ts";
import { outputSpaceAdversarial, type OutputSpaceParts } from "./adaptsegnet.ts";

/** MinEnt: entropy minimisation on the target. */
export const minEnt: MethodDefinition = {
  label: "ADVENT (MinEnt)",
  plotted: ["ent"],
  reads: { source: true, target: true },
  supervision: "source",
  initParts: () => ({}),
  generator({ config, target }) {
    const ent = meanEntropy(target!.logits);
    return { loss: tf.mul(ent, config.lambdas.ent), metrics: { ent } };
  },
};

/** AdvEnt: adversarial alignment of self-information maps, weighted by `lambdas.advEnt`. */
export const advEnt: MethodDefinition<OutputSpaceParts> = outputSpaceAdversarial(
  selfInformation,
  { label: "ADVENT (AdvEnt)", weight: (config) => config.lambdas.advEnt },
);
