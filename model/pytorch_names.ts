/**
 * PyTorch state dicts of DeepLab-V2 → G's parameter paths: the names of
 * AdaptSegNet's and ADVENT's ResNet-101 (`DeepLab_resnet_pretrained_init`,
 * the Caffe-converted weights every anchor starts from, keys optionally
 * prefixed `Scale.`) and of torchvision's ResNets (`conv1`, `bn1`,
 * `layer1.0.conv1`, `layer1.0.downsample.0`, …; `fc` is not G's), with
 * convolution kernels transposed from PyTorch's OIHW to our HWIO and batch
 * norm's `weight`, `bias`, `running_mean`, `running_var` renamed to
 * `gamma`, `beta`, `mean`, `variance`. A pure function of names, shapes and
 * values: `convert.ts` does the file work.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ourPath } from "./pytorch_names.ts";
 * assert.equal(ourPath("Scale.layer3.22.downsample.1.running_var"), "backbone/layer3/22/downsample/bn/variance");
 * assert.equal(ourPath("layer5.conv2d_list.1.weight"), "head/aspp/1/kernel");
 * assert.deepEqual(ourPath("fc.weight"), undefined);
 * ```
 *
 * @module
 */

const BN: Readonly<Record<string, string>> = {
  weight: "gamma",
  bias: "beta",
  running_mean: "mean",
  running_var: "variance",
};

/**
 * Our parameter path for a PyTorch name, or undefined for a tensor G does
 * not have (a classifier `fc`, `num_batches_tracked`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ourPath } from "./pytorch_names.ts";
 * assert.equal(ourPath("conv1.weight"), "backbone/stem/conv/kernel");
 * ```
 */
export function ourPath(name: string): string | undefined {
  const n = name.replace(/^(module\.|Scale\.|backbone\.)+/, "");
  let m = /^conv1\.weight$/.exec(n);
  if (m) return "backbone/stem/conv/kernel";
  m = /^bn1\.(weight|bias|running_mean|running_var)$/.exec(n);
  if (m) return `backbone/stem/bn/${BN[m[1]]}`;
  m = /^layer([1-4])\.(\d+)\.conv([1-3])\.weight$/.exec(n);
  if (m) return `backbone/layer${m[1]}/${m[2]}/conv${m[3]}/kernel`;
  m = /^layer([1-4])\.(\d+)\.bn([1-3])\.(weight|bias|running_mean|running_var)$/.exec(n);
  if (m) return `backbone/layer${m[1]}/${m[2]}/bn${m[3]}/${BN[m[4]]}`;
  m = /^layer([1-4])\.(\d+)\.downsample\.0\.weight$/.exec(n);
  if (m) return `backbone/layer${m[1]}/${m[2]}/downsample/conv/kernel`;
  m = /^layer([1-4])\.(\d+)\.downsample\.1\.(weight|bias|running_mean|running_var)$/.exec(n);
  if (m) return `backbone/layer${m[1]}/${m[2]}/downsample/bn/${BN[m[3]]}`;
  m = /^layer5\.conv2d_list\.(\d+)\.(weight|bias)$/.exec(n);
  if (m) return `head/aspp/${m[1]}/${m[2] === "weight" ? "kernel" : "bias"}`;
  return undefined;
}

/**
 * A convolution kernel from PyTorch's [out, in, kh, kw] to our
 * [kh, kw, in, out].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oihwToHwio } from "./pytorch_names.ts";
 * // 2 output channels, 1 input, 1×1: the same numbers, another order of axes.
 * assert.deepEqual(oihwToHwio(Float32Array.from([1, 2]), [2, 1, 1, 1]).shape, [1, 1, 1, 2]);
 * ```
 */
export function oihwToHwio(
  data: Float32Array,
  shape: readonly number[],
): { data: Float32Array; shape: [number, number, number, number] } {
  const [o, i, h, w] = shape;
  const out = new Float32Array(data.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          out[((y * w + x) * i + b) * o + a] = data[((a * i + b) * h + y) * w + x];
        }
      }
    }
  }
  return { data: out, shape: [h, w, i, o] };
}

/** A PyTorch state dict's tensors renamed and laid out for G. */
export interface ConvertedWeights {
  /** Values by our parameter path. */
  values: Map<string, { shape: number[]; data: Float32Array }>;
  /** PyTorch names that map to nothing of G. */
  unused: string[];
}

/**
 * Renames (and transposes) every tensor of a state dict that G has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromPyTorch } from "./pytorch_names.ts";
 * const state = new Map([["bn1.running_var", { shape: [2], data: Float32Array.from([1, 2]) }]]);
 * assert.deepEqual([...fromPyTorch(state).values.keys()], ["backbone/stem/bn/variance"]);
 * ```
 */
export function fromPyTorch(
  state: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
): ConvertedWeights {
  const values = new Map<string, { shape: number[]; data: Float32Array }>();
  const unused: string[] = [];
  for (const [name, tensor] of state) {
    const path = ourPath(name);
    if (!path) {
      unused.push(name);
      continue;
    }
    values.set(
      path,
      path.endsWith("/kernel")
        ? oihwToHwio(tensor.data, tensor.shape)
        : { shape: [...tensor.shape], data: tensor.data },
    );
  }
  return { values, unused };
}
