/**
 * Discriminators D.
 *
 * - The AdaptSegNet patch discriminator (Tsai et al. 2018): five 4×4
 *   convolutions of stride 2 (widths w, 2w, 4w, 8w, then the outputs), each
 *   but the last followed by LeakyReLU 0.2; a map of domain logits.
 * - CDGA's group-level discriminator (reconstructed), in three variants
 *   selected by `mode`:
 *   - `"shared"` (default): one patch discriminator with K output channels;
 *     group k's input is P^k = A[:,k] ⊙ P and its logit is channel k.
 *   - `"independent"`: K patch discriminators with one output each.
 *   - `"conditioned"`: one discriminator with one output whose input is
 *     P^k concatenated with one-hot(k) broadcast over the pixels.
 *   - `"stacked"` (an extension): one discriminator pass per image, not per
 *     group and image: its input is the K group maps of the image
 *     concatenated over channels [N, H, W, K·C], and output channel k is
 *     group k's logit. K times fewer D passes, which makes D at the input
 *     resolution affordable; D sees the groups jointly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyPatchDiscriminator, initPatchDiscriminator, random, tf } from "../mod.ts";
 * const d = initPatchDiscriminator(random.key(0), { inChannels: 11, width: 8 });
 * assert.deepEqual(applyPatchDiscriminator(d, tf.zeros([2, 64, 64, 11])).shape, [2, 2, 2, 1]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "../lib/tf.ts";
import { type Key, split } from "../lib/random.ts";
import { conv, type ConvParams, initConv } from "./layers.ts";

/** A patch discriminator's configuration. */
export interface PatchDiscriminatorConfig {
  /** Input channels. */
  inChannels: number;
  /** Base width w (AdaptSegNet: 64). */
  width?: number;
  /** Output channels (default 1). */
  outChannels?: number;
}

/** A patch discriminator's parameters: five convolutions. */
export type PatchDiscriminatorParams = { layers: ConvParams[] };

/**
 * Initialises a patch discriminator (N(0, 0.02²) weights, as DCGAN-style
 * discriminators are).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initPatchDiscriminator, random } from "../mod.ts";
 * assert.deepEqual(initPatchDiscriminator(random.key(0), { inChannels: 19 }).layers.length, 5);
 * ```
 */
export function initPatchDiscriminator(
  k: Key,
  config: PatchDiscriminatorConfig,
): PatchDiscriminatorParams {
  const w = config.width ?? 64;
  const widths = [config.inChannels, w, 2 * w, 4 * w, 8 * w, config.outChannels ?? 1];
  const keys = split(k, 5);
  return {
    layers: keys.map((lk, i) => initConv(lk, [4, 4, widths[i], widths[i + 1]], { stddev: 0.02 })),
  };
}

/**
 * AdaptSegNet's patch discriminator: five 4×4 convolutions of stride 2 with
 * LeakyReLU 0.2, domain logits [N, ⌈H/32⌉, ⌈W/32⌉, out] (1 = source, 0 =
 * target).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyPatchDiscriminator, initPatchDiscriminator, random, tf } from "../mod.ts";
 * const params = initPatchDiscriminator(random.key(0), { inChannels: 3, width: 4 });
 * assert.deepEqual(applyPatchDiscriminator(params, tf.zeros([2, 64, 64, 3])).shape, [2, 2, 2, 1]);
 * ```
 */
export function applyPatchDiscriminator(p: PatchDiscriminatorParams, x: Tensor): Tensor {
  let h = x;
  p.layers.forEach((layer, i) => {
    const activation = i < p.layers.length - 1 ? "leakyrelu" : "linear";
    h = conv(layer, h, { stride: 2, padding: "same", activation, alpha: 0.2 });
  });
  return h;
}

/**
 * The group-level discriminator variants.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GROUP_DISCRIMINATOR_MODES, resolveConfig } from "../mod.ts";
 * const config = resolveConfig({ method: "cdga", seg: { classes: 5 }, disc: { mode: "conditioned" } });
 * assert.ok(GROUP_DISCRIMINATOR_MODES.includes(config.disc.mode));
 * ```
 */
export const GROUP_DISCRIMINATOR_MODES = [
  "shared",
  "independent",
  "conditioned",
  "stacked",
] as const;

/** A group-level discriminator variant. */
export type GroupDiscriminatorMode = typeof GROUP_DISCRIMINATOR_MODES[number];

/** The group-level discriminator's configuration. */
export interface GroupDiscriminatorConfig {
  /** Classes C (channels of P). */
  classes: number;
  /** Groups K. */
  groups: number;
  /** Variant (default "shared"). */
  mode?: GroupDiscriminatorMode;
  /** Base width (default 64). */
  width?: number;
}

/** The group-level discriminator's parameters (one or K patch discriminators). */
export type GroupDiscriminatorParams = { nets: PatchDiscriminatorParams[] };

/**
 * Initialises the group-level discriminator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initGroupDiscriminator, random } from "../mod.ts";
 * const d = initGroupDiscriminator(random.key(0), { classes: 11, groups: 4, mode: "independent", width: 8 });
 * assert.deepEqual(d.nets.length, 4);
 * ```
 */
export function initGroupDiscriminator(
  k: Key,
  config: GroupDiscriminatorConfig,
): GroupDiscriminatorParams {
  const mode = config.mode ?? "shared";
  const width = config.width ?? 64;
  switch (mode) {
    case "shared":
      return {
        nets: [initPatchDiscriminator(k, {
          inChannels: config.classes,
          width,
          outChannels: config.groups,
        })],
      };
    case "independent":
      return {
        nets: split(k, config.groups).map((gk) =>
          initPatchDiscriminator(gk, { inChannels: config.classes, width })
        ),
      };
    case "conditioned":
      return {
        nets: [initPatchDiscriminator(k, { inChannels: config.classes + config.groups, width })],
      };
    case "stacked":
      return {
        nets: [initPatchDiscriminator(k, {
          inChannels: config.classes * config.groups,
          width,
          outChannels: config.groups,
        })],
      };
    default:
      throw new Error(
        `discriminator: mode must be one of ${GROUP_DISCRIMINATOR_MODES.join(", ")}, got ${mode}`,
      );
  }
}

/**
 * Group logits: for grouped inputs [K, N, H, W, C] (input k is P^k), the
 * domain logit maps [K, N, h', w'] of each group as the variant reads them.
 * The `"stacked"` variant also takes its own layout, [N, H, W, K·C] (group
 * k's maps in channels k·C … k·C + C − 1), which callers can build without
 * a rank-5 transpose (slow on tfjs's wasm backend).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyGroupDiscriminator, initGroupDiscriminator, random, tf } from "../mod.ts";
 * const config = { classes: 3, groups: 2, mode: "stacked" as const, width: 4 };
 * const d = initGroupDiscriminator(random.key(0), config);
 * assert.deepEqual(applyGroupDiscriminator(d, tf.zeros([2, 1, 32, 32, 3]), config).shape, [2, 1, 1, 1]);
 * assert.deepEqual(applyGroupDiscriminator(d, tf.zeros([1, 32, 32, 6]), config).shape, [2, 1, 1, 1]);
 * ```
 */
export function applyGroupDiscriminator(
  p: GroupDiscriminatorParams,
  grouped: Tensor,
  config: GroupDiscriminatorConfig,
): Tensor {
  const mode = config.mode ?? "shared";
  if (mode === "stacked") {
    let joined = grouped;
    if (grouped.rank === 5) {
      const [k, n, h, w, c] = grouped.shape;
      if (k !== config.groups) {
        throw new Error(`discriminator: expected ${config.groups} groups, got ${k}`);
      }
      const pixels = tf.transpose(tf.reshape(grouped, [k, n * h * w, c]), [1, 0, 2]);
      joined = tf.reshape(pixels, [n, h, w, k * c]);
    } else if (grouped.rank !== 4 || grouped.shape[3] !== config.groups * config.classes) {
      throw new Error(
        `discriminator: stacked inputs are [K, N, H, W, C] or [N, H, W, K·C] with K·C = ${
          config.groups * config.classes
        }, got [${grouped.shape}]`,
      );
    }
    const out = applyPatchDiscriminator(p.nets[0], joined); // [N, h', w', K]
    return tf.transpose(out, [3, 0, 1, 2]);
  }
  const [k, n, h, w, c] = grouped.shape;
  if (k !== config.groups) {
    throw new Error(`discriminator: expected ${config.groups} groups, got ${k}`);
  }
  if (mode === "independent") {
    const parts = tf.unstack(grouped).map((x, g) =>
      tf.squeeze(applyPatchDiscriminator(p.nets[g], x), [3])
    );
    return tf.stack(parts);
  }
  const flat = tf.reshape(grouped, [k * n, h, w, c]);
  if (mode === "conditioned") {
    // one-hot(k) broadcast as K extra channels, built as float32 directly.
    const codes = tf.reshape(tf.eye(k), [k, 1, 1, 1, k]);
    const maps = tf.reshape(tf.tile(codes, [1, n, h, w, 1]), [k * n, h, w, k]);
    const out = applyPatchDiscriminator(p.nets[0], tf.concat([flat, maps], -1));
    const [, ho, wo] = out.shape;
    return tf.reshape(out, [k, n, ho, wo]);
  }
  const out = applyPatchDiscriminator(p.nets[0], flat); // [K·N, h', w', K]
  const [, ho, wo] = out.shape;
  const perGroup = tf.reshape(out, [k, n, ho, wo, k]);
  // Channel k of group k's output: a diagonal pick, as a mask-and-sum.
  const diagonal = tf.reshape(tf.eye(k), [k, 1, 1, 1, k]);
  return tf.sum(tf.mul(perGroup, diagonal), -1);
}
