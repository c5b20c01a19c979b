import assert from "node:assert/strict";
import { join } from "node:path";
import { encode } from "fast-png";
import { tf } from "../lib/tf.ts";
import { key } from "../lib/random.ts";
import {
  DIGITS_PHOTOS,
  loadDigitsBenchmark,
  SHIFT_GROUPS,
  shiftGroupOf,
  TARGET_STYLES,
} from "../data/digits.ts";
import { LETTER_FONTS } from "../data/glyphs.ts";
import { cityscapes, digitsDataset, gta5, synthia } from "../data/datasets.ts";
import { folder } from "../data/folder.ts";
import { CITYSCAPES_CLASSES, cityscapesTable, PROTOCOLS, synthiaTable } from "../data/labels.ts";
import { batches } from "../data/stream.ts";
import { decodeImage, encodePng } from "../data/image_io.ts";
import { classesOf, openData } from "../data/plan.ts";
import { DATASETS } from "../data/registry.ts";
import { OPTIONS, parseOptions } from "../cli/options.ts";
import { on } from "./helpers.ts";

await on("cpu");
const bench = await loadDigitsBenchmark();

// ------------------------------------------------------------ the registry

Deno.test("data sets: --dataset's choices are the registry's names, and the plan takes its habits from there", async () => {
  assert.deepEqual(OPTIONS.dataset.choices, Object.keys(DATASETS));
  for (const [name, definition] of Object.entries(DATASETS)) {
    assert.match(
      OPTIONS.dataset.help,
      new RegExp(`${name} — ${RegExp.escape(definition.description)}`),
    );
  }
  const o = await parseOptions([]);
  const plan = await openData(o, key(0));
  assert.deepEqual([plan.flip, plan.shuffle], [
    DATASETS.digits.habits.flip,
    DATASETS.digits.habits.shuffle,
  ]);
  assert.equal((await openData({ ...o, flip: "on" }, key(0))).flip, true);
  assert.deepEqual((await classesOf(o)).names, plan.classes.names);
  await assert.rejects(
    openData({ ...o, dataset: "nope" }, key(0)),
    /unknown dataset nope \(known: digits, gta5-cityscapes, synthia-cityscapes, folder\)/,
  );
  await assert.rejects(
    openData({ ...o, dataRoot: "/data" }, key(0)),
    /--data-root applies to --dataset folder, not digits/,
  );
  await assert.rejects(
    openData({ ...o, dataset: "folder", dataRoot: "/data", targetShift: "per-class" }, key(0)),
    /--target-shift per-class applies to --dataset digits \(the embedded benchmarks\), not folder/,
  );
});

// ------------------------------------------------------------ digits benchmark

Deno.test("digits: scenes are deterministic, labelled by stroke, unpaired across domains", () => {
  const a = bench.scene(key(3), 5, { split: "train", domain: "target" });
  const b = bench.scene(key(3), 5, { split: "train", domain: "target" });
  assert.deepEqual(a, b);
  const source = bench.scene(key(3), 5, { split: "train", domain: "source" });
  assert.notDeepEqual(source.label, a.label, "source and target scenes share digits");
  assert.equal(source.style, undefined);
  // In source scenes a pixel is a digit exactly where its stroke is above 127.
  for (let i = 0; i < source.label.length; i++) {
    assert.equal(source.label[i] > 0, source.image[i * 3] > 127, `pixel ${i}`);
  }
  assert.ok(a.label.every((v) => v <= 10) && a.label.some((v) => v > 0));
  const other = bench.scene(key(4), 5, { split: "train", domain: "target" });
  assert.notDeepEqual(other.image, a.image);
});

Deno.test("digits: the target is multi-modal and records its sub-style; sizes are configurable", () => {
  const styles = new Set<string>();
  for (let i = 0; i < 30; i++) {
    styles.add(bench.scene(key(0), i, { split: "eval", domain: "target" }).style!);
  }
  assert.deepEqual([...styles].sort(), [...TARGET_STYLES].sort());
  const small = bench.scene(key(0), 0, { split: "train", domain: "target" }, {
    size: 48,
    digits: [1, 1],
    styles: ["inverted"],
  });
  assert.equal(small.width, 48);
  assert.equal(small.image.length, 48 * 48 * 3);
  assert.equal(small.style, "inverted");
  assert.throws(
    () => bench.scene(key(0), 0, { split: "train", domain: "target" }, { size: 8 }),
    /size must be an integer ≥ 32/,
  );
  assert.throws(
    () =>
      bench.scene(key(0), 0, { split: "train", domain: "target" }, { styles: ["fog" as "mnistm"] }),
    /styles must be among/,
  );
});

Deno.test("digits, per-class shift: the same scenes and labels, each class group its own stroke look", () => {
  const perClass = { shift: "per-class" as const };
  // Source scenes and labels do not depend on the target's shift.
  for (const domain of ["source", "target"] as const) {
    const a = bench.scene(key(3), 9, { split: "train", domain });
    const b = bench.scene(key(3), 9, { split: "train", domain }, perClass);
    assert.deepEqual(b.label, a.label);
    if (domain === "source") assert.deepEqual(b.image, a.image);
    else assert.notDeepEqual(b.image, a.image);
  }
  // Over many scenes, per group: the mean brightness of stroke pixels minus the scene's
  // background, and their chroma (max − min channel). Dark strokes (group 0) sit well below the
  // background and below the other groups; tinted ones (group 2) are the colourful ones.
  const contrast = [0, 0, 0], chroma = [0, 0, 0], counts = [0, 0, 0];
  const styles = new Set<string | undefined>();
  for (let i = 0; i < 60; i++) {
    const s = bench.scene(key(0), i, { split: "train", domain: "target" }, perClass);
    styles.add(s.style);
    let background = 0, n = 0;
    for (let p = 0; p < s.label.length; p++) {
      if (s.label[p] === 0) {
        background += s.image[p * 3] + s.image[p * 3 + 1] + s.image[p * 3 + 2];
        n++;
      }
    }
    background /= 3 * n;
    for (let p = 0; p < s.label.length; p++) {
      const group = shiftGroupOf(s.label[p]);
      if (group < 0) continue;
      const rgb = [s.image[p * 3], s.image[p * 3 + 1], s.image[p * 3 + 2]];
      contrast[group] += (rgb[0] + rgb[1] + rgb[2]) / 3 - background;
      chroma[group] += Math.max(...rgb) - Math.min(...rgb);
      counts[group]++;
    }
  }
  const mean = contrast.map((v, g) => v / counts[g]);
  const colour = chroma.map((v, g) => v / counts[g]);
  assert.ok(counts.every((n) => n > 0), `stroke pixels per group ${counts}`);
  assert.ok(mean[0] < -60 && mean[0] < Math.min(mean[1], mean[2]) - 30, `brightness ${mean}`);
  assert.ok(colour[2] > 100 && colour[2] > 2 * Math.max(colour[0], colour[1]), `chroma ${colour}`);
  assert.deepEqual([...styles], [undefined]);
  assert.deepEqual(SHIFT_GROUPS.flat().sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.throws(
    () =>
      bench.scene(key(0), 0, { split: "train", domain: "target" }, {
        shift: "per-pixel" as "per-class",
      }),
    /shift must be one of per-image, per-class/,
  );
});

Deno.test("digits: the validation split is its own stream; an unknown split is an error", () => {
  const at = (split: "train" | "val" | "eval") =>
    bench.scene(key(1), 2, { split, domain: "target" });
  assert.deepEqual(at("val"), at("val"));
  assert.notDeepEqual(at("val").image, at("train").image);
  assert.notDeepEqual(at("val").image, at("eval").image);
  assert.throws(
    () => bench.scene(key(1), 2, { split: "dev" as "val", domain: "target" }),
    /split must be train, val or eval/,
  );
});

Deno.test("letters: glyphs rendered from fonts split by font, each font licensed; scenes labelled by stroke", async () => {
  const fonts = Object.values(LETTER_FONTS).flat();
  assert.equal(new Set(fonts).size, fonts.length, "a font in two splits");
  const sources = await Deno.readTextFile(new URL("../data/fonts/SOURCES.md", import.meta.url));
  for (const name of fonts) {
    assert.ok(sources.includes(`\`${name}.woff\``), `${name} has no source line`);
    await Deno.stat(new URL(`../data/fonts/${name}.LICENSE`, import.meta.url));
  }
  const letters = await loadDigitsBenchmark({ glyphs: "letters" });
  const scene = letters.scene(key(0), 3, { split: "eval", domain: "source" });
  for (let i = 0; i < scene.label.length; i++) {
    assert.equal(scene.label[i] > 0, scene.image[i * 3] > 127, `pixel ${i}`);
  }
  assert.ok(scene.label.some((v) => v > 0));
  const data = digitsDataset(letters, key(0), { split: "train", domain: "target", length: 4 });
  assert.equal(data.classes.names[1], "letter A");
  assert.equal(data.description, "letters train target");
  await assert.rejects(
    () => loadDigitsBenchmark({ glyphs: "runes" as "letters" }),
    /glyphs must be digits or letters/,
  );
});

Deno.test("digits: training and evaluation photographs are disjoint, and each is sourced", async () => {
  const train = new Set(DIGITS_PHOTOS.train), evaluation = new Set(DIGITS_PHOTOS.eval);
  assert.ok([...train].every((p) => !evaluation.has(p)));
  const sources = await Deno.readTextFile(new URL("../data/photos/SOURCES.md", import.meta.url));
  for (const [split, names] of Object.entries(DIGITS_PHOTOS)) {
    for (const name of names) {
      assert.ok(
        sources.includes(`${split}/${name}.png`),
        `${split}/${name}.png has no source line`,
      );
      await Deno.stat(new URL(`../data/photos/${split}/${name}.png`, import.meta.url));
    }
  }
});

// ------------------------------------------------------------------ label tables

Deno.test("the Cityscapes table maps label ids onto 0 … 18 plus 255, each train id once", () => {
  const table = cityscapesTable();
  const mapped = Array.from({ length: 34 }, (_, id) => table.lookup[id]);
  assert.ok(mapped.every((t) => (t >= 0 && t <= 18) || t === 255));
  assert.deepEqual([...new Set(mapped.filter((t) => t !== 255))].sort((a, b) => a - b), [
    ...Array(19).keys(),
  ]);
  assert.equal(table.lookup[255], 255);
  assert.equal(table.lookup[34], -1, "ids beyond the table are unknown");
  assert.equal(CITYSCAPES_CLASSES[13], "car");
  assert.deepEqual(table.palette[0], [128, 64, 128]);
  assert.equal(PROTOCOLS["16"].length, 16);
  assert.equal(PROTOCOLS["13"].length, 13);
  assert.ok(PROTOCOLS["13"].every((c) => PROTOCOLS["16"].includes(c)));
  const synthia16 = synthiaTable();
  assert.equal(synthia16.names.length, 16);
  const reached = new Set(
    Array.from({ length: 23 }, (_, id) => synthia16.lookup[id]).filter((v) => v !== 255),
  );
  assert.equal(reached.size, 16);
  assert.equal(synthiaTable("13").names.length, 13);
});

// ------------------------------------------------------------ layouts (fixtures)

const png = (width: number, height: number, channels: number, data: Uint8Array | Uint16Array) =>
  encodePng({ width, height, channels, data });
const rgb = (w: number, h: number, seed: number) =>
  png(w, h, 3, Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7 + seed) % 256));

async function fixture(build: (root: string) => Promise<void>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "uda-data-" });
  await build(root);
  return root;
}
async function write(path: string, bytes: Uint8Array) {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeFile(path, bytes);
}

Deno.test("Cityscapes layout: cities, train ids, unlabelled mode", async () => {
  const root = await fixture(async (r) => {
    for (const [city, n] of [["aachen", 2], ["bremen", 1]] as const) {
      for (let i = 0; i < n; i++) {
        const base = `${city}_00000${i}_000019`;
        await write(join(r, "leftImg8bit/train", city, `${base}_leftImg8bit.png`), rgb(4, 3, i));
        await write(
          join(r, "gtFine/train", city, `${base}_gtFine_labelIds.png`),
          png(4, 3, 1, Uint8Array.from([7, 8, 26, 0, 33, 24, 7, 7, 1, 2, 11, 23])),
        );
        await write(join(r, "gtFine/train", city, `${base}_gtFine_color.png`), rgb(4, 3, 0));
      }
    }
  });
  const data = await cityscapes(root, "train");
  assert.equal(data.length, 3);
  const s = await data.get(2);
  assert.equal(s.name, "bremen_000000_000019_leftImg8bit.png");
  assert.deepEqual([...s.label!], [0, 1, 13, 255, 18, 11, 0, 0, 255, 255, 2, 10]);
  const unlabelled = await cityscapes(root, "train", { labels: false });
  assert.equal((await unlabelled.get(0)).label, undefined);
  const protocol13 = await cityscapes(root, "train", { protocol: "13" });
  assert.equal(protocol13.classes.names.length, 13);
  await Deno.remove(root, { recursive: true });
});

Deno.test("GTA5 layout: palette label PNGs whose indices are Cityscapes ids", async () => {
  const root = await fixture(async (r) => {
    const palette = Array.from({ length: 34 }, (_, i) => [i, 255 - i, 0]);
    await write(join(r, "images/00001.png"), rgb(3, 2, 1));
    await write(
      join(r, "labels/00001.png"),
      encode({
        width: 3,
        height: 2,
        data: Uint8Array.from([7, 26, 26, 23, 0, 8]),
        depth: 8,
        channels: 1,
        palette,
      }),
    );
  });
  const data = await gta5(root);
  const s = await data.get(0);
  assert.deepEqual([...s.label!], [0, 13, 13, 10, 255, 1]);
  assert.equal(s.image.length, 3 * 2 * 3);
  await Deno.remove(root, { recursive: true });
});

Deno.test("SYNTHIA layout: 16-bit labels, class id in the first channel, 16 and 13 classes", async () => {
  const root = await fixture(async (r) => {
    await write(join(r, "RGB/0000000.png"), rgb(2, 2, 3));
    // ids 3 (road), 21 (wall), 8 (car), 16 (terrain: not among the 16)
    const ids = [3, 21, 8, 16];
    const data = new Uint16Array(2 * 2 * 3);
    ids.forEach((id, i) => data.set([id, 999, 7], i * 3));
    await write(join(r, "GT/LABELS/0000000.png"), png(2, 2, 3, data));
  });
  assert.deepEqual([...(await (await synthia(root)).get(0)).label!], [0, 3, 12, 255]);
  assert.deepEqual([...(await (await synthia(root, { protocol: "13" })).get(0)).label!], [
    0,
    255,
    9,
    255,
  ]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a generic folder with a class list of ids, palette and ignore value", async () => {
  const root = await fixture(async (r) => {
    await write(join(r, "images/a.png"), rgb(2, 1, 0));
    await write(join(r, "labels/a.png"), png(2, 1, 1, Uint8Array.from([20, 99])));
    await Deno.writeTextFile(
      join(r, "classes.json"),
      JSON.stringify({ names: ["sky", "road"], ids: [10, 20], ignore: 99 }),
    );
  });
  const data = await folder(root);
  assert.deepEqual(data.classes.names, ["sky", "road"]);
  assert.deepEqual([...(await data.get(0)).label!], [1, 255]);
  await Deno.remove(root, { recursive: true });
});

// ------------------------------------------------------------------- bad input

Deno.test("bad input: every problem is an error naming the file", async () => {
  const root = await fixture(async (r) => {
    await write(join(r, "ok/images/a.png"), rgb(2, 2, 0));
    await write(join(r, "ok/labels/a.png"), png(2, 2, 1, new Uint8Array(4)));
    await Deno.writeTextFile(join(r, "ok/classes.json"), JSON.stringify({ names: ["a", "b"] }));
    const good = rgb(2, 2, 0);
    await write(join(r, "truncated/images/a.png"), good.subarray(0, good.length - 20));
    await write(join(r, "truncated/labels/a.png"), png(2, 2, 1, new Uint8Array(4)));
    await write(join(r, "corrupt/images/a.png"), Uint8Array.from({ length: 64 }, (_, i) => i));
    await write(join(r, "corrupt/labels/a.png"), png(2, 2, 1, new Uint8Array(4)));
    await write(join(r, "sizes/images/a.png"), rgb(2, 2, 0));
    await write(join(r, "sizes/labels/a.png"), png(3, 2, 1, new Uint8Array(6)));
    await write(join(r, "unknown/images/a.png"), rgb(2, 2, 0));
    await write(join(r, "unknown/labels/a.png"), png(2, 2, 1, Uint8Array.from([0, 1, 7, 0])));
    await write(join(r, "missing-label/images/a.png"), rgb(2, 2, 0));
    await write(join(r, "missing-label/labels/b.png"), png(2, 2, 1, new Uint8Array(4)));
    await Deno.mkdir(join(r, "empty/images"), { recursive: true });
    await Deno.mkdir(join(r, "empty/labels"), { recursive: true });
    await write(join(r, "badjson/images/a.png"), rgb(2, 2, 0));
    await Deno.writeTextFile(join(r, "badjson/classes.json"), "{ names: [sky }");
    await write(join(r, "sizes2/images/a.png"), rgb(2, 2, 0));
    await write(join(r, "sizes2/images/b.png"), rgb(3, 2, 0));
    await write(join(r, "sizes2/labels/a.png"), png(2, 2, 1, new Uint8Array(4)));
    await write(join(r, "sizes2/labels/b.png"), png(3, 2, 1, new Uint8Array(6)));
    for (
      const d of ["truncated", "corrupt", "sizes", "sizes2", "unknown", "missing-label", "empty"]
    ) {
      await Deno.writeTextFile(join(r, d, "classes.json"), JSON.stringify({ names: ["a", "b"] }));
    }
  });
  const first = async (d: string) => (await folder(join(root, d))).get(0);
  await first("ok");
  await assert.rejects(
    () => first("truncated"),
    /truncated\/images\/a.png: truncated PNG: the file ends after \d+ bytes, before its end marker \(IEND\); copy or export the image again, or remove it$/,
  );
  await assert.rejects(() => first("corrupt"), /corrupt\/images\/a.png: not a PNG file/);
  await assert.rejects(
    () => first("sizes"),
    /sizes\/labels\/a.png: label map is 3×2 but its image .* is 2×2/,
  );
  await assert.rejects(
    () => first("unknown"),
    /unknown\/labels\/a.png: unknown class id 7 at pixel 2/,
  );
  await assert.rejects(
    () => first("missing-label"),
    /missing-label\/labels\/a.png: missing label for/,
  );
  await assert.rejects(() => first("empty"), /empty\/images: the image folder has no \*\.png file/);
  await assert.rejects(
    () => first("nowhere"),
    /nowhere\/images: the folder split has no image folder; expected this layout/,
  );
  await assert.rejects(
    () => first("badjson"),
    /badjson\/classes.json: the class list does not parse as JSON/,
  );
  await assert.rejects(
    () => cityscapes(join(root, "ok"), "val"),
    /leftImg8bit\/val: cannot read the city folder/,
  );
  // A batch of images of different sizes names both files by their paths and says what to do.
  const mixed = batches(await folder(join(root, "sizes2")), {
    key: key(0),
    batchSize: 2,
    shuffle: false,
  });
  await assert.rejects(
    () => mixed.next(),
    new RegExp(
      `images of one batch differ in size: ${join(root, "sizes2/images/b.png")} is 3×2, ` +
        `${join(root, "sizes2/images/a.png")} 2×2 .*Give a crop size \\(--crop N`,
    ),
  );
  assert.throws(() => decodeImage(new Uint8Array(3), "x.png"), /x.png: not a PNG file/);
  // Complete (it ends with IEND) but its compressed data scrambled: corrupt, not truncated.
  const scrambled = rgb(16, 16, 3).slice();
  scrambled.fill(0xff, 41, scrambled.length - 16);
  assert.throws(
    () => decodeImage(scrambled, "y.png"),
    /y.png: corrupt PNG: [^:]*[^:\s]; copy or export the image again, or remove it$/,
  );
  await Deno.remove(root, { recursive: true });
});

// ---------------------------------------------------------------------- stream

Deno.test("stream: seeded order and augmentation; resuming at a position continues exactly", async () => {
  const data = digitsDataset(bench, key(0), { split: "train", domain: "target", length: 10 });
  const options = {
    key: key(5),
    batchSize: 3,
    crop: [40, 40] as [number, number],
    scale: [0.8, 1.2] as [number, number],
    flip: true,
  };
  const read = async (start: number, count: number) => {
    const out: {
      images: number[];
      labels: number[];
      styles: (string | undefined)[];
      next: number;
    }[] = [];
    for await (const b of batches(data, { ...options, start, batches: count })) {
      out.push({
        images: [...await b.images.data()],
        labels: [...await b.labels!.data()],
        styles: b.samples.map((s) => s.style),
        next: b.next,
      });
      tf.dispose([b.images, b.labels!]);
    }
    return out;
  };
  const whole = await read(0, 5); // crosses an epoch boundary (10 samples)
  assert.equal(whole.length, 5);
  assert.deepEqual(whole.map((b) => b.next), [3, 6, 9, 12, 15]);
  const resumed = await read(whole[1].next, 3);
  assert.deepEqual(resumed, whole.slice(2));
  assert.deepEqual(await read(0, 5), whole, "same key, same batches");
  const labels = whole[0].labels;
  assert.ok(labels.every((v) => (v >= 0 && v <= 10) || v === 255));
  assert.equal(whole[0].images.length, 3 * 40 * 40 * 3);
});

Deno.test("stream: flips move labels with pixels; normalisation as the backbone expects", async () => {
  const sample = {
    name: "s",
    width: 3,
    height: 1,
    image: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]),
    label: Uint8Array.from([1, 2, 3]),
  };
  const data = {
    description: "one",
    length: 1,
    classes: cityscapesTable(),
    get: () => Promise.resolve(sample),
  };
  const seen = new Set<string>();
  for (let seed = 0; seed < 8; seed++) {
    for await (
      const b of batches(data, { key: key(seed), batchSize: 1, flip: true, normalise: "unit" })
    ) {
      const labels = [...await b.labels!.data()];
      const red = [...await b.images.data()].filter((_, i) => i % 3 === 0);
      assert.deepEqual(red.map((v) => (v === 1 ? 1 : 0)), labels.map((l) => (l === 1 ? 1 : 0)));
      seen.add(labels.join());
      tf.dispose([b.images, b.labels!]);
    }
  }
  assert.deepEqual([...seen].sort(), ["1,2,3", "3,2,1"]);
  for await (const b of batches(data, { key: key(0), batchSize: 1, normalise: "symmetric" })) {
    assert.deepEqual([...await b.images.data()].slice(0, 3), [1, -1, -1]);
    tf.dispose([b.images, b.labels!]);
  }
});

Deno.test("prediction maps and overlays are written as PNG in the class palette", async () => {
  const { writePrediction, writeLabelPng } = await import("../data/visualize.ts");
  const dir = await Deno.makeTempDir({ prefix: "uda-vis-" });
  const table = cityscapesTable();
  const image = Uint8Array.from([0, 0, 0, 255, 255, 255]);
  const paths = await writePrediction(join(dir, "s0"), {
    width: 2,
    height: 1,
    image,
    prediction: [0, 13],
  }, table.palette);
  const map = decodeImage(await Deno.readFile(paths.map), paths.map);
  assert.deepEqual([...map.data], [128, 64, 128, 0, 0, 142]);
  const over = decodeImage(await Deno.readFile(paths.overlay), paths.overlay);
  assert.deepEqual([...over.data], [64, 32, 64, 128, 128, 199]);
  await writeLabelPng(join(dir, "s0_label.png"), 2, 1, Uint8Array.from([0, 13]));
  assert.deepEqual([...decodeImage(await Deno.readFile(join(dir, "s0_label.png")), "l").data], [
    0,
    13,
  ]);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "s0_label.png",
    "s0_overlay.png",
    "s0_pred.png",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("UDA_MNIST_DIR points the MNIST loader at another folder (errors name the file there)", async () => {
  const empty = await Deno.makeTempDir({ prefix: "uda-mnist-" });
  const script = new URL("../data/mnist.ts", import.meta.url).href;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { loadMnist } from "${script}";
       try { await loadMnist(); console.log("loaded"); } catch (e) { console.log(e.message); }`,
    ],
    env: { UDA_MNIST_DIR: empty, NO_COLOR: "1" },
    stdout: "piped",
  }).output();
  assert.equal(code, 0);
  const out = new TextDecoder().decode(stdout);
  assert.match(out, new RegExp(`${empty}/(train|t10k)-(images|labels)-idx\\d-ubyte`));
  assert.match(out, /cannot read MNIST/);
  await Deno.remove(empty, { recursive: true });
});

Deno.test("a PNG declaring more pixels than the limit is refused from its header, before decoding", async () => {
  // A real 2×2 PNG whose header is then edited to declare 20000×20000 (a decompression bomb's shape).
  const png = encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) });
  const bomb = png.slice();
  const view = new DataView(bomb.buffer);
  view.setUint32(16, 20000);
  view.setUint32(20, 20000);
  const started = performance.now();
  assert.throws(
    () => decodeImage(bomb, "eval/huge.png"),
    /eval\/huge.png: declares 20000×20000 = 400,000,000 pixels, above the limit of 40,000,000; not decoded \(--max-image-pixels raises the limit\)/,
  );
  assert.ok(performance.now() - started < 1000, "refused without decoding");
  assert.throws(() => decodeImage(png, "small.png", { maxPixels: 3 }), /above the limit of 3/);
  assert.equal(decodeImage(png, "small.png", { maxPixels: 4 }).width, 2);
  // The same through a folder data set's files and the jobs' flag.
  const root = await fixture(async (r) => {
    await write(join(r, "images/a.png"), bomb);
    await Deno.writeTextFile(join(r, "classes.json"), JSON.stringify({ names: ["sky", "road"] }));
  });
  const data = await folder(root, { labels: false });
  await assert.rejects(() => data.get(0), /a.png: declares 20000×20000/);
  await Deno.remove(root, { recursive: true });
});
