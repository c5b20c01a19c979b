/**
 * The comparison table of the papers: a row per method, a column per class
 * (IoU in %), then the mIoU of each protocol; as Markdown and as JSON.
 *
 * @example
 * ```ts
 * import { ConfusionMatrix, evaluate } from "./metrics.ts";
 * import { iouTable } from "./table.ts";
 * const e = evaluate(new ConfusionMatrix(2).add([0, 1], [0, 0]), ["road", "car"]);
 * console.log(iouTable([{ name: "source only", evaluation: e }]));
 * ```
 *
 * @module
 */
import type { Evaluation } from "./metrics.ts";

/** One row: a method's name and its evaluation. */
export interface TableRow {
  name: string;
  evaluation: Evaluation;
}

const pct = (v: number) => (Number.isNaN(v) ? "–" : (100 * v).toFixed(1));

/**
 * A Markdown table: method | class IoUs … | mIoU (per protocol) | pixel acc.
 *
 * @example
 * ```ts ignore
 * console.log(iouTable(rows));
 * ```
 */
export function iouTable(rows: TableRow[]): string {
  if (rows.length === 0) return "";
  const classes = rows[0].evaluation.classes;
  // "all" first, then the protocols from the largest (object keys that look
  // like integers would otherwise come first).
  const protocols = [
    "all",
    ...Object.keys(rows[0].evaluation.miou).filter((p) => p !== "all")
      .sort((a, b) => Number(b) - Number(a)),
  ];
  const header = [
    "method",
    ...classes,
    ...protocols.map((p) => (p === "all" ? "mIoU" : `mIoU${p}`)),
    "pixel acc.",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ];
  for (const row of rows) {
    const e = row.evaluation;
    lines.push(
      `| ${
        [
          row.name,
          ...e.iou.map(pct),
          ...protocols.map((p) => pct(e.miou[p] ?? NaN)),
          pct(e.pixelAccuracy),
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}

/**
 * The same rows as plain JSON (NaN written as null).
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("table.json", JSON.stringify(iouJson(rows), null, 2));
 * ```
 */
export function iouJson(rows: TableRow[]): unknown {
  const clean = (v: number) => (Number.isNaN(v) ? null : v);
  return rows.map(({ name, evaluation: e }) => ({
    method: name,
    iou: Object.fromEntries(e.classes.map((c, i) => [c, clean(e.iou[i])])),
    miou: Object.fromEntries(Object.entries(e.miou).map(([k, v]) => [k, clean(v)])),
    pixelAccuracy: clean(e.pixelAccuracy),
    pixels: e.pixels,
  }));
}
