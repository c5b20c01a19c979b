/**
 * Weights from `.safetensors` files (as written by PyTorch's `safetensors`),
 * so that weights converted from PyTorch can initialise G.
 *
 * Expected tensor names: the paths of G's parameter tree, optionally
 * prefixed with `seg/`, for example `backbone/stem/conv/kernel`,
 * `backbone/layer1/0/bn1/gamma`, `backbone/layer1/0/bn1/mean`,
 * `head/aspp/0/kernel`, `head/aspp/0/bias`. Convolution kernels are HWIO
 * ([kh, kw, in, out]; PyTorch's OIHW must be transposed with
 * `permute(2, 3, 1, 0)`), batch norm is `gamma`, `beta`, `mean`, `variance`.
 * Dtypes F32, F16 and BF16 are read (the last two converted to float32).
 * Every parameter of G must be present with its shape; extra tensors are an
 * error too, so that a misnamed file cannot half-load.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initDeepLab, loadSafetensors, random, tree, writeSafetensors } from "../mod.ts";
 *
 * // A G written as safetensors (as `deno task convert` writes PyTorch weights) and read back.
 * const config = { depth: 18 as const, width: 0.125, classes: 3 };
 * const seg = initDeepLab(random.key(0), config);
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(
 *   path,
 *   new Map(tree.flatten(seg).map(([name, t]) => [name, { shape: t.shape, data: t.dataSync() as Float32Array }])),
 * );
 * const loaded = await loadSafetensors(path, initDeepLab(random.key(1), config));
 * assert.deepEqual(tree.leaves(loaded)[0].dataSync(), tree.leaves(seg)[0].dataSync());
 * tree.dispose([seg, loaded]);
 * await Deno.remove(path);
 * ```
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import { flatten, map, type Tree } from "../lib/tree.ts";
import { DataError } from "../data/image_io.ts";
import { writeFileAtomic } from "../data/files.ts";

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * Parses a safetensors file into named float32 arrays.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSafetensors } from "../mod.ts";
 *
 * const header = new TextEncoder().encode(
 *   JSON.stringify({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }),
 * );
 * const bytes = new Uint8Array(8 + header.length + 8);
 * new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
 * bytes.set(header, 8);
 * bytes.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 8 + header.length);
 * const tensors = parseSafetensors(bytes, "weights.safetensors");
 * assert.deepEqual(Array.from(tensors.get("w")!.data), [1.5, -2]);
 * assert.throws(() => parseSafetensors(bytes.subarray(0, 12), "cut.safetensors"), /cut.safetensors/);
 * ```
 */
export function parseSafetensors(
  bytes: Uint8Array,
  path: string,
): Map<string, { shape: number[]; data: Float32Array }> {
  if (bytes.length < 8) throw new DataError(path, "truncated safetensors file (no header length)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) {
    throw new DataError(path, "truncated safetensors file (header cut short)");
  }
  let header: Record<string, Entry | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new DataError(path, "corrupt safetensors header (not JSON)");
  }
  const body = bytes.subarray(8 + headerLength);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const entry = value as Entry;
    const [begin, end] = entry.data_offsets ?? [];
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const width = { F32: 4, F16: 2, BF16: 2 }[entry.dtype];
    if (!width) {
      throw new DataError(
        path,
        `tensor '${name}' has dtype ${entry.dtype}; F32, F16 or BF16 expected`,
      );
    }
    if (!(end <= body.length && end - begin === size * width)) {
      throw new DataError(
        path,
        `tensor '${name}' lies outside the file or has the wrong length (truncated?)`,
      );
    }
    const raw = new DataView(body.buffer, body.byteOffset + begin, end - begin);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      data[i] = entry.dtype === "F32"
        ? raw.getFloat32(4 * i, true)
        : entry.dtype === "F16"
        ? halfToFloat(raw.getUint16(2 * i, true))
        : new Float32Array(new Uint32Array([raw.getUint16(2 * i, true) << 16]).buffer)[0];
    }
    out.set(name, { shape: entry.shape, data });
  }
  return out;
}

/**
 * Loads a tree's values from a safetensors file by path (see the module
 * documentation for the names), returning new tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadSafetensors, tf, tree, writeSafetensors } from "../mod.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(path, new Map([["head/bias", { shape: [2], data: new Float32Array([1, 2]) }]]));
 * const loaded = await loadSafetensors(path, { head: { bias: tf.zeros([2]) } });
 * assert.deepEqual(Array.from(loaded.head.bias.dataSync()), [1, 2]);
 * // A template the file does not fit is an error naming the file and the tensor.
 * await assert.rejects(() => loadSafetensors(path, { head: { bias: tf.zeros([3]) } }), /head\/bias/);
 * tree.dispose(loaded);
 * await Deno.remove(path);
 * ```
 */
export async function loadSafetensors<T extends Tree>(path: string, template: T): Promise<T> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new DataError(path, `cannot read (${(error as Error).message})`);
  }
  const tensors = parseSafetensors(bytes, path);
  const strip = (name: string) => (name.startsWith("seg/") ? name.slice(4) : name);
  const byPath = new Map([...tensors].map(([name, t]) => [strip(name), t]));
  const wanted = flatten(template);
  const extra = [...byPath.keys()].filter((p) => !wanted.some(([w]) => w === p));
  if (extra.length) {
    throw new DataError(path, `tensors not in the model: ${extra.slice(0, 5).join(", ")}`);
  }
  const made = new Map<string, tf.Tensor>();
  for (const [p, t] of wanted) {
    const found = byPath.get(p);
    if (!found) {
      made.forEach((x) => x.dispose());
      throw new DataError(path, `missing tensor '${p}'`);
    }
    if (found.shape.join() !== t.shape.join()) {
      made.forEach((x) => x.dispose());
      throw new DataError(path, `'${p}' has shape [${found.shape}], the model needs [${t.shape}]`);
    }
    made.set(p, tf.tensor(found.data, t.shape, "float32"));
  }
  return map(template, (_, p) => made.get(p)!);
}

/**
 * Writes named float32 arrays as a safetensors file (atomically).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSafetensors, writeSafetensors } from "../mod.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const data = new Float32Array(19).fill(0.5);
 * await writeSafetensors(path, new Map([["head/aspp/0/bias", { shape: [19], data }]]));
 * const back = parseSafetensors(await Deno.readFile(path), path).get("head/aspp/0/bias")!;
 * assert.deepEqual([back.shape, back.data[18]], [[19], 0.5]);
 * await Deno.remove(path);
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
): Promise<void> {
  const header: Record<string, Entry> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) {
      throw new Error(`safetensors: '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    }
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  const view = new DataView(file.buffer);
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  await writeFileAtomic(path, file);
}
