/**
 * The bench's printed tables: timings against PyTorch, per-kernel
 * profiles, and the memory run.
 *
 * @example
 * ```ts
 * import { printTable } from "./tables.ts";
 * printTable("example", []);
 * ```
 *
 * @module
 */
import { median, oneDecimal } from "./stats.ts";
import type { MemoryReport, Quarter } from "./memory.ts";
import type { Profile } from "./profile.ts";
import type { Timing } from "./torch.ts";

/** Prints the 15 costliest kernels of a profile. */
export function printProfile(title: string, profile: Profile) {
  const total = profile.reduce((s, [, ms]) => s + ms, 0);
  const calls = profile.reduce((s, [, , n]) => s + n, 0);
  console.log(
    `\nper-kernel profile of one ${title} (kernel time ${oneDecimal(total)} ms, ${calls} kernels):`,
  );
  for (const [name, ms, n] of profile.slice(0, 15)) {
    console.log(`  ${name.padEnd(28)} ${String(ms).padStart(7)} ms  ${n} calls`);
  }
}

/** Prints one timing table, with the ratio to PyTorch round by round where there are rounds. */
export function printTable(
  title: string,
  rows: Timing[],
  against?: Timing,
  roundRatios?: number[][],
) {
  console.log(`\n${title}\n`);
  console.log(
    "| implementation | median ms/step | min | max | × PyTorch | loss first → last | detail |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const [i, t] of rows.entries()) {
    const perRound = roundRatios?.[i] ?? [];
    const ratio = perRound.length > 0
      ? `${median(perRound).toFixed(1)} (rounds: ${perRound.join(", ")})`
      : against
      ? (t.medianMs / against.medianMs).toFixed(1)
      : "–";
    console.log(
      `| ${t.impl} | ${t.medianMs} | ${t.minMs} | ${t.maxMs} | ${ratio} | ` +
        `${t.lossFirst.toFixed(4)} → ${t.lossLast.toFixed(4)} | ${t.detail} |`,
    );
  }
}

/** Prints the memory run's figures: peaks, quarters, trends and live tensors. */
export function printMemory(memory: MemoryReport): void {
  const { early, last } = memory;
  const verdict = Math.abs(memory.growth) <= 0.1 ? "within 10%" : "MORE THAN 10%";
  const quarters = (list: Quarter[]) =>
    list.map((q) => `${q.from}–${q.to}: ${q.min} / ${q.median} / ${q.max}`).join("; ");
  console.log(
    `\nmemory of a ${last.step}-step default training run (${memory.seconds} s` +
      (memory.stoppedAt ? `, stopped by the time limit at step ${memory.stoppedAt}` : "") +
      `; ${memory.command}):\n` +
      `  peak resident memory: ${early.peakRssMb} MiB at step ${early.step}, ` +
      `${last.peakRssMb} MiB at step ${last.step} (${
        (100 * memory.growth).toFixed(1)
      }%, ${verdict})\n` +
      `  resident memory by quarter of the steps from ${early.step} on (lowest / median / highest MiB): ` +
      quarters(memory.quarters) +
      `\n  its trend (least squares): ${memory.slopeMbPer1000.toFixed(1)} MiB per 1,000 steps\n` +
      `  resident now: ${early.rssMb} → ${last.rssMb} MiB; live tensors from step ${early.step} on: ` +
      (memory.tensorRange[0] === memory.tensorRange[1]
        ? `constant at ${memory.tensorRange[0]}`
        : `${memory.tensorRange[0]}–${memory.tensorRange[1]} (NOT constant)`) +
      (memory.stepTime
        ? `\n  step time by quarter (lowest / median / highest ms): ${
          quarters(memory.stepTime.quarters)
        }\n  its trend (least squares): ${
          memory.stepTime.slopeMsPer1000.toFixed(2)
        } ms per 1,000 steps`
        : ""),
  );
}
