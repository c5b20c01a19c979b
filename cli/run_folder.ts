/**
 * Guarding a run folder: one writer at a time (a lock file locked by the
 * operating system for the writer's lifetime, naming its pid), resume only with the options the run
 * was made with (or an explicit `--accept-changes`), a metrics log whose torn
 * last line is dropped, no stale temporary files, and interrupts (SIGINT,
 * SIGTERM) that end at a step boundary with a checkpoint.
 *
 * @example
 * ```ts ignore
 * const release = await lockRunFolder("runs/cdga-digits-seed0");
 * try { ... } finally { await release(); }
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { OPTION_SPECS, upgradeStoredOptions } from "./options.ts";
import { kebabCase } from "../lib/option_spec.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";

const LOCK = "run.lock";

/**
 * Takes the run folder's lock: `run.lock`, locked exclusively by the
 * operating system (released when the process ends, however it ends, so a
 * lock file left by a killed run is simply taken over) and holding the
 * writer's pid for the message another writer gets. Returns the release
 * function.
 *
 * @example
 * ```ts ignore
 * const release = await lockRunFolder(runDir);
 * await release();
 * ```
 */
export async function lockRunFolder(runDir: string): Promise<() => Promise<void>> {
  const path = join(runDir, LOCK);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (error) {
    const isFolder = await Deno.stat(path).then((info) => info.isDirectory, () => false);
    throw new Error(
      isFolder
        ? `${path} is a folder; a run keeps its lock file there. Remove or rename that folder ` +
          "(it is not part of a run) and start again"
        : `${path}: cannot open the run's lock file (${(error as Error).message})`,
    );
  }
  if (!(await file.tryLock(true))) {
    let holder: { pid?: number; since?: string } = {};
    try {
      holder = JSON.parse(await Deno.readTextFile(path));
    } catch {
      // Being written this instant: the pid is not known yet.
    }
    file.close();
    throw new Error(
      `${runDir} is in use by process ${holder.pid ?? "?"} (since ${holder.since ?? "?"}): ` +
        "one run writes a folder at a time",
    );
  }
  await file.truncate(0);
  await file.write(
    new TextEncoder().encode(
      JSON.stringify({ pid: Deno.pid, since: new Date().toISOString() }) + "\n",
    ),
  );
  return async () => {
    await Deno.remove(path).catch(() => {});
    await file.unlock().catch(() => {});
    file.close();
  };
}

/**
 * Removes temporary files that a killed atomic write left (`*.tmp-XXXXXXXX`)
 * in a folder; returns their names.
 *
 * @example
 * ```ts ignore
 * const removed = await clearTemporaries("runs/x/checkpoints");
 * ```
 */
export async function clearTemporaries(dir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /\.tmp-[0-9a-f]{8}$/.test(entry.name)) {
        await Deno.remove(join(dir, entry.name));
        removed.push(entry.name);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return removed;
}

/**
 * Options a resume may change: they steer the run, not its result. The
 * recipe is among them because it only supplies values, and those are
 * compared one by one (a grid pinned to a renamed recipe still matches its
 * runs).
 */
export const RESUMABLE_CHANGES: readonly string[] = [
  "optionsVersion",
  "recipe",
  "resume",
  "acceptChanges",
  "config",
  "help",
  "out",
  "name",
  "threads",
  "evalEvery",
  "evalSamples",
  "checkpointEvery",
];

/**
 * The options that differ between a run's stored configuration and the
 * given one, other than those a resume may change; an option the stored
 * configuration lacks (an older version) counts at its default.
 *
 * @example
 * ```ts
 * import { resumeDifferences } from "./run_folder.ts";
 * console.log(resumeDifferences({ seed: 0, steps: 10, threads: 1 }, { seed: 7, steps: 10, threads: 2 }));
 * // ["--seed: the run has 0, given 7"]
 * ```
 */
export function resumeDifferences(
  stored: Record<string, unknown>,
  given: Record<string, unknown>,
): string[] {
  const defaults: Record<string, unknown> = Object.fromEntries(
    Object.entries(OPTION_SPECS).map(([k, v]) => [k, v.default]),
  );
  const out: string[] = [];
  const keys = new Set([...Object.keys(stored), ...Object.keys(given)]);
  for (const k of keys) {
    if (RESUMABLE_CHANGES.includes(k)) continue;
    const before = k in stored ? stored[k] : defaults[k];
    const after = k in given ? given[k] : defaults[k];
    if (JSON.stringify(before ?? null) !== JSON.stringify(after ?? null)) {
      const flag = `--${kebabCase(k)}`;
      out.push(
        `${flag}: the run has ${JSON.stringify(before ?? null)}, given ${
          JSON.stringify(after ?? null)
        }`,
      );
    }
  }
  return out;
}

/**
 * Options that choose which phases a run has rather than what a phase
 * computes: a checkpoint made before a phase was added (`--also` under
 * `--accept-changes`) still belongs to the run.
 */
const PHASE_LIST_OPTIONS = ["method", "also", "baseline", "oracle"];

/**
 * Why a checkpoint does not belong where a run is about to use it, or
 * `undefined` when it does: its header must name the expected phase, stand
 * within the phase's steps (and be complete where `complete` is asked), and
 * carry the run's result-changing options (the seed among them). Resume reads
 * checkpoints by file name; this keeps a file copied from another run, or
 * over another phase's file, from being continued as if it were this one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointMismatch } from "./run_folder.ts";
 * const config = { optionsVersion: 3, seed: 1, steps: 10 };
 * const checkpoint = { config, position: { phase: "warmup", step: 10, done: true } };
 * const phase = { phase: "warmup", steps: 10 };
 * assert.match(checkpointMismatch(checkpoint, phase, { ...config, seed: 0 })!, /--seed: the run has 0, the checkpoint 1/);
 * assert.equal(checkpointMismatch(checkpoint, phase, config), undefined);
 * ```
 */
export function checkpointMismatch(
  checkpoint: { config: unknown; position: { phase: string; step: number; done: boolean } },
  expected: { phase: string; steps: number; complete?: boolean },
  given: Record<string, unknown>,
): string | undefined {
  const { phase, step, done } = checkpoint.position;
  if (phase !== expected.phase) {
    return `it holds phase ${JSON.stringify(phase)}, not ${JSON.stringify(expected.phase)}`;
  }
  if (!Number.isInteger(step) || step < 0 || step > expected.steps) {
    return `it stands at step ${step}, outside the phase's ${expected.steps} steps`;
  }
  if (expected.complete && !(done && step === expected.steps)) {
    return `it stands at step ${step} of ${expected.steps}, not at the phase's end`;
  }
  if (!checkpoint.config || typeof checkpoint.config !== "object") {
    return "it carries no run configuration";
  }
  const { classes: _classes, ...options } = checkpoint.config as Record<string, unknown>;
  const theirs = upgradeStoredOptions(options);
  const ours = { ...given };
  for (const k of PHASE_LIST_OPTIONS) {
    delete theirs[k];
    delete ours[k];
  }
  const differences = resumeDifferences(ours, theirs).map((d) =>
    d.replace(", given ", ", the checkpoint ")
  );
  return differences.length
    ? `it was made by a run with other options:\n  ${differences.join("\n  ")}`
    : undefined;
}

/** A run stopped by a signal at a step boundary, its state saved. */
export class Interrupted extends Error {
  /** The exit status a shell expects: 128 + the signal's number. */
  readonly exitCode: number;
  /** Builds the error; `signal` is SIGINT or SIGTERM. */
  constructor(signal: "SIGINT" | "SIGTERM", message: string) {
    super(message);
    this.name = "Interrupted";
    this.exitCode = signal === "SIGINT" ? 130 : 143;
  }
}

/**
 * Catches SIGINT and SIGTERM while a run trains: the first asks the run to
 * stop at the end of its current step (`pending()` says which arrived); a
 * second one ends the process at once. `stop()` restores the default
 * handling.
 *
 * @example
 * ```ts ignore
 * const interrupts = watchInterrupts();
 * try { while (training) { step(); if (interrupts.pending()) break; } } finally { interrupts.stop(); }
 * ```
 */
export function watchInterrupts(): {
  pending(): "SIGINT" | "SIGTERM" | undefined;
  /**
   * From now on a signal ends the process at once (exit 130 or 143) after
   * printing `message(signal)`: for work that writes nothing a resume needs,
   * such as the final evaluation, where waiting would mean minutes.
   */
  atOnce(message: (signal: "SIGINT" | "SIGTERM") => string): void;
  stop(): void;
} {
  let received: "SIGINT" | "SIGTERM" | undefined;
  let immediate: ((signal: "SIGINT" | "SIGTERM") => string) | undefined;
  const handlers: [Deno.Signal, () => void][] = [];
  if (Deno.build.os !== "windows") {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const handler = () => {
        if (immediate) {
          console.error(`\n${immediate(signal)}`);
          Deno.exit(signal === "SIGINT" ? 130 : 143);
        }
        if (received) Deno.exit(signal === "SIGINT" ? 130 : 143);
        received = signal;
        console.error(
          `\n${signal}: stopping at the end of this step and writing a checkpoint (again to quit at once)`,
        );
      };
      Deno.addSignalListener(signal, handler);
      handlers.push([signal, handler]);
    }
  }
  return {
    pending: () => received,
    atOnce(message) {
      immediate = message;
    },
    stop() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}

/**
 * Whether a file or folder exists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exists } from "./run_folder.ts";
 * assert.deepEqual(await exists("/nowhere/at/all"), false);
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    // Absent, or a path Deno will not look at (/proc, /dev without --allow-all; whoever then
    // uses it gets that error). A path the operating system refuses is a problem to report.
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.NotCapable
    ) {
      return false;
    }
    throw new Error(`${path}: cannot be read (${(error as Error).message})`);
  }
}

/**
 * The options a run was made with (its `config.json`, else its first
 * checkpoint's).
 *
 * @example
 * ```ts ignore
 * const stored = await storedOptions("runs/cdga-digits-seed0");
 * ```
 */
export async function storedOptions(runDir: string): Promise<Record<string, unknown>> {
  const path = join(runDir, "config.json");
  try {
    const parsed = JSON.parse(await Deno.readTextFile(path));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      return upgradeStoredOptions(parsed);
    }
  } catch {
    // Fall back to a checkpoint's copy below.
  }
  for await (const entry of Deno.readDir(join(runDir, "checkpoints"))) {
    if (!entry.name.endsWith(".ckpt")) continue;
    const checkpoint = await loadCheckpoint(join(runDir, "checkpoints", entry.name));
    if (checkpoint.config && typeof checkpoint.config === "object") {
      const { classes: _classes, ...options } = checkpoint.config as Record<string, unknown>;
      return upgradeStoredOptions(options);
    }
  }
  throw new Error(`${path}: cannot read the run's options (and no checkpoint carries them)`);
}
