/**
 * Command-line plumbing the smaller commands (`eval`, `predict`, `convert`)
 * share with `deno task train`: flags parsed with `node:util`'s `parseArgs`
 * but a negative number accepted as a value (so that `--samples -3` is
 * refused for being negative, not called "ambiguous"), and output paths
 * checked before the work that writes them, with messages that name the
 * path and say what to do.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { dirname, resolve } from "node:path";

/**
 * `parseArgs` over `args` with `strict: true`, where a string flag followed
 * by a negative number (`--samples -3`) takes it as its value; the command's
 * own check then names the flag and the value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandArgs } from "./arguments.ts";
 * const { values } = parseCommandArgs(["--samples", "-3"], { samples: { type: "string" } });
 * assert.equal(values.samples, "-3");
 * ```
 */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: readonly string[],
  options: T,
): { values: ReturnType<typeof parseArgs<{ options: T; strict: true }>>["values"] } {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([^=]+)$/.exec(args[i])?.[1];
    const next = args[i + 1];
    if (
      name && options[name]?.type === "string" && next !== undefined && /^-\.?\d/.test(next)
    ) {
      joined.push(`--${name}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  const { values } = parseArgs({ args: joined, options, strict: true });
  return { values: values as ReturnType<typeof parseArgs<{ options: T; strict: true }>>["values"] };
}

/**
 * Why a path cannot be written, in a user's terms (what `train`'s run folder,
 * `eval --json` and `predict --output` say alike).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeProblem } from "./arguments.ts";
 * assert.match(writeProblem(new Deno.errors.NotCapable("x")), /choose an ordinary folder/);
 * ```
 */
export function writeProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    return "this location cannot be written (a device or system path); choose an ordinary folder";
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return "the operating system denies writing there; choose a folder you can write";
  }
  if (error instanceof Deno.errors.NotADirectory) {
    return "a part of the path is a file, not a folder";
  }
  if (error instanceof Deno.errors.AlreadyExists) return "a file of that name is in the way";
  return (error as Error).message;
}

/**
 * Checks, before any work, that `path` can be written as a file by the
 * command's `flag`: its folder exists and is a folder, and `path` is not a
 * folder. Throws an error naming the flag and the path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkOutputFile } from "./arguments.ts";
 * const file = await Deno.makeTempFile();
 * await assert.rejects(() => checkOutputFile(`${file}/out.json`, "--json"), /is a file, not a folder/);
 * await Deno.remove(file);
 * ```
 */
export async function checkOutputFile(path: string, flag: string): Promise<void> {
  const folder = dirname(resolve(path));
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(folder);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? `its folder ${folder} does not exist; make it first`
      : error instanceof Deno.errors.NotADirectory
      ? `its folder ${folder} is under a file, not a folder`
      : writeProblem(error);
    throw new Error(`${flag} ${path}: ${why}`);
  }
  if (!info.isDirectory) throw new Error(`${flag} ${path}: ${folder} is a file, not a folder`);
  const existing = await statIfThere(path, flag);
  if (existing?.isDirectory) throw new Error(`${flag} ${path}: that is a folder; give a file name`);
}

/** `path`'s information, or undefined where nothing is there; other failures name the flag. */
async function statIfThere(path: string, flag: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${flag} ${path}: ${writeProblem(error)}`);
  }
}

/**
 * Makes the output folder of the command's `flag` (and its parents), or
 * throws an error naming the flag, the path and what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeOutputFolder } from "./arguments.ts";
 * const file = await Deno.makeTempFile();
 * await assert.rejects(() => makeOutputFolder(file, "--output"), /a file of that name/);
 * await Deno.remove(file);
 * ```
 */
export async function makeOutputFolder(path: string, flag: string): Promise<void> {
  const existing = await statIfThere(path, flag);
  if (existing?.isDirectory) return;
  if (existing) throw new Error(`${flag} ${path}: a file of that name exists; give a folder`);
  try {
    await Deno.mkdir(path, { recursive: true });
  } catch (error) {
    throw new Error(`${flag} ${path}: cannot make the folder (${writeProblem(error)})`);
  }
}
