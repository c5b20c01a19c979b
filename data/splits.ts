/**
 * What a run's data splits were, and whether they still are: `splits.json`
 * records every split's files with their sizes, and a resume (or an
 * evaluation of the run) compares them with the splits as they are now, so
 * that an image added, removed or replaced between an interruption and
 * `--resume` cannot move images between training and scoring unnoticed.
 *
 * @module
 */

import { join, relative } from "node:path";
import { type Key, permutation } from "../lib/random.ts";
import type { Dataset } from "./datasets.ts";
import type { SplitRecord } from "./plan.ts";

export type { SplitRecord };

/**
 * The splits with each file's size in bytes (`sizes`, in the order of
 * `files`); splits made of no files are returned as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { withFileSizes } from "./splits.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeFile(join(root, "a.png"), new Uint8Array(3));
 * const splits = await withFileSizes({ "source/train": { description: "s", count: 1, root, files: ["a.png"] } });
 * assert.deepEqual(splits["source/train"].sizes, [3]);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function withFileSizes(
  splits: Record<string, SplitRecord>,
): Promise<Record<string, SplitRecord>> {
  const out: Record<string, SplitRecord> = {};
  for (const [name, split] of Object.entries(splits)) {
    if (!split.root || !split.files) {
      out[name] = split;
      continue;
    }
    const sizes: number[] = [];
    for (const file of split.files) sizes.push((await Deno.stat(join(split.root, file))).size);
    out[name] = { ...split, sizes };
  }
  return out;
}

const listed = (files: string[]) =>
  files.length <= 3
    ? files.join(", ")
    : `${files.slice(0, 3).join(", ")} and ${files.length - 3} more`;

/**
 * How the splits `now` differ from the splits a run recorded (`before`), one
 * line per changed split, empty when they agree. Files are compared by name
 * and, where both records hold sizes, by size; a split either record lacks is
 * a change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitChanges } from "./splits.ts";
 * const before = { "source/train": { description: "s", count: 2, root: "/d", files: ["a.png", "b.png"], sizes: [5, 6] } };
 * const now = { "source/train": { description: "s", count: 1, root: "/d", files: ["a.png"], sizes: [7] } };
 * assert.deepEqual(splitChanges(before, now), [
 *   "source/train: 1 file removed (b.png); 1 file changed size (a.png)",
 * ]);
 * ```
 */
export function splitChanges(
  before: Record<string, SplitRecord>,
  now: Record<string, SplitRecord>,
): string[] {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(before), ...Object.keys(now)])) {
    const a = before[name], b = now[name];
    if (!a || !b) {
      out.push(`${name}: ${a ? "no longer part of the run" : "not part of the run before"}`);
      continue;
    }
    const parts: string[] = [];
    if (a.root !== b.root) {
      parts.push(`its folder was ${a.root ?? "none"}, now ${b.root ?? "none"}`);
    }
    if (a.files && b.files) {
      const sizeA = new Map(a.files.map((f, i) => [f, a.sizes?.[i]]));
      const sizeB = new Map(b.files.map((f, i) => [f, b.sizes?.[i]]));
      const removed = a.files.filter((f) => !sizeB.has(f));
      const added = b.files.filter((f) => !sizeA.has(f));
      const resized = a.files.filter((f) =>
        sizeB.has(f) && sizeA.get(f) !== undefined && sizeB.get(f) !== undefined &&
        sizeA.get(f) !== sizeB.get(f)
      );
      const plural = (n: number) => `${n} file${n === 1 ? "" : "s"}`;
      if (removed.length) parts.push(`${plural(removed.length)} removed (${listed(removed)})`);
      if (added.length) parts.push(`${plural(added.length)} added (${listed(added)})`);
      if (resized.length) {
        parts.push(`${plural(resized.length)} changed size (${listed(resized)})`);
      }
      if (!removed.length && !added.length && a.files.join("\n") !== b.files.join("\n")) {
        parts.push("the same files in another order");
      }
    } else if (a.count !== b.count) {
      parts.push(`${a.count} samples before, ${b.count} now`);
    } else if (a.description !== b.description) {
      parts.push(`was ${JSON.stringify(a.description)}, now ${JSON.stringify(b.description)}`);
    }
    if (parts.length) out.push(`${name}: ${parts.join("; ")}`);
  }
  return out;
}

/**
 * Where `count` of `n` samples go: a seeded pick, in file order, and the rest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { key } from "../lib/random.ts";
 * import { carve } from "./splits.ts";
 * const { picked, rest } = carve(5, 2, key(0));
 * assert.deepEqual([picked.length, rest.length, [...picked, ...rest].sort().join()], [2, 3, "0,1,2,3,4"]);
 * ```
 */
export function carve(n: number, count: number, k: Key): { picked: number[]; rest: number[] } {
  const order = permutation(k, n);
  const picked = [...order.subarray(0, count)].sort((a, b) => a - b);
  const chosen = new Set(picked);
  return { picked, rest: Array.from({ length: n }, (_, i) => i).filter((i) => !chosen.has(i)) };
}

/**
 * A split's record for `splits.json`: its description, size and, where it is
 * made of files, the files relative to `root`.
 *
 * @example
 * ```ts ignore
 * const entry = record(plan.test, "/data/mine/target");
 * ```
 */
export function record(data: Dataset, root?: string): SplitRecord {
  return {
    description: data.description,
    count: data.length,
    ...(root && data.files ? { root, files: data.files.map((f) => relative(root, f)) } : {}),
  };
}
