/** Shared test helpers: backends, tolerances, tensor reading. */
import type { tf } from "../lib/tf.ts";
import { type BackendChoice, useBackend } from "../lib/backend.ts";

/** Starts a backend for a test (quietly). */
export async function on(backend: Exclude<BackendChoice, "auto">): Promise<void> {
  await useBackend(backend);
}

/** Reads a tensor's values (async, so that webgpu works too). */
export async function values(t: tf.Tensor): Promise<Float32Array> {
  return new Float32Array(await t.data());
}

/** Runs `f` on cpu and on wasm (our kernels) and returns both results' values (wasm left on). */
export async function onBoth(
  f: () => tf.Tensor,
): Promise<{ cpu: Float32Array; wasm: Float32Array }> {
  const out: Record<string, Float32Array> = {};
  for (const backend of ["cpu", "wasm"] as const) {
    await on(backend);
    const y = f();
    out[backend] = new Float32Array(await y.data());
    y.dispose();
  }
  return { cpu: out.cpu, wasm: out.wasm };
}

/** max |a − b| / max(max |b|, floor): the relative error of a against b. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} against ${b.length}`);
  let diff = 0, scale = floor;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Throws unless `actual` is within `tolerance` relative error of `expected`. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what = "values",
  floor = 1e-6,
): void {
  const error = relativeError(actual, expected, floor);
  if (!(error <= tolerance)) {
    throw new Error(`${what}: relative error ${error.toExponential(3)} > ${tolerance}`);
  }
}

/** The repository's root folder. */
export const REPO: string = new URL("..", import.meta.url).pathname;

/** The smallest model the jobs train in tests: flags shared by every job test. */
export const TINY_MODEL: readonly string[] = [
  "--backend",
  "wasm",
  "--width",
  "0.125",
  "--batch",
  "2",
  "--groups",
  "2",
  "--disc-width",
  "4",
  "--eval-every",
  "0",
  "--seg-lr",
  "0.01",
];

/** Small digits scenes (32×32, glyphs at about MNIST's size). */
export const TINY_SCENES: readonly string[] = [
  "--canvas",
  "32",
  "--digit-scale-min",
  "0.9",
  "--digit-scale-max",
  "1.1",
];

/**
 * A Deno child process in the repository, without colours: `deno run` with
 * the jobs' permissions before `args`, or `args` as they are with `raw`.
 */
export function spawnDeno(
  args: string[],
  options: { cwd?: string; raw?: boolean } = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: options.raw ? args : ["run", "--allow-read", "--allow-write", "--allow-env", ...args],
    cwd: options.cwd ?? REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** A child's exit code and its output as text. */
export async function finished(
  child: Deno.ChildProcess,
): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await child.output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

/** {@linkcode spawnDeno}, waited for. */
export function runDeno(
  args: string[],
  options: { cwd?: string; raw?: boolean } = {},
): Promise<{ code: number; out: string; err: string }> {
  return finished(spawnDeno(args, options));
}
