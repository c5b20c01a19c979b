/**
 * The folder data set the folder tests build: two classes of squares on a
 * background, named splits, one class list at the root, unlabelled target
 * training images, a labelled target evaluation split with two sub-domains
 * in a CRLF `domains.csv`.
 */
import { join } from "node:path";
import { encodePng } from "../data/image_io.ts";
import { TINY_MODEL } from "./helpers.ts";

/** The side of every image of the test data set. */
export const SIDE = 32;
/** The tiny job flags every folder test runs with. */
export const TINY: readonly string[] = [
  "--dataset",
  "folder",
  ...TINY_MODEL,
  "--warmup-steps",
  "1",
  "--steps",
  "2",
  "--checkpoint-every",
  "1",
];

/** A scene: background 0, a square of class 1 and one of class 2; the target's colours differ. */
export function scene(seed: number, target: boolean) {
  const image = new Uint8Array(SIDE * SIDE * 3), label = new Uint8Array(SIDE * SIDE);
  const tint = target ? [40, 90, 140] : [20, 20, 20];
  for (let i = 0; i < SIDE * SIDE; i++) image.set(tint, i * 3);
  const square = (x0: number, y0: number, cls: number, rgb: number[]) => {
    for (let y = y0; y < y0 + 8; y++) {
      for (let x = x0; x < x0 + 8; x++) {
        image.set(rgb, (y * SIDE + x) * 3);
        label[y * SIDE + x] = cls;
      }
    }
  };
  square((seed * 5) % 20, (seed * 3) % 20, 1, target ? [200, 120, 90] : [230, 30, 30]);
  square(
    20 - ((seed * 7) % 16),
    22 - ((seed * 2) % 10),
    2,
    target ? [90, 200, 160] : [30, 230, 30],
  );
  return { image, label };
}

export async function writeSplit(
  dir: string,
  names: string[],
  options: { target: boolean; labels: boolean; seed: number },
) {
  await Deno.mkdir(join(dir, "images"), { recursive: true });
  if (options.labels) await Deno.mkdir(join(dir, "labels"), { recursive: true });
  for (const [i, name] of names.entries()) {
    const { image, label } = scene(options.seed + i, options.target);
    await Deno.writeFile(
      join(dir, "images", `${name}.png`),
      encodePng({ width: SIDE, height: SIDE, channels: 3, data: image }),
    );
    if (options.labels) {
      await Deno.writeFile(
        join(dir, "labels", `${name}.png`),
        encodePng({ width: SIDE, height: SIDE, channels: 1, data: label }),
      );
    }
  }
}

/** The data set's class list, as `classes.json` holds it. */
export const CLASSES = JSON.stringify({ names: ["background", "red", "green"] });
/** `n` file names with a prefix: s000, s001, … */
export const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);

/** DATA/{classes.json, source/train, target/train (no labels), target/val, target/eval + domains.csv}. */
export async function makeDataRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "uda-folder-" });
  await Deno.writeTextFile(join(root, "classes.json"), CLASSES);
  await writeSplit(join(root, "source/train"), names("s", 10), {
    target: false,
    labels: true,
    seed: 0,
  });
  await writeSplit(join(root, "target/train"), names("t", 8), {
    target: true,
    labels: false,
    seed: 100,
  });
  await writeSplit(join(root, "target/val"), names("v", 4), {
    target: true,
    labels: true,
    seed: 200,
  });
  const evalNames = names("e", 6);
  await writeSplit(join(root, "target/eval"), evalNames, { target: true, labels: true, seed: 300 });
  // Two sub-domains, Windows line ends, a header, ids with and without the extension.
  await Deno.writeTextFile(
    join(root, "target/eval/domains.csv"),
    "id,domain\r\n" +
      evalNames.map((n, i) => `${i % 2 ? n + ".png" : n},${i < 3 ? "rain" : "fog"}`).join("\r\n") +
      "\r\n",
  );
  return root;
}
