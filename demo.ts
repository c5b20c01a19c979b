/**
 * `deno task demo [--checkpoint FILE] [--port N]`: a page on 127.0.0.1 that
 * segments images and adapts live in the browser (WebGPU, threaded wasm with
 * this library's kernels, or cpu), from a checkpoint. See `demo/server.ts`.
 *
 * @module
 */
import { type CommandSpec, runCommand } from "./cli/command.ts";
import { startDemo } from "./demo/server.ts";

/** The default run's CDGA checkpoint (`deno task train` with no flags). */
const DEFAULT_CHECKPOINT = "runs/cdga-digits-seed0/checkpoints/cdga.ckpt";

const COMMAND = {
  usage: "deno task demo [--checkpoint FILE] [--port N]",
  flags: {
    checkpoint: {
      kind: "string",
      value: "FILE",
      help: "the checkpoint the page loads: any run's .ckpt (default: the default\nrun's CDGA)",
      default: DEFAULT_CHECKPOINT,
    },
    port: {
      kind: "integer",
      value: "N",
      help: "the port on 127.0.0.1 (0: any free port)",
      min: 0,
      default: 8000,
    },
  },
  notes: `Open the printed address in Chromium (WebGPU needs a GPU adapter; threaded
wasm needs the page's cross-origin isolation, which the server sets). The
page draws the benchmark's own scenes for digits and letters checkpoints; for
any checkpoint it segments images you drop on it. Ctrl-C stops the server.`,
} as const satisfies CommandSpec;

await runCommand("demo", COMMAND, async (values) => {
  if (values.port > 65535) throw new Error(`--port must be at most 65535, got ${values.port}`);
  await startDemo({ checkpoint: values.checkpoint, port: values.port, log: console.log });
});
