/**
 * Prediction maps as images: colour-coded class maps (the Cityscapes palette
 * for Cityscapes classes) and overlays on the input image, written as PNG.
 *
 * @example
 * ```ts
 * import { colourise } from "./visualize.ts";
 * const rgb = colourise(new Uint8Array([0, 1, 255]), [[1, 2, 3], [4, 5, 6]]);
 * console.log(rgb); // Uint8Array [1, 2, 3, 4, 5, 6, 0, 0, 0]
 * ```
 *
 * @module
 */
import { encodePng, writeFileAtomic } from "./image_io.ts";

/**
 * Class indices → RGB by palette (ignored and unknown indices black).
 *
 * @example
 * ```ts ignore
 * const rgb = colourise(prediction, table.palette);
 * ```
 */
export function colourise(
  classes: ArrayLike<number>,
  palette: [number, number, number][],
): Uint8Array {
  const out = new Uint8Array(classes.length * 3);
  for (let i = 0; i < classes.length; i++) {
    const colour = palette[classes[i]];
    if (colour) out.set(colour, i * 3);
  }
  return out;
}

/**
 * Blends a colour map over an image: `alpha` of the colours (default 0.5).
 *
 * @example
 * ```ts
 * import { overlay } from "./visualize.ts";
 * console.log(overlay(new Uint8Array([200, 0, 0]), new Uint8Array([0, 0, 100]))); // Uint8Array [100, 0, 50]
 * ```
 */
export function overlay(image: Uint8Array, colours: Uint8Array, alpha = 0.5): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) {
    out[i] = Math.round((1 - alpha) * image[i] + alpha * colours[i]);
  }
  return out;
}

/**
 * Writes a prediction map (colour PNG) and its overlay on the image.
 *
 * @example
 * ```ts ignore
 * await writePrediction("run/pred/0", { width, height, image, prediction }, table.palette);
 * ```
 */
export async function writePrediction(
  basePath: string,
  sample: { width: number; height: number; image: Uint8Array; prediction: ArrayLike<number> },
  palette: [number, number, number][],
): Promise<{ map: string; overlay: string }> {
  const colours = colourise(sample.prediction, palette);
  const map = `${basePath}_pred.png`, over = `${basePath}_overlay.png`;
  const image = (data: Uint8Array) =>
    encodePng({ width: sample.width, height: sample.height, channels: 3, data });
  await writeFileAtomic(map, image(colours));
  await writeFileAtomic(over, image(overlay(sample.image, colours)));
  return { map, overlay: over };
}

/**
 * Writes class indices as a single-channel PNG (the label format).
 *
 * @example
 * ```ts ignore
 * await writeLabelPng("out/x_label.png", width, height, prediction);
 * ```
 */
export async function writeLabelPng(
  path: string,
  width: number,
  height: number,
  classes: Uint8Array,
): Promise<void> {
  await writeFileAtomic(path, encodePng({ width, height, channels: 1, data: classes }));
}
