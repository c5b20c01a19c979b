/**
 * `deno task bench:browser [--checkpoint FILE] [--steps N]`: the demo page's
 * speed in headless Chromium, per backend (threaded wasm with our kernels,
 * WebGPU where Chromium has an adapter, cpu), beside Deno's on the same
 * machine: page load (navigation to the first prediction drawn), the bytes
 * the page downloads by then (counted by the demo's server, the page's only
 * source), the time of one prediction and of one CDGA step (the
 * median of steps 2 … N; the first compiles shaders and grows memory).
 *
 * @module
 */
import puppeteer, { type Page } from "puppeteer-core";
import { commandHelp, type CommandSpec, readCommand } from "../cli/command.ts";
import { startDemo } from "../demo/server.ts";
import { predictImage } from "../demo/worker_predict.ts";
import { AdaptSession } from "../demo/adapt.ts";
import { decodeCheckpoint } from "../io/checkpoint.ts";
import { runKeys } from "../cli/config.ts";
import { segFromDecoded } from "../cli/restore.ts";
import { classesOf, normalisationOf, openData } from "../data/plan.ts";
import { useBackend } from "../mod.ts";

const COMMAND = {
  usage: "deno task bench:browser [--checkpoint FILE] [--steps N] [--chromium PATH]",
  flags: {
    checkpoint: {
      kind: "string",
      value: "FILE",
      help: "the checkpoint (default: the default run's CDGA)",
      default: "runs/cdga-digits-seed0/checkpoints/cdga.ckpt",
    },
    steps: { kind: "integer", value: "N", help: "CDGA steps per backend", min: 2, default: 6 },
    "webgpu-steps": {
      kind: "integer",
      value: "N",
      help:
        "CDGA steps on WebGPU (0: none; SwiftShader takes minutes per step of the default model)",
      min: 0,
      default: 0,
    },
    chromium: { kind: "string", value: "PATH", help: "Chromium", default: "/usr/bin/chromium" },
  },
} as const satisfies CommandSpec;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  where: string;
  load?: number;
  bytes?: number;
  predict: number;
  step?: number;
}

async function inPage(page: Page, steps: number, withSteps: boolean) {
  return await page.evaluate(
    async (n: number, train: boolean) => {
      const demo = (globalThis as unknown as {
        demo: {
          request(a: unknown): Promise<{ ms: number }>;
          onProgress(f: (p: { ms: number }) => void): void;
        };
      }).demo;
      const predictions: number[] = [];
      for (let i = 0; i < 5; i++) {
        predictions.push(
          (await demo.request({ kind: "sample", index: i })).ms,
        );
      }
      const stepMs: number[] = [];
      demo.onProgress((p) => stepMs.push(p.ms));
      if (train) {
        await demo.request({
          kind: "adapt",
          method: "cdga",
          steps: n,
          every: 1,
          targets: [],
        });
      }
      return { predictions, stepMs };
    },
    steps,
    withSteps,
  );
}

async function deno(checkpointPath: string, steps: number): Promise<Row> {
  const info = await useBackend("wasm");
  const checkpoint = await decodeCheckpoint(await Deno.readFile(checkpointPath), checkpointPath);
  const { seg, config, options } = await segFromDecoded(
    checkpoint,
    checkpointPath,
    async (o, c) => (c ?? await classesOf(o)).names.length,
  );
  const data = await openData(options, runKeys(options.seed).data);
  const predictions: number[] = [];
  for (let i = 0; i < 5; i++) {
    const scene = await data.test.get(i);
    const image = { width: scene.width, height: scene.height, rgb: scene.image };
    predictions.push((await predictImage(seg, config, normalisationOf(options), image)).ms);
  }
  const session = await AdaptSession.open(checkpoint, checkpointPath, { method: "cdga", data });
  const stepMs: number[] = [];
  await session.run({ steps, every: 1, targets: [] }, (p) => stepMs.push(p.ms));
  session.dispose();
  return {
    where: `Deno, ${info.detail}`,
    predict: median(predictions),
    step: median(stepMs.slice(1)),
  };
}

async function main() {
  const values = readCommand(COMMAND, Deno.args);
  if (values === "help") return console.log(commandHelp(COMMAND));
  const demo = await startDemo({ checkpoint: values.checkpoint, port: 0 });
  const browser = await puppeteer.launch({
    executablePath: values.chromium,
    headless: true,
    args: ["--no-sandbox", "--enable-unsafe-webgpu"],
    protocolTimeout: 0,
  });
  const rows: Row[] = [];
  try {
    for (const backend of ["wasm", "webgpu", "cpu"]) {
      const page = await browser.newPage();
      const servedBefore = demo.bytesServed();
      const began = performance.now();
      await page.goto(`${demo.url}?backend=${backend}`);
      await page.waitForFunction(
        "globalThis.demo?.state.prediction || document.getElementById('error').textContent",
        { timeout: 600_000 },
      );
      const load = performance.now() - began;
      const bytes = demo.bytesServed() - servedBefore;
      const status = await page.$eval("#backend-status", (e) => e.textContent ?? "");
      if (!status.startsWith(`running on ${backend}`)) {
        console.log(`${backend}: not run (${await page.$eval("#error", (e) => e.textContent)})`);
        await page.close();
        continue;
      }
      // tfjs's cpu backend takes minutes per training step (its convolution gradients).
      const steps = backend === "webgpu" ? values["webgpu-steps"] : values.steps;
      const { predictions, stepMs } = await inPage(page, steps, backend !== "cpu" && steps > 1);
      rows.push({
        where: `page, ${status.replace("running on ", "")}`,
        load,
        bytes,
        predict: median(predictions),
        ...(stepMs.length > 1 ? { step: median(stepMs.slice(1)) } : {}),
      });
      await page.close();
    }
  } finally {
    await browser.close();
    await demo.shutdown();
  }
  rows.push(await deno(values.checkpoint, values.steps));
  const f = (x: number | undefined, unit: string) =>
    x === undefined ? "–" : `${x.toFixed(0)} ${unit}`;
  console.log("| where | page load | downloaded | prediction (64×64) | CDGA step |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const mb = r.bytes === undefined ? undefined : r.bytes / 1e6;
    console.log(
      `| ${r.where} | ${f(r.load, "ms")} | ${mb === undefined ? "–" : `${mb.toFixed(1)} MB`} | ` +
        `${f(r.predict, "ms")} | ${f(r.step, "ms")} |`,
    );
  }
}

try {
  await main();
} catch (error) {
  console.error(`bench:browser: ${(error as Error).message}`);
  Deno.exit(1);
}
