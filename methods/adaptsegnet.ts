/**
 * AdaptSegNet (Tsai et al., CVPR 2018), single level: an output-space patch
 * discriminator D on the softmax P (upsampled to D's resolution).
 *
 *     G minimises L_seg + λ_adv · BCE(D(P_t), 1)
 *     D minimises BCE(D(P_s), 1) + BCE(D(P_t), 0)     (inputs detached)
 *
 * The shared patch-discriminator objective (also ADVENT's) is exported as
 * {@linkcode patchDiscriminatorObjective}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adaptSegNet } from "./adaptsegnet.ts";
 * assert.deepEqual(adaptSegNet.reads, { source: true, target: true });
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { stopGradient, withoutGradient } from "../lib/grad.ts";
import {
  applyPatchDiscriminator,
  initPatchDiscriminator,
  type PatchDiscriminatorParams,
} from "../model/discriminator.ts";
import { adversarialLoss, discriminatorAccuracy } from "../losses/adversarial.ts";
import type { MethodConfig } from "./config.ts";
import { discriminatorOptimizer } from "./optimizers.ts";
import {
  type DiscriminatorInputs,
  discSize,
  type GeneratorContext,
  type GeneratorTerms,
  type MethodDefinition,
  resize,
} from "./method.ts";

/**
 * An output-space adversarial method over a view of the logits (P for
 * AdaptSegNet, the self-information map for AdvEnt), its term weighted by
 * `weight` (default λ_adv), named `label`, with its own `defaults`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../lib/tf.ts";
 * import { outputSpaceAdversarial } from "./adaptsegnet.ts";
 * const method = outputSpaceAdversarial((logits) => tf.softmax(logits), { label: "mine" });
 * assert.deepEqual(method.supervision, "source");
 * ```
 */
export function outputSpaceAdversarial(
  view: (logits: Tensor) => Tensor,
  { label, weight = (config) => config.lambdas.adv, defaults }: {
    label: string;
    weight?: (config: MethodConfig) => number;
    defaults?: MethodDefinition["defaults"];
  },
): MethodDefinition<OutputSpaceParts> {
  return {
    label,
    plotted: ["adv"],
    defaults,
    reads: { source: true, target: true },
    supervision: "source",
    parts: { disc: { objective: "discriminator", optimizer: discriminatorOptimizer } },
    initParts: (k, config) => ({
      disc: initPatchDiscriminator(k, { inChannels: config.seg.classes, width: config.disc.width }),
    }),
    generator(context: GeneratorContext<OutputSpaceParts>): GeneratorTerms {
      const { config, batch, source, target } = context;
      const [, inH, inW] = batch.source.images.shape;
      const [, h, w] = target!.logits.shape;
      const size = discSize(config.discResolution, [inH, inW], [h, w]);
      const targetView = view(resize(target!.logits, size));
      // G wants D to take the target for the source (label 1).
      const adv = adversarialLoss(
        applyPatchDiscriminator(context.params.disc, targetView),
        1,
        { kind: config.disc.kind },
      );
      return {
        loss: tf.mul(adv, weight(config)),
        metrics: { adv },
        disc: {
          source: stopGradient(view(resize(source!.logits, size))),
          target: stopGradient(targetView),
        },
      };
    },
    discriminator: (config, parts, inputs) =>
      patchDiscriminatorObjective(config, parts.disc, inputs),
  };
}

/** The part an output-space adversarial method adds: D, a patch discriminator. */
export type OutputSpaceParts = { disc: PatchDiscriminatorParams };

/**
 * D's objective for one patch discriminator: source → 1, target → 0.
 *
 * @example
 * ```ts ignore
 * const { loss, metrics } = patchDiscriminatorObjective(config, disc, inputs);
 * ```
 */
export function patchDiscriminatorObjective(
  config: MethodConfig,
  disc: PatchDiscriminatorParams,
  inputs: DiscriminatorInputs,
): { loss: Tensor; metrics: Record<string, Tensor> } {
  const kind = config.disc.kind;
  const ls = applyPatchDiscriminator(disc, inputs.source);
  const lt = applyPatchDiscriminator(disc, inputs.target);
  const loss = tf.add(adversarialLoss(ls, 1, { kind }), adversarialLoss(lt, 0, { kind }));
  const accuracy = withoutGradient((a, b) => discriminatorAccuracy(a, b, kind), ls, lt);
  return { loss, metrics: { discAccuracy: accuracy } };
}

/**
 * AdaptSegNet: D on the softmax output. Its λ_adv is 0.05: the equal-budget
 * sweep chose 0.03 with D on the input resolution, and the design-space
 * round after it moved λ_adv to 0.05 (`docs/tuning.md`).
 */
export const adaptSegNet: MethodDefinition<OutputSpaceParts> = outputSpaceAdversarial(
  (logits) => tf.softmax(logits),
  { label: "AdaptSegNet", defaults: { lambdas: { adv: 0.05 } } },
);
