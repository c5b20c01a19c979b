/**
 * ImageNet-initialised MobileNetV2 weights, the only pretrained weights
 * reachable offline here: Keras's MobileNetV2 (width 1.0) as shipped, uint8
 * quantised, inside `npm:nsfwjs@4.4.0`.
 *
 * Which layers carry what (read from the package's model topology, where
 * `trainable: false` marks the layers its authors froze):
 * - `Conv1` … `block_10_*` (our `stem` and `blocks/0` … `blocks/10`): Keras's
 *   ImageNet weights, frozen during nsfwjs's fine-tuning.
 * - `block_11_*` … `block_16_*` (`blocks/11` … `blocks/16`): retrained by
 *   nsfwjs for its own 5-class task: learned visual features, but not
 *   ImageNet's. `imagenetOnly: true` leaves them randomly initialised.
 * - `Conv_1` and the dense classifier: not used.
 *
 * Dequantisation: value = min + scale · byte, per tensor. The quantisation
 * rounds the tiny running variances of a few dead channels (in `stem`,
 * `blocks/0`, `blocks/2`) to exactly 0; batch norm's ε = 1e-3 keeps them
 * finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadMobileNetV2Weights, tree } from "../mod.ts";
 * const { params, imagenet, random } = await loadMobileNetV2Weights();
 * assert.deepEqual([imagenet.length > 0, random.length], [true, 0]);
 * tree.dispose(params);
 * ```
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import { type Key, key as rootKey } from "../lib/random.ts";
import { map } from "../lib/tree.ts";
import { initMobileNetV2, type MobileNetV2Params } from "./mobilenet_v2.ts";

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min: number; scale: number; dtype: "uint8" | "uint16" };
}

/** Keras's layer name → our path prefix, for one block index (or the stem). */
function kerasPrefix(path: string): string | undefined {
  const m = /^blocks\/(\d+)\/(expand|depthwise|project)(?:\/(conv|bn))?/.exec(path);
  if (path.startsWith("stem/conv")) return "Conv1";
  if (path.startsWith("stem/bn")) return "bn_Conv1";
  if (!m) return undefined;
  const [, index, part, sub] = m;
  const block = index === "0" ? "expanded_conv" : `block_${index}`;
  const layer = part === "depthwise" ? `${block}_depthwise` : `${block}_${part}`;
  const isBn = sub === "bn" || path.startsWith(`blocks/${index}/depthwise/bn`);
  return isBn ? `${layer}_BN` : layer;
}

/**
 * The Keras weight name for one of our MobileNetV2 parameter paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kerasName } from "./pretrained.ts";
 * assert.deepEqual(kerasName("blocks/3/depthwise/kernel"), "block_3_depthwise/depthwise_kernel");
 * assert.deepEqual(kerasName("stem/bn/mean"), "bn_Conv1/moving_mean");
 * ```
 */
export function kerasName(path: string): string {
  const prefix = kerasPrefix(path);
  if (!prefix) throw new Error(`pretrained: no Keras name for '${path}'`);
  const leaf = path.slice(path.lastIndexOf("/") + 1);
  const suffix = ({
    kernel: prefix.endsWith("_depthwise") ? "depthwise_kernel" : "kernel",
    gamma: "gamma",
    beta: "beta",
    mean: "moving_mean",
    variance: "moving_variance",
  } as Record<string, string>)[leaf];
  if (!suffix) throw new Error(`pretrained: no Keras name for '${path}'`);
  return `${prefix}/${suffix}`;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text.trim());
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Decodes every tensor of a tfjs weights manifest over its concatenated shards. */
function decodeWeights(entries: ManifestEntry[], bytes: Uint8Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let offset = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const entry of entries) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    const q = entry.quantization;
    const width = q ? (q.dtype === "uint8" ? 1 : 2) : 4;
    if (offset + size * width > bytes.length) {
      throw new Error(
        `pretrained: the weight data ends inside '${entry.name}' (truncated package?)`,
      );
    }
    for (let i = 0; i < size; i++) {
      const at = offset + i * width;
      values[i] = q
        ? q.min + q.scale * (width === 1 ? bytes[at] : view.getUint16(at, true))
        : view.getFloat32(at, true);
    }
    offset += size * width;
    out.set(entry.name, values);
  }
  return out;
}

/** The MobileNetV2 weights and which of our paths hold ImageNet's. */
export interface PretrainedMobileNetV2 {
  /** The backbone's parameters. */
  params: MobileNetV2Params;
  /** Paths whose values are Keras's ImageNet weights. */
  imagenet: string[];
  /** Paths left randomly initialised (with `imagenetOnly`). */
  random: string[];
}

/**
 * Loads MobileNetV2 from `npm:nsfwjs@4.4.0` into our parameter tree. Every
 * path must find its Keras tensor with the same shape, or this throws naming
 * the path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadMobileNetV2Weights, random, tree } from "../mod.ts";
 * const { params, imagenet } = await loadMobileNetV2Weights({ imagenetOnly: true, key: random.key(0) });
 * assert.ok(imagenet.includes("stem/conv/kernel"));
 * tree.dispose(params);
 * ```
 */
export async function loadMobileNetV2Weights(
  options: { imagenetOnly?: boolean; key?: Key } = {},
): Promise<PretrainedMobileNetV2> {
  const { MobileNetV2Model } = await import("npm:nsfwjs@4.4.0/models/mobilenet_v2");
  const model = (await MobileNetV2Model.modelJson()).default as {
    weightsManifest: { weights: ManifestEntry[] }[];
  };
  const shards = await Promise.all(
    MobileNetV2Model.weightBundles.map(async (load: () => Promise<{ default: string }>) =>
      decodeBase64((await load()).default)
    ),
  );
  const total = shards.reduce((n, s) => n + s.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const shard of shards) {
    bytes.set(shard, at);
    at += shard.length;
  }
  const weights = decodeWeights(model.weightsManifest.flatMap((g) => g.weights), bytes);
  const template = initMobileNetV2(options.key ?? rootKey(0));
  const imagenet: string[] = [], random: string[] = [];
  const params: MobileNetV2Params = map(template, (t, path) => {
    const block = /^blocks\/(\d+)\//.exec(path);
    const isImageNet = !block || Number(block[1]) <= 10;
    if (options.imagenetOnly && !isImageNet) {
      random.push(path);
      return t;
    }
    const name = kerasName(path);
    const values = weights.get(name);
    if (!values) throw new Error(`pretrained: nsfwjs has no tensor '${name}' for '${path}'`);
    if (values.length !== t.size) {
      throw new Error(
        `pretrained: '${name}' has ${values.length} values, '${path}' needs ${t.size}`,
      );
    }
    if (isImageNet) imagenet.push(path);
    t.dispose();
    return tf.tensor(values, t.shape);
  });
  return { params, imagenet, random };
}
