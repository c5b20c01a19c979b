/**
 * Letters as glyphs for the scene benchmark: "other glyphs" than MNIST's
 * digits, drawn from fonts, to check that a recipe chosen on the digits holds
 * on glyphs it was not tuned on. The ten letters A–J (classes 1 … 10) are
 * rendered from the fonts in `data/fonts/` (SIL Open Font License or Apache
 * 2.0, see `SOURCES.md` there) as 28×28 grey images in MNIST's manner (the
 * glyph fitted in a 20×20 box, centred, anti-aliased), each in many variants
 * (rotation, shear, scale, stroke weight) drawn from a fixed seed.
 *
 * Splits are by font, so that the test glyphs come from fonts training never
 * saw: training uses five fonts, validation one, test two.
 *
 * @example
 * ```ts ignore
 * const letters = await loadLetters();
 * console.log(letters.train.count, letters.test.rows); // 5000 28
 * ```
 *
 * @module
 */
import opentype from "npm:opentype.js@1.3.4";
import { foldIn, key, uniformValues } from "../lib/random.ts";
import type { MnistSplit } from "./mnist.ts";
import { DataError } from "./image_io.ts";

/** The fonts of each split (files `data/fonts/<name>.woff`). */
export const LETTER_FONTS: Readonly<Record<"train" | "val" | "test", readonly string[]>> = {
  train: ["roboto", "roboto-slab", "lato", "oswald", "merriweather"],
  val: ["roboto-condensed"],
  test: ["pt-serif", "roboto-mono"],
};

/** The letters, in class order (class id − 1). */
export const LETTERS = "ABCDEFGHIJ";

/** Variants rendered per letter and font. */
export const VARIANTS_PER_FONT = 100;

/** Letters of each split, as MNIST-shaped arrays. */
export interface Letters {
  train: MnistSplit;
  val: MnistSplit;
  test: MnistSplit;
}

interface PathCommand {
  type: "M" | "L" | "Q" | "C" | "Z";
  x?: number;
  y?: number;
  x1?: number;
  y1?: number;
  x2?: number;
  y2?: number;
}

interface Font {
  charToGlyph(
    c: string,
  ): { getPath(x: number, y: number, size: number): { commands: PathCommand[] } };
}

/** A glyph outline flattened into closed polygons of [x, y] points. */
function polygons(commands: PathCommand[]): [number, number][][] {
  const out: [number, number][][] = [];
  let current: [number, number][] = [];
  let x = 0, y = 0;
  const STEPS = 5;
  for (const c of commands) {
    if (c.type === "M") {
      if (current.length > 2) out.push(current);
      current = [[c.x!, c.y!]];
      [x, y] = [c.x!, c.y!];
    } else if (c.type === "L") {
      current.push([c.x!, c.y!]);
      [x, y] = [c.x!, c.y!];
    } else if (c.type === "Q") {
      for (let i = 1; i <= STEPS; i++) {
        const t = i / STEPS, u = 1 - t;
        current.push([
          u * u * x + 2 * u * t * c.x1! + t * t * c.x!,
          u * u * y + 2 * u * t * c.y1! + t * t * c.y!,
        ]);
      }
      [x, y] = [c.x!, c.y!];
    } else if (c.type === "C") {
      for (let i = 1; i <= STEPS; i++) {
        const t = i / STEPS, u = 1 - t;
        current.push([
          u * u * u * x + 3 * u * u * t * c.x1! + 3 * u * t * t * c.x2! + t * t * t * c.x!,
          u * u * u * y + 3 * u * u * t * c.y1! + 3 * u * t * t * c.y2! + t * t * t * c.y!,
        ]);
      }
      [x, y] = [c.x!, c.y!];
    } else if (c.type === "Z") {
      if (current.length > 2) out.push(current);
      current = [];
    }
  }
  if (current.length > 2) out.push(current);
  return out;
}

/** Coverage (0…1) of a side×side grid by polygons under the non-zero rule, 4×4 samples a pixel. */
function rasterise(shapes: [number, number][][], side: number): Float32Array {
  const out = new Float32Array(side * side);
  const S = 4;
  for (let py = 0; py < side; py++) {
    for (let sy = 0; sy < S; sy++) {
      const y = py + (sy + 0.5) / S;
      // Crossings of this scan line, with their winding direction.
      const crossings: [number, number][] = [];
      for (const poly of shapes) {
        for (let i = 0; i < poly.length; i++) {
          const [x0, y0] = poly[i], [x1, y1] = poly[(i + 1) % poly.length];
          if ((y0 <= y && y1 > y) || (y1 <= y && y0 > y)) {
            crossings.push([x0 + ((y - y0) / (y1 - y0)) * (x1 - x0), y1 > y0 ? 1 : -1]);
          }
        }
      }
      crossings.sort((a, b) => a[0] - b[0]);
      for (let px = 0; px < side; px++) {
        for (let sx = 0; sx < S; sx++) {
          const x = px + (sx + 0.5) / S;
          let winding = 0;
          for (const [cx, dir] of crossings) {
            if (cx > x) break;
            winding += dir;
          }
          if (winding !== 0) out[py * side + px] += 1 / (S * S);
        }
      }
    }
  }
  return out;
}

/** A grey max-filter of radius 1 (a heavier stroke). */
function embolden(v: Float32Array, side: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let m = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < side && xx >= 0 && xx < side) m = Math.max(m, v[yy * side + xx]);
        }
      }
      out[y * side + x] = m;
    }
  }
  return out;
}

/**
 * One letter of one font as a 28×28 grey image: the outline transformed by
 * rotation, shear and scale, fitted in a 20×20 box at the centre, rasterised,
 * optionally emboldened.
 */
function renderLetter(
  font: Font,
  letter: string,
  variant: { angle: number; shear: number; aspect: number; bold: boolean },
): Uint8Array {
  const raw = font.charToGlyph(letter).getPath(0, 0, 100).commands;
  const cos = Math.cos(variant.angle), sin = Math.sin(variant.angle);
  const transformed = raw.map((c) => {
    const t = (px?: number, py?: number): [number | undefined, number | undefined] => {
      if (px === undefined || py === undefined) return [px, py];
      const sx = (px + variant.shear * py) * variant.aspect;
      return [cos * sx - sin * py, sin * sx + cos * py];
    };
    const [x, y] = t(c.x, c.y), [x1, y1] = t(c.x1, c.y1), [x2, y2] = t(c.x2, c.y2);
    return { ...c, x, y, x1, y1, x2, y2 };
  });
  const shapes = polygons(transformed);
  const points = shapes.flat();
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [
    Math.min(...xs),
    Math.max(...xs),
    Math.min(...ys),
    Math.max(...ys),
  ];
  const scale = 20 / Math.max(maxX - minX, maxY - minY, 1e-6);
  const fitted = shapes.map((poly) =>
    poly.map(([x, y]) =>
      [
        14 + (x - (minX + maxX) / 2) * scale,
        14 + (y - (minY + maxY) / 2) * scale,
      ] as [number, number]
    )
  );
  let coverage = rasterise(fitted, 28);
  if (variant.bold) coverage = embolden(coverage, 28);
  return Uint8Array.from(coverage, (v) => Math.round(255 * Math.min(1, v)));
}

async function loadFont(name: string): Promise<Font> {
  const url = new URL(`./fonts/${name}.woff`, import.meta.url);
  let bytes: Uint8Array;
  try {
    bytes = url.protocol === "file:"
      ? await Deno.readFile(url)
      : new Uint8Array(await (await fetch(url)).arrayBuffer());
  } catch (error) {
    throw new DataError(url.href, `cannot read the font (${(error as Error).message})`);
  }
  try {
    return opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  } catch (error) {
    throw new DataError(url.href, `not a font opentype.js can read (${(error as Error).message})`);
  }
}

async function renderSplit(fonts: readonly string[], seed: number): Promise<MnistSplit> {
  const count = fonts.length * LETTERS.length * VARIANTS_PER_FONT;
  const images = new Uint8Array(count * 28 * 28), labels = new Uint8Array(count);
  let n = 0;
  for (const [f, name] of fonts.entries()) {
    const font = await loadFont(name);
    for (let l = 0; l < LETTERS.length; l++) {
      for (let v = 0; v < VARIANTS_PER_FONT; v++) {
        const [a, s, r, b] = uniformValues(foldIn(foldIn(foldIn(key(seed), f), l), v), 4);
        images.set(
          renderLetter(font, LETTERS[l], {
            angle: (a - 0.5) * (Math.PI / 6), // ±15°
            shear: (s - 0.5) * 0.5,
            aspect: 0.8 + 0.4 * r,
            bold: b < 0.5,
          }),
          n * 28 * 28,
        );
        labels[n] = l;
        n++;
      }
    }
  }
  return { count, rows: 28, cols: 28, images, labels };
}

/**
 * Renders the letters of every split (a few seconds on one core).
 *
 * @example
 * ```ts ignore
 * const { train } = await loadLetters();
 * ```
 */
export async function loadLetters(): Promise<Letters> {
  return {
    train: await renderSplit(LETTER_FONTS.train, 1),
    val: await renderSplit(LETTER_FONTS.val, 2),
    test: await renderSplit(LETTER_FONTS.test, 3),
  };
}
