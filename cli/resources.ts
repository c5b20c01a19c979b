/**
 * The process's resident memory, for the training log and the memory bench.
 *
 * @example
 * ```ts
 * import { residentMemory } from "./resources.ts";
 * const { rssMb, peakRssMb } = residentMemory();
 * console.log(rssMb > 0, peakRssMb >= rssMb);
 * ```
 *
 * @module
 */
import process from "node:process";

/** Resident memory now and at its highest so far, in MiB (one decimal). */
export interface ResidentMemory {
  /** Resident set size now. */
  rssMb: number;
  /** The highest resident set size of the process so far (getrusage's maxrss). */
  peakRssMb: number;
}

const MIB = 1024 * 1024;
const round = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;

/**
 * Reads the process's resident memory.
 *
 * @example
 * ```ts
 * import { residentMemory } from "./resources.ts";
 * console.log(residentMemory().peakRssMb);
 * ```
 */
export function residentMemory(): ResidentMemory {
  const rss = Deno.memoryUsage().rss;
  // getrusage's ru_maxrss, in KiB on Linux. (/proc/self/status would need
  // --allow-all under Deno.)
  const maxRssKib = process.resourceUsage?.().maxRSS ?? 0;
  return { rssMb: round(rss), peakRssMb: round(Math.max(rss, maxRssKib * 1024)) };
}
