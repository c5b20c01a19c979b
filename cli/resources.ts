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

/** Resident memory now and at its highest so far, in MiB (one decimal). */
export interface ResidentMemory {
  /** Resident set size now. */
  rssMb: number;
  /**
   * The highest resident set size of the process so far (Linux's VmHWM);
   * where /proc cannot be read, the current size.
   */
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
  let peak = rss;
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = status.match(/^VmHWM:\s+(\d+)\s+kB/m);
    if (kb) peak = Math.max(rss, Number(kb[1]) * 1024);
  } catch {
    // Not Linux, or no read permission: the current size is the best known peak.
  }
  return { rssMb: round(rss), peakRssMb: round(peak) };
}
