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
