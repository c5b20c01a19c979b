/**
 * Progress of a training phase: on a terminal, one line redrawn in place (a
 * bar, steps per second, ETA and the latest losses); elsewhere, plain log
 * lines every few seconds.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const p = new Progress((line) => console.log(line), false);
 * p.start("warmup", 0, 10);
 * p.update(10, { seg: 0.5 });
 * p.stop();
 * ```
 *
 * @module
 */

const duration = (s: number) => {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return m ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
};

/** A progress display. */
export class Progress {
  #log: (line: string) => void;
  #terminal: boolean;
  #phase = "";
  #first = 0;
  #total = 0;
  #started = 0;
  #lastLine = 0;
  #step = 0;
  #losses = "";

  /** `terminal` defaults to whether stdout is one. */
  constructor(log: (line: string) => void, terminal = Deno.stdout.isTerminal()) {
    this.#log = log;
    this.#terminal = terminal;
  }

  /** A phase starts (at `step`, of `total`). */
  start(phase: string, step: number, total: number): void {
    [this.#phase, this.#first, this.#step, this.#total] = [phase, step, step, total];
    this.#started = performance.now();
    this.#lastLine = 0;
  }

  #text(): string {
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = (this.#step - this.#first) / Math.max(seconds, 1e-9);
    const eta = (this.#total - this.#step) / rate;
    return `${this.#phase} ${this.#step}/${this.#total} ${rate.toFixed(2)} step/s ETA ${
      duration(eta)
    } ${this.#losses}`;
  }

  /** After a step: its number and metrics. */
  update(step: number, metrics: Record<string, number | number[]>): void {
    this.#step = step;
    this.#losses = Object.entries(metrics)
      .filter(([, v]) => typeof v === "number")
      .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
      .join(" ");
    const now = performance.now();
    if (this.#terminal) {
      const width = 24, filled = Math.round((width * step) / this.#total);
      const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
      const line = `${bar} ${this.#text()}`.slice(
        0,
        Math.max(40, (Deno.consoleSize?.().columns ?? 120) - 1),
      );
      Deno.stdout.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
    } else if (now - this.#lastLine > 10_000 || step === this.#total || this.#lastLine === 0) {
      this.#lastLine = now;
      this.#log(this.#text());
    }
  }

  /** A message between updates (an evaluation result). */
  note(message: string): void {
    if (this.#terminal) Deno.stdout.writeSync(new TextEncoder().encode(`\r\x1b[2K`));
    this.#log(`${this.#phase} step ${this.#step}: ${message}`);
  }

  /** The phase ends. */
  stop(): void {
    if (this.#terminal) Deno.stdout.writeSync(new TextEncoder().encode("\n"));
  }
}
