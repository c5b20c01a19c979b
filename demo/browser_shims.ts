/**
 * What the page's bundle gets for the Node built-ins `node:util` and
 * `node:url`, which only the command-line and file code paths of the
 * library call (flag parsing, file URLs): a browser never reaches them, and
 * where it would, the call says so instead of failing obscurely.
 * `deno task demo` maps both specifiers here when it bundles
 * (`server.ts`); `node:path` maps to npm's `path-browserify`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgs } from "./browser_shims.ts";
 * assert.throws(() => parseArgs(), /not available in a browser/);
 * ```
 *
 * @module
 */

function unavailable(name: string): never {
  throw new Error(`${name} is not available in a browser (the demo page does not call it)`);
}

/** Stands in for `node:util`'s `parseArgs`. */
export function parseArgs(..._args: unknown[]): never {
  return unavailable("node:util parseArgs");
}

/** Stands in for `node:url`'s `pathToFileURL`. */
export function pathToFileURL(..._args: unknown[]): never {
  return unavailable("node:url pathToFileURL");
}
