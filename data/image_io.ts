/**
 * Reading and writing images: PNG through `fast-png` (pure JavaScript, 8- and
 * 16-bit, palettes; chosen because it needs no native code or wasm and
 * decodes every PNG the UDA data sets use). Every error names the file and
 * the problem; files are written through `writeFileAtomic` (`files.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage, encodePng } from "./image_io.ts";
 * const png = encodePng({ width: 2, height: 1, channels: 3, data: new Uint8Array([255, 0, 0, 0, 0, 255]) });
 * const back = decodeImage(png, "memory.png");
 * assert.deepEqual([back.width, back.channels, back.data[0]], [2, 3, 255]);
 * ```
 *
 * @module
 */
import { decode, encode } from "npm:fast-png@8.0.0";

/** A decoded image: interleaved channels, row-major. */
export interface RawImage {
  width: number;
  height: number;
  /** 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** 8- or 16-bit samples. */
  data: Uint8Array | Uint16Array;
}

/** An error about one file of a data set: the message starts with its path. */
export class DataError extends Error {
  /** The file (or folder) concerned. */
  readonly path: string;
  /** Builds the error; the message reads `path: problem`. */
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "DataError";
    this.path = path;
  }
}

/**
 * The most pixels an image may declare before it is decoded (40 million: a
 * 2048×1024 Cityscapes frame is 2.1 million). A PNG's header states its size,
 * and a small file can declare a huge one (a decompression bomb), so the
 * header is checked first; `maxPixels` (the jobs' `--max-image-pixels`) raises
 * the limit.
 */
export const MAX_IMAGE_PIXELS = 40_000_000;

/**
 * A PNG's width and height from its header (the IHDR chunk), without
 * decoding it; undefined where the header is not there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePng, pngSize } from "./image_io.ts";
 * const png = encodePng({ width: 3, height: 2, channels: 1, data: new Uint8Array(6) });
 * assert.deepEqual(pngSize(png), { width: 3, height: 2 });
 * ```
 */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const ihdr = bytes.length >= 24 && bytes[12] === 0x49 && bytes[13] === 0x48 &&
    bytes[14] === 0x44 && bytes[15] === 0x52;
  if (!ihdr) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Decodes a PNG. Palettes are expanded to RGB unless `expandPalette: false`
 * (label files whose palette indices are the class ids, as GTA5's). A
 * corrupt or truncated file is a {@linkcode DataError} naming it.
 *
 * @example
 * ```ts
 * import { decodeImage } from "./image_io.ts";
 * try { decodeImage(new Uint8Array([1, 2, 3]), "broken.png"); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function decodeImage(
  bytes: Uint8Array,
  path: string,
  options: { expandPalette?: boolean; maxPixels?: number } = {},
): RawImage {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e &&
    bytes[3] === 0x47;
  if (!isPng) throw new DataError(path, "not a PNG file (bad signature)");
  const size = pngSize(bytes);
  const limit = options.maxPixels ?? MAX_IMAGE_PIXELS;
  if (size && size.width * size.height > limit) {
    throw new DataError(
      path,
      `declares ${size.width}×${size.height} = ${
        (size.width * size.height).toLocaleString("en")
      } pixels, above the limit of ${
        limit.toLocaleString("en")
      }; not decoded (--max-image-pixels raises the limit)`,
    );
  }
  let png;
  try {
    png = decode(bytes);
  } catch (error) {
    const detail = (error as Error).message.replace(/[\s:]+$/, "");
    // Every complete PNG ends with its IEND chunk: without it the file was cut short.
    const truncated = !endsWithIend(bytes);
    throw new DataError(
      path,
      (truncated
        ? `truncated PNG: the file ends after ${bytes.length} bytes, before its end marker (IEND)`
        : `corrupt PNG: ${detail}`) +
        "; copy or export the image again, or remove it",
    );
  }
  // fast-png's type allows a clamped array; a view of the same bytes is what we read.
  let data: Uint8Array | Uint16Array = png.data instanceof Uint8ClampedArray
    ? new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length)
    : png.data;
  let channels = png.channels;
  const palette = png.palette;
  if (palette && channels === 1 && options.expandPalette !== false) {
    const rgb = new Uint8Array(png.width * png.height * 3);
    for (let i = 0; i < png.width * png.height; i++) {
      const entry = palette[data[i]];
      if (!entry) throw new DataError(path, `palette index ${data[i]} out of range`);
      rgb.set(entry.slice(0, 3), i * 3);
    }
    data = rgb;
    channels = 3;
  }
  if (data.length < png.width * png.height * channels) {
    throw new DataError(path, "truncated pixel data");
  }
  return { width: png.width, height: png.height, channels, data };
}

/**
 * Reads and decodes an image file.
 *
 * @example
 * ```ts ignore
 * const image = await readImage("leftImg8bit/val/frankfurt/x.png");
 * ```
 */
export async function readImage(
  path: string,
  options: { expandPalette?: boolean; maxPixels?: number } = {},
): Promise<RawImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new DataError(path, `cannot read (${(error as Error).message})`);
  }
  return decodeImage(bytes, path, options);
}

/**
 * RGB bytes of an 8-bit image (grey replicated, alpha dropped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toRgb } from "./image_io.ts";
 * assert.deepEqual(toRgb({ width: 1, height: 1, channels: 1, data: new Uint8Array([7]) }, "x"), Uint8Array.from([7, 7, 7]));
 * ```
 */
export function toRgb(image: RawImage, path: string): Uint8Array {
  if (image.data instanceof Uint16Array) {
    throw new DataError(path, "expected an 8-bit image, got 16-bit");
  }
  const n = image.width * image.height;
  if (image.channels === 3) return image.data as Uint8Array;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const base = i * image.channels;
    if (image.channels <= 2) out.fill(image.data[base], i * 3, i * 3 + 3);
    else for (let c = 0; c < 3; c++) out[i * 3 + c] = image.data[base + c];
  }
  return out;
}

/**
 * Encodes 8-bit pixels as PNG.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePng } from "./image_io.ts";
 * assert.deepEqual(encodePng({ width: 1, height: 1, channels: 1, data: new Uint8Array([0]) }).length > 0, true);
 * ```
 */
export function encodePng(image: RawImage): Uint8Array {
  return encode({
    width: image.width,
    height: image.height,
    data: image.data,
    channels: image.channels,
    depth: image.data instanceof Uint16Array ? 16 : 8,
  });
}

const IEND = [0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

/** Whether a PNG file's bytes end with the IEND chunk's type and checksum. */
function endsWithIend(bytes: Uint8Array): boolean {
  if (bytes.length < IEND.length) return false;
  const tail = bytes.subarray(bytes.length - IEND.length);
  return IEND.every((b, i) => tail[i] === b);
}
