/**
 * The flag machinery of the smaller commands (`eval`, `predict`, `convert`,
 * `export-folder`, `demo`): each declares its flags once, as {@linkcode FlagSpec}s,
 * and gets from that declaration the parsing (`node:util`'s `parseArgs`
 * through {@linkcode parseCommandArgs}, so a negative number is a value), the
 * checks of kind, range and choices with messages that name the flag and the
 * value, typed values, and its `--help` text. A check that involves more than
 * one flag, or a value's form beyond these, stays in the command.
 * {@linkcode runCommand} is the entry point they share (help, errors, exit
 * status).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandHelp, readCommand } from "./command.ts";
 * const spec = {
 *   usage: "deno task demo --input DIR [--samples N]",
 *   flags: {
 *     input: { kind: "string", value: "DIR", help: "a folder", required: true },
 *     samples: { kind: "integer", value: "N", help: "how many", min: 1, default: 10 },
 *   },
 * } as const;
 * const values = readCommand(spec, ["--input", "a"]);
 * assert.ok(values !== "help");
 * assert.deepEqual([values.input, values.samples], ["a", 10]);
 * assert.throws(() => readCommand(spec, ["--input", "a", "--samples", "-3"]), /--samples must be a positive integer, got -3/);
 * assert.match(commandHelp(spec), /--samples N +how many \(default 10\)/);
 * ```
 *
 * @module
 */
import { parseCommandArgs } from "./arguments.ts";
import { BACKEND_CHOICES } from "../lib/backend.ts";

/** One flag: its kind, its help line, and what a value must be. */
export interface FlagSpec {
  /** A string, a whole number, a number, or a switch. */
  kind: "string" | "integer" | "number" | "boolean";
  /** What it does, for `--help` (a `\n` continues on the next line). */
  help: string;
  /** The value's name in `--help` (`FILE`, `N`). */
  value?: string;
  /** The value when the flag is absent. */
  default?: string | number | boolean;
  /** The flag must be given. */
  required?: boolean;
  /** The values a string flag may take. */
  choices?: readonly string[];
  /** The smallest value a number flag may take. */
  min?: number;
  /** The heading `--help` lists it under (a command with many flags groups them by concern). */
  section?: string;
}

/** A command: its usage line, its flags (by kebab-case name), and notes after the flags. */
export interface CommandSpec {
  usage: string;
  flags: Readonly<Record<string, FlagSpec>>;
  notes?: string;
}

/** `--checkpoint FILE`, as every command that reads a run's checkpoint declares it. */
export const CHECKPOINT_FLAG = {
  kind: "string",
  value: "FILE",
  help: "a checkpoint written by deno task train",
  required: true,
} as const satisfies FlagSpec;

/** `--backend B`, as every command that runs a network declares it. */
export const BACKEND_FLAG = {
  kind: "string",
  value: "B",
  help: "the tfjs backend",
  choices: BACKEND_CHOICES,
  default: "auto",
} as const satisfies FlagSpec;

type KindValue<S extends FlagSpec> = S["kind"] extends "boolean" ? boolean
  : S["kind"] extends "string" ? string
  : number;

/** The parsed values: a switch, or a flag with a default or `required`, always has one. */
export type CommandValues<F extends Readonly<Record<string, FlagSpec>>> = {
  -readonly [K in keyof F]: F[K] extends
    { required: true } | { default: unknown } | { kind: "boolean" } ? KindValue<F[K]>
    : KindValue<F[K]> | undefined;
};

function describe(spec: FlagSpec): string {
  const min = spec.min;
  if (spec.kind === "integer") {
    return min === 1
      ? "a positive integer"
      : min === 0
      ? "a non-negative integer"
      : min !== undefined
      ? `an integer ≥ ${min}`
      : "an integer";
  }
  return min !== undefined ? `a number ≥ ${min}` : "a number";
}

function checked(name: string, spec: FlagSpec, raw: string | boolean): string | number | boolean {
  if (spec.kind === "boolean") return raw;
  const text = String(raw);
  if (spec.kind === "string") {
    if (spec.choices && !spec.choices.includes(text)) {
      throw new Error(`--${name} must be one of ${spec.choices.join(", ")}, got ${text}`);
    }
    return text;
  }
  const n = Number(text);
  const whole = spec.kind === "integer" ? Number.isInteger(n) : Number.isFinite(n);
  if (text.trim() === "" || !whole || (spec.min !== undefined && n < spec.min)) {
    throw new Error(`--${name} must be ${describe(spec)}, got ${text}`);
  }
  return n;
}

/**
 * Parses `args` by the command's flags: `"help"` where `--help` is given,
 * else every flag's value, checked (an unknown flag, a missing required one,
 * a value of the wrong kind, below its minimum or not among its choices is
 * an error naming the flag).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCommand } from "./command.ts";
 * const spec = { usage: "x", flags: { backend: { kind: "string", help: "b", choices: ["wasm", "cpu"], default: "wasm" } } } as const;
 * assert.equal(readCommand(spec, ["--help"]), "help");
 * assert.throws(() => readCommand(spec, ["--backend", "gpu"]), /--backend must be one of wasm, cpu, got gpu/);
 * ```
 */
export function readCommand<C extends CommandSpec>(
  spec: C,
  args: readonly string[],
): CommandValues<C["flags"]> | "help" {
  const parseSpec: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const [name, flag] of Object.entries(spec.flags)) {
    parseSpec[name] = { type: flag.kind === "boolean" ? "boolean" : "string" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseCommandArgs(args, parseSpec).values as Record<string, string | boolean>;
  } catch (error) {
    throw new Error(`flags: ${(error as Error).message} (see --help)`);
  }
  if (values.help) return "help";
  const out: Record<string, unknown> = {};
  // The values given first: a wrong one is named even when a required flag is missing too.
  for (const [name, flag] of Object.entries(spec.flags)) {
    const raw = values[name];
    if (raw !== undefined) out[name] = checked(name, flag, raw);
  }
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (values[name] !== undefined) continue;
    if (flag.required) throw new Error(`--${name} is required (see --help)`);
    out[name] = flag.default ?? (flag.kind === "boolean" ? false : undefined);
  }
  return out as CommandValues<C["flags"]>;
}

/**
 * The command's `--help`: its usage, one aligned entry per flag (with its
 * choices and default), and its notes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandHelp } from "./command.ts";
 * const help = commandHelp({ usage: "deno task x", flags: { seed: { kind: "integer", value: "S", help: "the seed", default: 0 } } });
 * assert.equal(help, "deno task x\n\n  --seed S  the seed (default 0)");
 * ```
 */
export function commandHelp(spec: CommandSpec): string {
  const heads = Object.entries(spec.flags).map(([name, flag]) =>
    `--${name}${flag.value ? ` ${flag.value}` : ""}`
  );
  const width = Math.max(...heads.map((h) => h.length));
  const flags = Object.values(spec.flags);
  const entries = flags.map((flag, i) => {
    const extra = [
      // Choices the help does not already name.
      flag.choices && !flag.choices.every((c) => flag.help.includes(c))
        ? `one of ${flag.choices.join(", ")}`
        : "",
      flag.default !== undefined && flag.default !== false ? `default ${flag.default}` : "",
      flag.required ? "required" : "",
    ].filter(Boolean);
    const text = flag.help + (extra.length ? ` (${extra.join("; ")})` : "");
    const [first, ...rest] = text.split("\n");
    const heading = flag.section !== undefined && flag.section !== flags[i - 1]?.section
      ? [...(i > 0 ? [""] : []), `${flag.section}:`]
      : [];
    return [
      ...heading,
      `  ${heads[i].padEnd(width)}  ${first}`,
      ...rest.map((line) => `  ${" ".repeat(width)}  ${line}`),
    ].join("\n");
  });
  return [spec.usage, "", ...entries, ...(spec.notes ? ["", spec.notes] : [])].join("\n");
}

/**
 * Splits a command line into the flags the command declares (with their
 * values, and `--help`) and the rest, as written: for the commands that pass
 * every other flag on to `deno task train` (`compare`, `sweep`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitOwnFlags } from "./command.ts";
 * const spec = { usage: "x", flags: { seeds: { kind: "integer", help: "n" }, resume: { kind: "boolean", help: "r" } } } as const;
 * assert.deepEqual(
 *   splitOwnFlags(spec, ["--seeds", "5", "--steps", "10", "--resume", "--glyphs=letters"]),
 *   { own: ["--seeds", "5", "--resume"], passed: ["--steps", "10", "--glyphs=letters"] },
 * );
 * ```
 */
export function splitOwnFlags(
  spec: CommandSpec,
  args: readonly string[],
): { own: string[]; passed: string[] } {
  const own: string[] = [], passed: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const match = /^--([a-z0-9-]+)(=.*)?$/.exec(args[i]);
    const flag = match ? spec.flags[match[1]] : undefined;
    if (match?.[1] === "help") own.push(args[i]);
    else if (!flag) passed.push(args[i]);
    else if (flag.kind === "boolean" || match![2] !== undefined) own.push(args[i]);
    else {
      if (i + 1 >= args.length) throw new Error(`--${match![1]} needs a value`);
      own.push(args[i], args[++i]);
    }
  }
  return { own, passed };
}

/** How {@linkcode runCommand} reaches the outside world (tests replace it). */
export interface CommandIo {
  /** The command line's arguments (default `Deno.args`). */
  args?: readonly string[];
  /** Ends the process with a status (default `Deno.exit`). */
  exit?: (status: number) => void;
  /** Prints the help (default `console.log`). */
  log?: (line: string) => void;
  /** Prints an error (default `console.error`). */
  error?: (line: string) => void;
}

/**
 * The shared shape of a small command's entry point: parses the flags by the
 * spec, prints the help for `--help`, runs `body` with the checked values, and
 * on any error (a bad flag or one `body` throws) prints `NAME: message` and
 * ends with status 1. Exiting rather than returning matters: a command that
 * started kernel threads would otherwise be kept alive by them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCommand } from "./command.ts";
 * const spec = { usage: "deno task x --n N", flags: { n: { kind: "integer", value: "N", help: "n", min: 1 } } } as const;
 * const errors: string[] = [], statuses: number[] = [], seen: unknown[] = [];
 * const io = { error: (line: string) => errors.push(line), exit: (s: number) => statuses.push(s) };
 * await runCommand("x", spec, (values) => void seen.push(values.n), { ...io, args: ["--n", "3"] });
 * await runCommand("x", spec, () => {}, { ...io, args: ["--n", "0"] });
 * assert.deepEqual(seen, [3]);
 * assert.deepEqual(statuses, [1]);
 * assert.match(errors[0], /^x: --n must be a positive integer, got 0/);
 * ```
 */
export async function runCommand<C extends CommandSpec>(
  name: string,
  spec: C,
  body: (values: CommandValues<C["flags"]>) => Promise<void> | void,
  io: CommandIo = {},
): Promise<void> {
  const { args = Deno.args, exit = Deno.exit, log = console.log, error = console.error } = io;
  try {
    const values = readCommand(spec, args);
    if (values === "help") {
      log(commandHelp(spec));
      return;
    }
    await body(values);
  } catch (cause) {
    error(`${name}: ${(cause as Error).message}`);
    exit(1);
  }
}
