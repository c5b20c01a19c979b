/**
 * `deno task bench:predict`: time and peak memory of predicting one large
 * image with the default G (ResNet-18 ×0.25, 19 classes as Cityscapes), tiled
 * (`predict(…, { tile })`) and whole, each size in a process of its own so
 * that the peak resident memory is that prediction's. Weights are random:
 * time and memory do not depend on them. Also reports how many pixels the
 * tiled labels share with whole-image labels where both ran.
 *
 * Run `deno task bench:predict --help` for the flags.
 *
 * @module
 */
import { commandHelp, type CommandSpec, readCommand } from "../cli/command.ts";

const COMMAND = {
  usage: `deno task bench:predict [flags]

Times predicting one large image with the default G, tiled and whole, each
size in a process of its own, with its peak resident memory.`,
  flags: {
    sizes: {
      kind: "string",
      value: "WxH,…",
      default: "1024x512,2048x1024,4096x4096",
      help: "the image sizes, comma-separated",
    },
    tile: { kind: "integer", value: "N", default: 512, min: 1, help: "the tile side" },
    overlap: { kind: "integer", value: "N", min: 0, help: "pixels tiles overlap by" },
    "whole-up-to": {
      kind: "integer",
      value: "PIXELS",
      default: 2048 * 1024,
      min: 0,
      help: "whole-image runs only up to this many pixels",
    },
    backend: {
      kind: "string",
      value: "S",
      default: "wasm",
      choices: ["wasm", "cpu", "webgpu"],
      help: "the tfjs backend",
    },
    json: { kind: "string", value: "FILE", help: "also write the rows as JSON" },
    checkpoint: {
      kind: "string",
      value: "FILE",
      help: "a trained G instead of random weights (the label agreement then means something)",
    },
    child: { kind: "string", value: "H,W,TILE", help: "(internal) one prediction in this process" },
    labels: { kind: "string", value: "FILE", help: "(internal) where a child writes its labels" },
  },
} as const satisfies CommandSpec;

function readFlags() {
  try {
    return readCommand(COMMAND, Deno.args);
  } catch (error) {
    console.error(`bench:predict: ${(error as Error).message}`);
    Deno.exit(2);
  }
}

const parsed = readFlags();
if (parsed === "help") {
  console.log(commandHelp(COMMAND));
  Deno.exit(0);
}
const values = parsed;

if (values.child) {
  // One prediction in this process: [H, W, tile (0: whole)].
  const [h, w, tile] = values.child.split(",").map(Number);
  const { useBackend } = await import("../lib/backend.ts");
  const { tf } = await import("../lib/tf.ts");
  const { key } = await import("../lib/random.ts");
  const { initDeepLab } = await import("../model/deeplab.ts");
  const { predict } = await import("../model/predict.ts");
  const { residentMemory } = await import("../cli/resources.ts");
  await useBackend(values.backend as "wasm");
  const { segFromCheckpoint } = await import("../cli/restore.ts");
  const restored = values.checkpoint
    ? await segFromCheckpoint(values.checkpoint, (_o, carried) => {
      if (!carried) throw new Error(`${values.checkpoint}: carries no class list`);
      return Promise.resolve(carried.names.length);
    })
    : undefined;
  const config = restored?.config ?? { depth: 18 as const, width: 0.25, classes: 19 };
  const params = restored?.seg ?? initDeepLab(key(0), config);
  const image = tf.randomUniform(
    [1, h, w, 3],
    -1,
    1,
    "float32",
    7,
  ) as import("../lib/tf.ts").Tensor4D;
  const before = residentMemory().peakRssMb;
  const start = performance.now();
  const overlap = values.overlap;
  const { labels } = predict(params, config, image, tile ? { tile, overlap } : {});
  const data = await labels.data();
  const seconds = (performance.now() - start) / 1000;
  if (values.labels) await Deno.writeFile(values.labels, new Uint8Array(Int32Array.from(data)));
  console.log(JSON.stringify({ seconds, peakRssMb: residentMemory().peakRssMb, before }));
  Deno.exit(0);
}

const tile = values.tile;
const wholeUpTo = values["whole-up-to"];
const rows: Record<string, unknown>[] = [];
const self = new URL(import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "uda-bench-predict-" });
const run = async (h: number, w: number, t: number) => {
  const labels = `${dir}/${h}x${w}-${t}.bin`;
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      self,
      "--child",
      `${h},${w},${t}`,
      "--backend",
      values.backend,
      "--labels",
      labels,
      ...(values.overlap !== undefined ? ["--overlap", String(values.overlap)] : []),
      ...(values.checkpoint ? ["--checkpoint", values.checkpoint] : []),
    ],
    stderr: "inherit",
  }).output();
  if (!child.success) return undefined;
  const lines = new TextDecoder().decode(child.stdout).trim().split("\n");
  return { ...JSON.parse(lines.at(-1)!), labels };
};
console.log(
  `| image | tiled (${tile}) s | tiled peak RSS MB | whole s | whole peak RSS MB | same label |`,
);
console.log("|---|---:|---:|---:|---:|---:|");
for (const size of values.sizes.split(",")) {
  const [w, h] = size.split("x").map(Number);
  const tiled = await run(h, w, tile);
  const whole = h * w <= wholeUpTo ? await run(h, w, 0) : undefined;
  let agreement: number | undefined;
  if (tiled && whole) {
    const a = await Deno.readFile(tiled.labels), b = await Deno.readFile(whole.labels);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    agreement = same / a.length;
  }
  const row = {
    image: size,
    tiledSeconds: tiled?.seconds,
    tiledPeakRssMb: tiled?.peakRssMb,
    wholeSeconds: whole?.seconds,
    wholePeakRssMb: whole?.peakRssMb,
    agreement,
  };
  rows.push(row);
  const f = (v: number | undefined, d = 1) => (v === undefined ? "–" : v.toFixed(d));
  console.log(
    `| ${size} | ${f(tiled?.seconds)} | ${f(tiled?.peakRssMb, 0)} | ${f(whole?.seconds)} | ${
      f(whole?.peakRssMb, 0)
    } | ${agreement === undefined ? "–" : `${(100 * agreement).toFixed(2)}%`} |`,
  );
}
await Deno.remove(dir, { recursive: true });
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(rows, null, 2) + "\n");
