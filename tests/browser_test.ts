/**
 * The demo page in real Chromium (Debian's `chromium`, driven by npm
 * `puppeteer-core`): it loads on every backend without a console error,
 * predicts exactly as `deno task predict`, steps exactly as Deno, and its
 * downloaded checkpoint loads in `deno task eval`. Skipped, with the reason
 * printed, only where no Chromium is installed (`.ci/run` installs it).
 *
 * The page's screenshot after live steps is written to `runs/test-artifacts/`
 * (or `$UDA_TEST_ARTIFACTS`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { startDemo } from "../demo/server.ts";
import { predictImage } from "../demo/worker_predict.ts";
import { AdaptSession } from "../demo/adapt.ts";
import type { Predicted } from "../demo/protocol.ts";
import { decodeCheckpoint, loadCheckpoint } from "../io/checkpoint.ts";
import { segFromCheckpoint } from "../cli/restore.ts";
import { optionsFromStored } from "../cli/options.ts";
import { runKeys } from "../cli/config.ts";
import { normalisationOf, openData } from "../data/plan.ts";
import { decodeImage, encodePng, toRgb } from "../data/image_io.ts";
import { on, REPO, runDeno, TINY_MODEL, TINY_SCENES } from "./helpers.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => {
  try {
    return Deno.statSync(Deno.env.get("CHROMIUM") ?? path).isFile;
  } catch {
    return false;
  }
});
const ignore = CHROMIUM === undefined;
if (ignore) console.log("browser tests skipped: no Chromium installed (apt-get install chromium)");

const ARTIFACTS = Deno.env.get("UDA_TEST_ARTIFACTS") ?? join(REPO, "runs", "test-artifacts");
const TOLERANCE = 1e-4;

/** A tiny default run (warm-up, source only, AdaptSegNet, CDGA, oracle): its CDGA checkpoint. */
async function tinyCheckpoint(): Promise<string> {
  const out = await Deno.makeTempDir({ prefix: "uda-browser-" });
  const args = [...TINY_MODEL, ...TINY_SCENES, "--test-samples", "6", "--warmup-steps", "6"];
  const run = await runDeno(["train.ts", ...args, "--steps", "6", "--out", out, "--threads", "1"]);
  assert.equal(run.code, 0, run.err);
  return join(out, "cdga-digits-seed0", "checkpoints", "cdga.ckpt");
}

/** Opens the page on `backend` and waits for its first prediction; collects console errors. */
async function openPage(browser: Browser, url: string, backend: string) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1150, height: 900 });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}?backend=${backend}`);
  await page.waitForFunction(
    "globalThis.demo?.state.prediction || document.getElementById('error').textContent",
    { timeout: 180_000 },
  );
  const status = await page.$eval("#backend-status", (e) => e.textContent ?? "");
  const error = await page.$eval("#error", (e) => e.textContent ?? "");
  return { page, errors, status, error };
}

/** Whether this Chromium offers a WebGPU adapter (SwiftShader's, with --enable-unsafe-webgpu). */
async function hasWebGpu(page: Page): Promise<boolean> {
  return await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return !!gpu && (await gpu.requestAdapter()) !== null;
  });
}

async function pagePredict(page: Page, bytes: Uint8Array, name: string) {
  const result = await page.evaluate(
    async (list: number[], file: string) => {
      const demo = (globalThis as unknown as {
        demo: { request(a: unknown): Promise<Predicted> };
      }).demo;
      const p = await demo.request({
        kind: "predict",
        image: { bytes: new Uint8Array(list), name: file },
      });
      return { labels: [...p.labels], logits: [...p.logits], shape: p.logitsShape };
    },
    [...bytes],
    name,
  );
  return result;
}

async function pageSteps(page: Page, steps: number) {
  return await page.evaluate(async (n: number) => {
    const demo = (globalThis as unknown as {
      demo: {
        request(a: unknown): Promise<unknown>;
        onProgress(f: (p: { metrics: Record<string, unknown> }) => void): void;
      };
    }).demo;
    const seen: Record<string, unknown>[] = [];
    demo.onProgress((p) => seen.push(p.metrics));
    await demo.request({ kind: "adapt", method: "cdga", steps: n, every: 1, targets: [] });
    return seen;
  }, steps);
}

const SCALARS = ["total", "seg", "adv", "globalAdv", "sc", "orth", "bal", "disc"];

Deno.test({
  name: "the demo page in Chromium: every backend, prediction, five CDGA steps, the download",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const checkpoint = await tinyCheckpoint();
    const demo = await startDemo({ checkpoint, port: 0 });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--enable-unsafe-webgpu"],
    });
    try {
      // A target scene as a PNG file, and `deno task predict`'s label map of it.
      await on("wasm");
      const restored = await segFromCheckpoint(checkpoint, () => Promise.resolve(11));
      const data = await openData(restored.options, runKeys(restored.options.seed).data);
      const scene = await data.test.get(3);
      const png = encodePng({
        width: scene.width,
        height: scene.height,
        channels: 3,
        data: scene.image,
      });
      const dir = await Deno.makeTempDir({ prefix: "uda-browser-predict-" });
      await Deno.mkdir(join(dir, "in"));
      await Deno.writeFile(join(dir, "in", "scene.png"), png);
      const cli = await runDeno([
        "predict.ts",
        "--checkpoint",
        checkpoint,
        "--input",
        join(dir, "in"),
        "--output",
        join(dir, "out"),
        "--backend",
        "wasm",
      ]);
      assert.equal(cli.code, 0, cli.err);
      const cliLabels =
        decodeImage(await Deno.readFile(join(dir, "out", "scene_label.png")), "label", {
          expandPalette: false,
        }).data;
      const rgb = toRgb(decodeImage(png, "scene.png"), "scene.png");
      const deno = await predictImage(
        restored.seg,
        restored.config,
        normalisationOf(restored.options),
        {
          width: scene.width,
          height: scene.height,
          rgb,
        },
      );
      assert.deepEqual([...deno.labels], [...cliLabels]);

      const probe = await browser.newPage();
      await probe.goto(demo.url + "index.html#probe");
      const backends = ["wasm", "cpu", ...(await hasWebGpu(probe) ? ["webgpu"] : [])];
      await probe.close();
      if (!backends.includes("webgpu")) {
        console.log("webgpu: this Chromium offers no adapter; not tested");
      }

      for (const backend of backends) {
        await t.step(
          `${backend}: loads without console errors, predicts as deno task predict`,
          async () => {
            const { page, errors, status, error } = await openPage(browser, demo.url, backend);
            assert.equal(error, "");
            assert.match(status, new RegExp(`^running on ${backend}`));
            if (backend === "wasm") assert.match(status, /our kernels on \d+ thread/);
            const predicted = await pagePredict(page, png, "scene.png");
            assert.deepEqual(predicted.labels, [...cliLabels]);
            assert.deepEqual(predicted.shape, deno.logitsShape);
            const worst = Math.max(...predicted.logits.map((v, i) => Math.abs(v - deno.logits[i])));
            assert.ok(worst <= TOLERANCE, `${backend}: logits differ by ${worst}`);
            if (backend === "wasm") {
              // The same file chosen through the page's file input: the picture it draws.
              const input = await page.$("#file");
              await (input as unknown as { uploadFile(path: string): Promise<void> })
                .uploadFile(join(dir, "in", "scene.png"));
              await page.waitForFunction("globalThis.demo.state.userImages.length === 1");
              const shown = await page.evaluate(() => [
                ...(globalThis as unknown as { demo: { state: { prediction: Predicted } } }).demo
                  .state.prediction.labels,
              ]);
              assert.deepEqual(shown, [...cliLabels]);
            }
            assert.deepEqual(errors, []);
            await page.close();
          },
        );
      }

      // Five CDGA steps in Deno from the same checkpoint and batches.
      const decoded = await decodeCheckpoint(await Deno.readFile(checkpoint), checkpoint);
      const options = optionsFromStored(decoded.config as Record<string, unknown>, checkpoint);
      const session = await AdaptSession.open(decoded, checkpoint, {
        method: "cdga",
        data: await openData(options, runKeys(options.seed).data),
      });
      const expected: Record<string, unknown>[] = [];
      await session.run({ steps: 5, every: 1, targets: [] }, (p) => expected.push(p.metrics));
      session.dispose();

      for (const backend of backends.filter((b) => b !== "cpu")) {
        await t.step(`${backend}: five CDGA steps give Deno's losses`, async () => {
          const { page, errors } = await openPage(browser, demo.url, backend);
          const seen = await pageSteps(page, 5);
          assert.equal(seen.length, 5);
          for (let step = 0; step < 5; step++) {
            for (const name of SCALARS) {
              const [a, b] = [seen[step][name] as number, expected[step][name] as number];
              assert.ok(
                Math.abs(a - b) <= TOLERANCE * Math.max(1, Math.abs(b)),
                `${backend} step ${step + 1} ${name}: page ${a}, Deno ${b}`,
              );
            }
          }
          if (backend === "wasm") {
            // The adapted checkpoint, downloaded through the page's button, loads in deno task eval.
            const downloads = await Deno.makeTempDir({ prefix: "uda-browser-download-" });
            const cdp = await page.createCDPSession();
            await cdp.send("Browser.setDownloadBehavior", {
              behavior: "allow",
              downloadPath: downloads,
            });
            await page.click("#download");
            const file = join(downloads, "cdga-adapted.ckpt");
            for (let i = 0; i < 100 && !(await exists(file)); i++) await delay(100);
            const adapted = await loadCheckpoint(file);
            assert.deepEqual([adapted.position.phase, adapted.position.step], ["cdga", 5]);
            const evaluated = await runDeno([
              "eval.ts",
              "--checkpoint",
              file,
              "--samples",
              "6",
              "--backend",
              "wasm",
            ]);
            assert.equal(evaluated.code, 0, evaluated.err);
            assert.match(evaluated.out, /mIoU/);
            await Deno.mkdir(ARTIFACTS, { recursive: true });
            const shot = join(ARTIFACTS, "demo.png");
            await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
            assert.ok((await Deno.stat(shot)).size > 10_000);
          }
          assert.deepEqual(errors, []);
          await page.close();
        });
      }
    } finally {
      await browser.close();
      await demo.shutdown();
    }
  },
});

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).size > 0;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
