/**
 * Per-kernel time of one call, summed by kernel name.
 *
 * @example
 * ```ts ignore
 * import { tf } from "../lib/tf.ts";
import { oneDecimal } from "./stats.ts";
 * import { profileOf } from "./profile.ts";
 * const rows = await profileOf(() => void tf.tidy(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]))));
 * console.log(rows[0]); // ["BatchMatMul", ms, 1]
 * ```
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import { oneDecimal } from "./stats.ts";

/** [kernel name, total kernel ms (one decimal), calls], largest time first. */
export type Profile = [string, number, number][];

/**
 * Kernel time by kernel name over one call of `run` (tfjs's profiler).
 *
 * @example
 * ```ts ignore
 * import { profileOf } from "./profile.ts";
 * console.log(await profileOf(() => {}));
 * ```
 */
export async function profileOf(run: () => void): Promise<Profile> {
  const result = await tf.profile(run);
  const byKernel = new Map<string, [number, number]>();
  for (const k of result.kernels) {
    const entry = byKernel.get(k.name) ?? [0, 0];
    entry[0] += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    entry[1]++;
    byKernel.set(k.name, entry);
  }
  return [...byKernel].map(([name, [ms, calls]]) =>
    [name, oneDecimal(ms), calls] as Profile[number]
  )
    .sort((a, b) => b[1] - a[1]);
}
