/**
 * Checkpoints: the whole training state in one file, written atomically.
 *
 * Layout (format 2): the 8 bytes `UDACKPT1`, a little-endian uint32 header
 * length, the header (UTF-8 JSON: format version, the run's configuration,
 * the training position, and for every tensor its path, dtype, shape and
 * byte range), the tensors' raw little-endian bytes, and the SHA-256 of
 * everything before it (32 bytes), so that the header is covered as well as
 * the tensors: a truncated, corrupt or edited file is an error naming the
 * file and the problem, never a silent restart. Format 1 (the checksum in the
 * header, over the tensors only) is still read. A tree holding a NaN or an
 * infinity is never written.
 *
 * The bytes functions (`encodeCheckpoint`, `decodeCheckpoint`) use no file
 * system, so a page can build or read a checkpoint too; `saveCheckpoint` and
 * `loadCheckpoint` add the file (written atomically); `saveParams` and
 * `loadParams` are the short form for one parameter tree.
 *
 * @example Save G's parameters and load them back, typed by a template
 * ```ts
 * import assert from "node:assert/strict";
 * import { initDeepLab, loadParams, random, saveParams, tree } from "../mod.ts";
 *
 * const config = { depth: 18 as const, width: 0.125, classes: 3 };
 * const params = initDeepLab(random.key(0), config);
 * const path = await Deno.makeTempFile({ suffix: ".ckpt" });
 * await saveParams(path, params, { seg: config });
 * const loaded = await loadParams(path, initDeepLab(random.key(1), config)); // typed as DeepLabParams
 * assert.deepEqual(await loaded.head.aspp[0].kernel.data(), await params.head.aspp[0].kernel.data());
 * tree.dispose([params, loaded]);
 * ```
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import { flatten, map, type Tree } from "../lib/tree.ts";
import { DataError } from "../data/image_io.ts";
import { writeFileAtomic } from "../data/files.ts";

const MAGIC = "UDACKPT1";
/** The checkpoint format version this code writes (it reads 1 and 2). */
export const CHECKPOINT_FORMAT = 2;
const DIGEST_BYTES = 32;

/** Where training stands. */
export interface Position {
  /** The phase (warm-up, a method) this checkpoint belongs to. */
  phase: string;
  /** Steps done in this phase. */
  step: number;
  /** Whether the phase is complete. */
  done: boolean;
  /** Anything else needed to continue exactly (random key, stream positions). */
  [key: string]: unknown;
}

interface TensorEntry {
  path: string;
  dtype: "float32" | "int32";
  shape: number[];
  offset: number;
  length: number;
}

interface Header {
  format: number;
  config: unknown;
  position: Position;
  tensors: TensorEntry[];
  /** Format 1 only: the SHA-256 of the tensor bytes. */
  sha256?: string;
}

/** A loaded checkpoint: its header and its tensors' values by path. */
export interface Checkpoint {
  /** The configuration stored with it (the jobs store the run's options). */
  config: unknown;
  /** Where training stood. */
  position: Position;
  /** Values by path, without materialising tensors. */
  values: Map<
    string,
    { dtype: "float32" | "int32"; shape: number[]; data: Float32Array | Int32Array }
  >;
}

async function digest(bytes: Uint8Array): Promise<Uint8Array> {
  const view = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice();
  return new Uint8Array(await crypto.subtle.digest("SHA-256", view as Uint8Array<ArrayBuffer>));
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return [...await digest(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** What a checkpoint holds: any JSON configuration, the position, and a tree of tensors. */
export interface CheckpointContent {
  /** The configuration (JSON), e.g. the run's options. */
  config: unknown;
  /** Where training stands. */
  position: Position;
  /** The tensors: parameters, optimizer states, anything in a tree. */
  tensors: Tree;
}

/**
 * Writes a checkpoint of a tree of tensors (atomically: temporary file, then
 * rename). Values are read with `await data()`, so any backend works. A tree
 * holding a NaN or an infinity is refused, and nothing is written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCheckpoint, saveCheckpoint, tf } from "../mod.ts";
 * const path = await Deno.makeTempFile();
 * const w = tf.tensor1d([1, 2]);
 * await saveCheckpoint(path, { config: { lr: 1 }, position: { phase: "a", step: 3, done: false }, tensors: { w } });
 * assert.deepEqual((await loadCheckpoint(path)).position.step, 3);
 * w.dispose();
 * ```
 */
export async function saveCheckpoint(path: string, content: CheckpointContent): Promise<void> {
  await writeFileAtomic(path, await encodeCheckpoint(content, path));
}

/**
 * A checkpoint's bytes (the format above), from the tree's values. `path`
 * names the destination in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCheckpoint, encodeCheckpoint, tf } from "../mod.ts";
 * const w = tf.tensor1d([1, 2]);
 * const bytes = await encodeCheckpoint({ config: {}, position: { phase: "a", step: 0, done: true }, tensors: { w } });
 * assert.deepEqual([...(await decodeCheckpoint(bytes)).values.get("w")!.data], [1, 2]);
 * w.dispose();
 * ```
 */
export async function encodeCheckpoint(
  content: CheckpointContent,
  path = "checkpoint",
): Promise<Uint8Array> {
  const entries = flatten(content.tensors);
  const arrays = await Promise.all(entries.map(([, t]) => t.data()));
  entries.forEach(([p], i) => {
    const values = arrays[i];
    let bad = 0;
    for (let j = 0; j < values.length; j++) if (!Number.isFinite(values[j])) bad++;
    if (bad > 0) {
      throw new DataError(
        path,
        `not written: '${p}' holds ${bad} non-finite value(s) (a checkpoint is never written with NaN or infinity)`,
      );
    }
  });
  let offset = 0;
  const tensors: TensorEntry[] = entries.map(([p, t], i) => {
    if (t.dtype !== "float32" && t.dtype !== "int32") {
      throw new Error(`checkpoint: cannot store ${p} of dtype ${t.dtype}`);
    }
    const length = arrays[i].length * 4;
    const entry = { path: p, dtype: t.dtype, shape: t.shape, offset, length };
    offset += length;
    return entry;
  });
  const body = new Uint8Array(offset);
  arrays.forEach((values, i) => {
    const typed = tensors[i].dtype === "int32"
      ? Int32Array.from(values)
      : Float32Array.from(values);
    body.set(new Uint8Array(typed.buffer), tensors[i].offset);
  });
  const header: Header = {
    format: CHECKPOINT_FORMAT,
    config: content.config,
    position: content.position,
    tensors,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const covered = 8 + 4 + headerBytes.length + body.length;
  const file = new Uint8Array(covered + DIGEST_BYTES);
  file.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(file.buffer).setUint32(8, headerBytes.length, true);
  file.set(headerBytes, 12);
  file.set(body, 12 + headerBytes.length);
  file.set(await digest(file.subarray(0, covered)), covered);
  return file;
}

/**
 * Reads and verifies a checkpoint. Errors name the file and the problem: not
 * a checkpoint, another format version, a truncated file, a checksum
 * mismatch, a non-finite value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCheckpoint } from "../mod.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "not a checkpoint");
 * await assert.rejects(() => loadCheckpoint(path), /bad magic bytes/);
 * ```
 */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new DataError(path, `cannot read the checkpoint (${(error as Error).message})`);
  }
  return await decodeCheckpoint(bytes, path);
}

/**
 * Verifies and reads a checkpoint's bytes; `path` names them in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCheckpoint } from "../mod.ts";
 * await assert.rejects(() => decodeCheckpoint(new Uint8Array(4), "upload"), /upload: .*bad magic/);
 * ```
 */
export async function decodeCheckpoint(
  bytes: Uint8Array,
  path = "checkpoint",
): Promise<Checkpoint> {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new DataError(path, "not a checkpoint of this library (bad magic bytes)");
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + headerLength > bytes.length) {
    throw new DataError(path, "truncated checkpoint (the header is cut short)");
  }
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    throw new DataError(path, "corrupt checkpoint (the header is not valid JSON)");
  }
  if (header?.format !== 1 && header?.format !== 2) {
    throw new DataError(
      path,
      `checkpoint format ${header?.format}: this version reads formats 1 and 2 (a newer version wrote it?)`,
    );
  }
  const end = header.format === 2 ? bytes.length - DIGEST_BYTES : bytes.length;
  if (end < 12 + headerLength) {
    throw new DataError(path, "truncated checkpoint (the checksum is cut short)");
  }
  const body = bytes.subarray(12 + headerLength, end);
  const expected = header.tensors.reduce((n, t) => Math.max(n, t.offset + t.length), 0);
  if (body.length !== expected) {
    throw new DataError(
      path,
      `truncated or padded checkpoint: ${body.length} bytes of tensor data, the header describes ${expected}`,
    );
  }
  if (header.format === 2) {
    const stored = bytes.subarray(end);
    const actual = await digest(bytes.subarray(0, end));
    if (!actual.every((b, i) => b === stored[i])) {
      throw new DataError(
        path,
        "corrupt checkpoint (its header or tensor data does not match its checksum)",
      );
    }
  } else if ((await sha256(body)) !== header.sha256) {
    throw new DataError(path, "corrupt checkpoint (the tensor data does not match its checksum)");
  }
  const aligned = new Uint8Array(body); // copies to an aligned buffer
  const values: Checkpoint["values"] = new Map();
  for (const t of header.tensors) {
    const slice = aligned.buffer.slice(t.offset, t.offset + t.length);
    const data = t.dtype === "int32" ? new Int32Array(slice) : new Float32Array(slice);
    if (t.dtype === "float32") {
      // The writer never stores a NaN; one here was put there by other hands.
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new DataError(path, `'${t.path}' holds a non-finite value (${data[bad]})`);
      }
    }
    values.set(t.path, { dtype: t.dtype, shape: t.shape, data });
  }
  return { config: header.config, position: header.position, values };
}

/**
 * Fills a template tree (of the expected structure) with a checkpoint's
 * values under `prefix`: every path must be there with the template's shape,
 * or the error names the path. Returns new tensors; the template is left
 * alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCheckpoint, encodeCheckpoint, restoreTree, tf } from "../mod.ts";
 * const tensors = { params: { w: tf.tensor1d([1, 2]) } };
 * const checkpoint = await decodeCheckpoint(await encodeCheckpoint({ config: {}, position: { phase: "a", step: 0, done: true }, tensors }));
 * const w = restoreTree(checkpoint, "params", { w: tf.zeros([2]) }, "x.ckpt").w;
 * assert.deepEqual([...await w.data()], [1, 2]);
 * assert.throws(() => restoreTree(checkpoint, "params", { v: tf.zeros([2]) }, "x.ckpt"), /x.ckpt: the checkpoint has no tensor 'params\/v'/);
 * tf.dispose([tensors.params.w, w]);
 * ```
 */
export function restoreTree<T extends Tree>(
  checkpoint: Checkpoint,
  prefix: string,
  template: T,
  file: string,
): T {
  const entries = new Map(flatten(template));
  const out = new Map<string, tf.Tensor>();
  for (const [p, t] of entries) {
    const key = prefix ? `${prefix}/${p}` : p;
    const stored = checkpoint.values.get(key);
    if (!stored) {
      out.forEach((x) => x.dispose());
      throw new DataError(file, `the checkpoint has no tensor '${key}'`);
    }
    if (stored.shape.join() !== t.shape.join()) {
      out.forEach((x) => x.dispose());
      throw new DataError(file, `'${key}' has shape [${stored.shape}], expected [${t.shape}]`);
    }
    out.set(p, tf.tensor(stored.data, stored.shape, stored.dtype));
  }
  return map(template, (_, p) => out.get(p)!);
}

/**
 * Saves one parameter tree (G's, or a whole `Params`) as a checkpoint whose
 * tensors sit under `params/`, with an optional JSON configuration beside
 * them; `loadParams` reads it back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCheckpoint, saveParams, tf } from "../mod.ts";
 * const path = await Deno.makeTempFile();
 * const params = { w: tf.ones([2, 2]) };
 * await saveParams(path, params, { note: "tiny" });
 * assert.deepEqual((await loadCheckpoint(path)).config, { note: "tiny" });
 * params.w.dispose();
 * ```
 */
export async function saveParams<T extends Tree>(
  path: string,
  params: T,
  config: unknown = {},
): Promise<void> {
  await saveCheckpoint(path, {
    config,
    position: { phase: "params", step: 0, done: true },
    tensors: { params },
  });
}

/**
 * Loads a parameter tree saved by `saveParams` (or the `params` of a
 * training checkpoint of the jobs) into the structure of `template`, whose
 * type it returns: every path must be there with the template's shape, or
 * the error names the file and the path. The template is left alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadParams, saveParams, tf } from "../mod.ts";
 * const path = await Deno.makeTempFile();
 * const saved = { w: tf.tensor1d([3, 4]) };
 * await saveParams(path, saved);
 * await assert.rejects(() => loadParams(path, { w: tf.zeros([3]) }), /'params\/w' has shape \[2\], expected \[3\]/);
 * const loaded = await loadParams(path, { w: tf.zeros([2]) });
 * assert.deepEqual([...await loaded.w.data()], [3, 4]);
 * tf.dispose([saved.w, loaded.w]);
 * ```
 */
export async function loadParams<T extends Tree>(path: string, template: T): Promise<T> {
  return restoreTree(await loadCheckpoint(path), "params", template, path);
}
