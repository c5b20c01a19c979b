/**
 * A run's `metrics.jsonl` (one JSON line per training step) with bounded
 * memory: the file is read and filtered as a stream, and what stays in
 * memory for the report is, per phase, a downsample of at most `cap` lines
 * (every line kept while there are few, then every 2nd, 4th, … as the phase
 * grows), every evaluation line, and the last {@linkcode RECENT_LINES}
 * lines. A run of the published recipe's 250,000 steps keeps a few thousand
 * lines, not a quarter of a million.
 *
 * @module
 */

/** One line of the log: a step's metrics, with its `phase` and `step`. */
export type MetricsLine = Record<string, unknown>;

/** How many of a phase's last lines stay in memory whole (group make-ups are averaged over them). */
export const RECENT_LINES = 50;

interface PhaseLines {
  stride: number;
  seen: number;
  sampled: MetricsLine[];
  evaluations: MetricsLine[];
  recent: MetricsLine[];
}

const encoder = new TextEncoder();

/**
 * Reads a JSON-lines file as a stream, calling `visit` on every line; a
 * last line cut short (by a kill) is dropped and reported as `torn`, a bad
 * line before the last is an error naming the file and line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scanMetricsLog } from "./metrics_log.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, '{"step":1}\n{"step":2}\n{"st');
 * const steps: unknown[] = [];
 * const { torn } = await scanMetricsLog(path, (line) => steps.push(line.step));
 * assert.deepEqual([steps, torn], [[1, 2], true]);
 * await Deno.remove(path);
 * ```
 */
export async function scanMetricsLog(
  path: string,
  visit: (line: MetricsLine) => unknown,
): Promise<{ torn: boolean }> {
  const file = await Deno.open(path, { read: true });
  let pending: { number: number; message: string } | undefined;
  let number = 0;
  let rest = "";
  const take = async (text: string) => {
    number++;
    if (text.trim() === "") return;
    if (pending) {
      throw new Error(`${path}: line ${pending.number} is not JSON (${pending.message})`);
    }
    let line: MetricsLine;
    try {
      line = JSON.parse(text);
    } catch (error) {
      pending = { number, message: (error as Error).message };
      return;
    }
    await visit(line);
  };
  for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const part of parts) await take(part);
  }
  await take(rest);
  return { torn: pending !== undefined };
}

/**
 * The metrics log of a run: appends lines to the file and keeps a bounded
 * sample of them for the report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsLog } from "./metrics_log.ts";
 * const path = await Deno.makeTempFile();
 * const log = new MetricsLog(path, 100);
 * await log.reset();
 * for (let step = 1; step <= 1000; step++) await log.append({ phase: "cdga", step, seg: 1 / step });
 * assert.ok(log.lines("cdga").length <= 200);
 * assert.equal(log.recent("cdga").at(-1)?.step, 1000);
 * assert.equal((await Deno.readTextFile(path)).split("\n").length, 1001);
 * await Deno.remove(path);
 * ```
 */
export class MetricsLog {
  /** The file. */
  readonly path: string;
  readonly #cap: number;
  readonly #phases = new Map<string, PhaseLines>();

  /** A log at `path`, keeping about `cap` sampled lines per phase in memory (default 2,000). */
  constructor(path: string, cap = 2000) {
    if (!Number.isInteger(cap) || cap < 2) {
      throw new Error(`MetricsLog: cap must be ≥ 2, got ${cap}`);
    }
    this.path = path;
    this.#cap = cap;
  }

  /** Starts an empty file (a new run). */
  async reset(): Promise<void> {
    this.#phases.clear();
    await Deno.writeTextFile(this.path, "");
  }

  /**
   * Reads the file of a run being resumed, keeping the lines `keep` accepts
   * (in memory, as a sample); returns whether a torn last line was dropped.
   * Nothing is written: {@linkcode MetricsLog.rewrite} then makes the file
   * hold exactly the kept lines.
   */
  async load(keep: (line: MetricsLine) => boolean): Promise<{ torn: boolean }> {
    this.#phases.clear();
    return await scanMetricsLog(this.path, (line) => {
      if (keep(line)) this.#add(line);
    });
  }

  /**
   * Rewrites the file with only the lines `keep` accepts, as a stream into a
   * temporary file renamed over the log (a kill leaves the old log or the
   * new one, never a mix).
   */
  async rewrite(keep: (line: MetricsLine) => boolean): Promise<void> {
    const temporary = `${this.path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    const out = await Deno.open(temporary, { write: true, create: true, truncate: true });
    try {
      let buffer: string[] = [];
      const flush = async () => {
        const bytes = encoder.encode(buffer.join(""));
        for (let written = 0; written < bytes.length;) {
          written += await out.write(bytes.subarray(written));
        }
        buffer = [];
      };
      await scanMetricsLog(this.path, async (line) => {
        if (!keep(line)) return;
        buffer.push(JSON.stringify(line) + "\n");
        if (buffer.length >= 1000) await flush();
      });
      await flush();
      await out.sync();
    } finally {
      out.close();
    }
    await Deno.rename(temporary, this.path);
  }

  /** Appends one step's line to the file and to the sample. */
  async append(line: MetricsLine): Promise<void> {
    this.#add(line);
    await Deno.writeTextFile(this.path, JSON.stringify(line) + "\n", { append: true });
  }

  #add(line: MetricsLine): void {
    const name = String(line.phase);
    let phase = this.#phases.get(name);
    if (!phase) {
      phase = { stride: 1, seen: 0, sampled: [], evaluations: [], recent: [] };
      this.#phases.set(name, phase);
    }
    if (phase.seen % phase.stride === 0) phase.sampled.push(line);
    phase.seen++;
    if (phase.sampled.length > this.#cap) {
      phase.stride *= 2;
      phase.sampled = phase.sampled.filter((_, i) => i % 2 === 0);
    }
    if (typeof line.targetMIoU === "number") phase.evaluations.push(line);
    phase.recent.push(line);
    if (phase.recent.length > RECENT_LINES) phase.recent.shift();
  }

  /** The phases seen, in the order their first line came. */
  phases(): string[] {
    return [...this.#phases.keys()];
  }

  /**
   * A phase's sampled lines, its evaluation lines and its last lines, in
   * step order (what the plot draws).
   */
  lines(phase: string): MetricsLine[] {
    const p = this.#phases.get(phase);
    if (!p) return [];
    const bySteps = new Map<unknown, MetricsLine>();
    for (const line of [...p.sampled, ...p.evaluations, ...p.recent]) bySteps.set(line.step, line);
    return [...bySteps.values()].sort((a, b) => (a.step as number) - (b.step as number));
  }

  /** A phase's last {@linkcode RECENT_LINES} lines, oldest first. */
  recent(phase: string): MetricsLine[] {
    return [...(this.#phases.get(phase)?.recent ?? [])];
  }
}
