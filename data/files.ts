/**
 * Writing files so that a crash never leaves half of one: every file the
 * jobs write that a later run reads (checkpoints, weights, images) goes
 * through {@linkcode writeFileAtomic}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/x.bin`, new Uint8Array([1, 2, 3]));
 * assert.deepEqual((await Deno.readFile(`${dir}/x.bin`)).length, 3);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { DataError } from "./image_io.ts";

/**
 * Writes a file atomically: a temporary file beside it, then a rename, so a
 * crash never leaves a half-written file in its place.
 *
 * @example
 * ```ts ignore
 * await writeFileAtomic("run/prediction.png", encodePng(image));
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(temporary, bytes);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new DataError(path, `cannot write (${(error as Error).message})`);
  }
}
