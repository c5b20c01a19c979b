/**
 * The flags of `deno task bench`, declared once (`cli/command.ts`'s
 * machinery gives their parsing, checks and `--help`), and the training
 * steps it times.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BENCH_COMMAND } from "./options.ts";
 * assert.ok("rounds" in BENCH_COMMAND.flags);
 * ```
 *
 * @module
 */
import { type CommandSpec, readCommand } from "../cli/command.ts";
import type { TrainingStep } from "./torch.ts";

/** The flags of `deno task bench`. */
export const BENCH_COMMAND = {
  usage: `deno task bench [flags]

Times the reference training step (model/reference_net.ts; PyTorch's version
of it with --torch), the default CDGA training step and the DeepLab MobileNetV2 step on
our backends, PyTorch's reference step and the PyTorch ports of the two
training steps (bench/torch_steps.py, started from our weights and batch) when
/usr/bin/python3 can import torch, and the memory of a long default training
run.`,
  flags: {
    backends: {
      kind: "string",
      value: "LIST",
      help: "comma-separated among wasm, webgpu, cpu (default: wasm,\n" +
        "plus webgpu when a hardware adapter exists)",
    },
    steps: {
      kind: "integer",
      value: "N",
      help: "timed reference steps per backend and round",
      min: 1,
      default: 12,
    },
    rounds: {
      kind: "integer",
      value: "N",
      help: "rounds of PyTorch's reference step then ours, back to back; the\n" +
        "ratio is the median of the rounds' ratios",
      min: 1,
      default: 3,
    },
    warmup: { kind: "integer", value: "N", help: "untimed steps first", min: 0, default: 2 },
    batch: {
      kind: "integer",
      value: "N",
      help: "reference step: images per step",
      min: 1,
      default: 2,
    },
    size: { kind: "integer", value: "N", help: "reference step: image side", min: 8, default: 128 },
    "train-steps": {
      kind: "integer",
      value: "N",
      help: "timed steps of each training step (CDGA, MobileNetV2) per\n" +
        "backend and round (0 skips them)",
      min: 0,
      default: 10,
    },
    "only-steps": {
      kind: "string",
      value: "LIST",
      help: "comma-separated among cdga, mobilenetv2: the training steps\n" +
        "timed (default both)",
    },
    threads: { kind: "integer", value: "N", help: "PyTorch threads", min: 1, default: 2 },
    "wasm-threads": {
      kind: "integer",
      value: "N",
      help: "wasm threads: our kernels' (or XNNPACK's with --tfjs-kernels);\n" +
        "default: the logical cores, at most 8",
      min: 1,
    },
    "tfjs-kernels": {
      kind: "boolean",
      help: "wasm: tfjs's own kernels (XNNPACK's convolutions, threaded)\ninstead of ours",
    },
    "memory-steps": {
      kind: "integer",
      value: "N",
      help: "steps of the memory run (0 skips)",
      min: 0,
      default: 2000,
    },
    "memory-early": {
      kind: "integer",
      value: "N",
      help: "the early step it is compared with (default 200; 1000 with --soak)",
      min: 1,
    },
    soak: {
      kind: "integer",
      value: "N",
      help: "soak mode: only the memory run, N default CDGA steps (20000\n" +
        "is the soak the docs quote); resident memory, live tensors\n" +
        "and step time over the steps, with their slopes",
      min: 2,
    },
    "soak-minutes": {
      kind: "number",
      value: "M",
      help: "stop the memory run after M minutes (SIGINT) and report the\n" +
        "steps it did: a soak for as long as it is given",
    },
    torch: {
      kind: "string",
      value: "PATH",
      help: "PyTorch's reference step script (default: the team's copy beside\n" +
        "the repository, ../shared/bench/torch_reference_step.py; PyTorch's\n" +
        "timings are skipped when it is absent)",
    },
    ports: {
      kind: "string",
      value: "PATH",
      help: "the PyTorch ports of the training steps (default bench/torch_steps.py)",
    },
    "torch-device": {
      kind: "string",
      value: "D",
      help: "cpu or cuda (cuda needs a script that takes\n" +
        "--device, such as bench/device/torch_step.py)",
      choices: ["cpu", "cuda"],
      default: "cpu",
    },
    python: {
      kind: "string",
      value: "PATH",
      help: "the Python that runs it",
      default: "/usr/bin/python3",
    },
    "no-torch": { kind: "boolean", help: "skip PyTorch" },
    "no-profile": { kind: "boolean", help: "skip the per-kernel profiles" },
    json: { kind: "string", value: "FILE", help: "also write the results as JSON" },
  },
} as const satisfies CommandSpec;

const TRAINING_STEPS: readonly TrainingStep[] = [
  { name: "cdga", title: "default training step (CDGA)", port: "cdga", args: [] },
  {
    name: "mobilenetv2",
    title: "DeepLab MobileNetV2 step (frozen batch norm, source only)",
    port: "deeplab-mobilenetv2",
    args: ["--backbone", "mobilenetv2", "--norm", "frozen", "--method", "sourceOnly"],
  },
];

/**
 * The bench's options from its flags, checked; `{ help: true }` for `--help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBenchOptions } from "./options.ts";
 * const options = parseBenchOptions(["--rounds", "2"]);
 * assert.equal(options.help ? 0 : options.rounds, 2);
 * ```
 */
export function parseBenchOptions(args: string[]) {
  const values = readCommand(BENCH_COMMAND, args);
  if (values === "help") return { help: true as const };
  const backends = values.backends?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const b of backends ?? []) {
    if (!["wasm", "webgpu", "cpu"].includes(b)) {
      throw new Error(`--backends: unknown backend ${JSON.stringify(b)} (wasm, webgpu, cpu)`);
    }
  }
  const onlySteps = values["only-steps"]?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of onlySteps ?? []) {
    if (!TRAINING_STEPS.some((t) => t.name === name)) {
      throw new Error(
        `--only-steps: unknown step ${JSON.stringify(name)} (${
          TRAINING_STEPS.map((t) => t.name).join(", ")
        })`,
      );
    }
  }
  const soak = values.soak;
  const soakMinutes = values["soak-minutes"];
  if (soakMinutes !== undefined && !(soakMinutes > 0)) {
    throw new Error(`--soak-minutes must be a positive number, got ${soakMinutes}`);
  }
  const memorySteps = soak ?? values["memory-steps"];
  const memoryEarly = values["memory-early"] ?? (soak ? Math.min(1000, Math.floor(soak / 2)) : 200);
  if (memorySteps > 0 && memoryEarly >= memorySteps) {
    throw new Error(
      `--memory-early (${memoryEarly}) must be below --memory-steps (${memorySteps})`,
    );
  }
  return {
    help: false as const,
    backends: backends as ("wasm" | "webgpu" | "cpu")[] | undefined,
    steps: values.steps,
    rounds: values.rounds,
    warmup: values.warmup,
    batch: values.batch,
    size: values.size,
    trainSteps: values["train-steps"],
    trainingSteps: TRAINING_STEPS.filter((t) => !onlySteps || onlySteps.includes(t.name)),
    threads: values.threads,
    wasmThreads: values["wasm-threads"],
    memorySteps,
    memoryEarly,
    soak,
    soakMinutes,
    torch: values.torch ??
      new URL("../../shared/bench/torch_reference_step.py", import.meta.url).pathname,
    ports: values.ports ?? new URL("./torch_steps.py", import.meta.url).pathname,
    torchDevice: values["torch-device"] as "cpu" | "cuda",
    python: values.python,
    noTorch: values["no-torch"],
    noProfile: values["no-profile"],
    tfjsKernels: values["tfjs-kernels"],
    json: values.json,
  };
}

/** The bench's checked options. */
export type BenchOptions = Exclude<ReturnType<typeof parseBenchOptions>, { help: true }>;
