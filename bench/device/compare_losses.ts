/**
 * Compares the losses of two training runs step by step (their
 * `metrics.jsonl`): the webgpu run on the device machine against the wasm run
 * made on a CPU machine by `prepare.sh`. Prints one line per loss with the
 * largest relative difference over the steps, and exits 1 when any exceeds
 * `--tolerance` (default 1e-3).
 *
 *     deno run --allow-read compare_losses.ts A/metrics.jsonl B/metrics.jsonl [--tolerance 1e-3]
 *
 * @module
 */
const [first, second, ...rest] = Deno.args;
if (!first || !second) {
  console.error("usage: compare_losses.ts A/metrics.jsonl B/metrics.jsonl [--tolerance T]");
  Deno.exit(2);
}
const at = rest.indexOf("--tolerance");
const tolerance = at >= 0 ? Number(rest[at + 1]) : 1e-3;
const read = async (path: string) =>
  (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l)) as Record<
    string,
    unknown
  >[];
const [a, b] = [await read(first), await read(second)];
const key = (line: Record<string, unknown>) => `${line.phase}:${line.step}`;
const byStep = new Map(b.map((line) => [key(line), line]));
const worst = new Map<string, { rel: number; where: string; a: number; b: number }>();
let compared = 0;
for (const line of a) {
  const other = byStep.get(key(line));
  if (!other) continue;
  compared++;
  for (const [name, value] of Object.entries(line)) {
    if (
      typeof value !== "number" ||
      ["step", "global", "rssMb", "peakRssMb", "tensors"].includes(name)
    ) continue;
    const theirs = other[name];
    if (typeof theirs !== "number") continue;
    // Relative to the value, but never to less than 0.01: tiny losses (L_bal) are noise-sized.
    const rel = Math.abs(value - theirs) / Math.max(Math.abs(theirs), 1e-2);
    const seen = worst.get(name);
    if (!seen || rel > seen.rel) worst.set(name, { rel, where: key(line), a: value, b: theirs });
  }
}
if (compared === 0) {
  console.error("no step appears in both files");
  Deno.exit(2);
}
let failed = false;
console.log(
  `${compared} steps compared; largest relative difference per loss (tolerance ${tolerance}):`,
);
for (const [name, { rel, where, a: x, b: y }] of worst) {
  const ok = rel <= tolerance;
  failed ||= !ok;
  console.log(
    `  ${name.padEnd(8)} ${rel.toExponential(2)} at ${where} (${x} vs ${y})${ok ? "" : "  OVER"}`,
  );
}
Deno.exit(failed ? 1 : 0);
