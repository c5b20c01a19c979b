/**
 * Prediction maps as images: colour-coded class maps (the Cityscapes palette
 * for Cityscapes classes) and overlays on the input image, written as PNG.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colourise } from "./visualize.ts";
 * const rgb = colourise(new Uint8Array([0, 1, 255]), [[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(rgb, Uint8Array.from([1, 2, 3, 4, 5, 6, 0, 0, 0]));
 * ```
 *
 * @module
 */
import { encodePng } from "./image_io.ts";
import { writeFileAtomic } from "./files.ts";

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
 * import assert from "node:assert/strict";
 * import { overlay } from "./visualize.ts";
 * assert.deepEqual(overlay(new Uint8Array([200, 0, 0]), new Uint8Array([0, 0, 100])), Uint8Array.from([100, 0, 50]));
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

/** One column of a panel: a title and an RGB image, or a class map to colour. */
export interface PanelColumn {
  title: string;
  /** RGB bytes (the input image). */
  rgb?: Uint8Array;
  /** Class indices (255: ignore, drawn black) coloured by the palette. */
  classes?: ArrayLike<number>;
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

const xml = (s: string) =>
  s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);

/**
 * One sample side by side as an SVG page: image | ground truth | each
 * model's prediction, each column titled, scaled up without smoothing, with
 * a legend of the classes that appear (names and palette colours). The
 * images are PNGs inside the SVG, so one file shows the whole comparison.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { panelSvg } from "./visualize.ts";
 * const svg = panelSvg("scene 1", 2, 1, [
 *   { title: "image", rgb: new Uint8Array([0, 0, 0, 255, 255, 255]) },
 *   { title: "ground truth", classes: [0, 1] },
 * ], ["sky", "road"], [[0, 0, 255], [128, 64, 128]]);
 * assert.deepEqual(svg.startsWith("<svg") && svg.includes("road"), true);
 * ```
 */
export function panelSvg(
  caption: string,
  width: number,
  height: number,
  columns: readonly PanelColumn[],
  names: readonly string[],
  palette: [number, number, number][],
): string {
  // Small maps are enlarged (pixelated), large ones shown at most 256 px on a side.
  const scale = Math.min(4, 256 / Math.max(width, height));
  const w = Math.round(width * scale), h = Math.round(height * scale), gap = 8, top = 38;
  const present = new Set<number>();
  const cells = columns.map((column, i) => {
    const data = column.rgb ?? colourise(column.classes ?? [], palette);
    if (column.classes) {
      for (let p = 0; p < column.classes.length; p++) {
        if (column.classes[p] < names.length) present.add(column.classes[p]);
      }
    }
    const png = encodePng({ width, height, channels: 3, data });
    const href = `data:image/png;base64,${base64(png)}`;
    const x = gap + i * (w + gap);
    return `<text x="${x + w / 2}" y="${top - 8}" text-anchor="middle">${
      xml(column.title)
    }</text>` +
      `<image x="${x}" y="${top}" width="${w}" height="${h}" href="${href}" ` +
      `style="image-rendering:pixelated" preserveAspectRatio="none"/>`;
  });
  const legend = [...present].sort((a, b) => a - b).map((c, i) => {
    const x = gap + (i % 6) * 120, y = top + h + 20 + Math.floor(i / 6) * 18;
    const [r, g, b] = palette[c] ?? [0, 0, 0];
    return `<rect x="${x}" y="${
      y - 10
    }" width="12" height="12" fill="rgb(${r},${g},${b})" stroke="#444"/>` +
      `<text x="${x + 16}" y="${y}">${xml(names[c])}</text>`;
  });
  const totalWidth = Math.max(gap + columns.length * (w + gap), 6 * 120 + gap);
  const totalHeight = top + h + 20 + Math.ceil(Math.max(1, legend.length) / 6) * 18 + 4;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${totalWidth}" height="${totalHeight}" ` +
    `font-family="sans-serif" font-size="12">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${gap}" y="14" font-weight="bold">${xml(caption)}</text>` +
    cells.join("") + legend.join("") + `</svg>\n`;
}
