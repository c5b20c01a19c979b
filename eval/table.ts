/**
 * The comparison table of the papers: a row per method, a column per class
 * (IoU in %), then the mIoU of each protocol; as Markdown and as JSON.
 *
 * @example
 * ```ts
 * import { iouTable } from "./table.ts";
 * import { ConfusionMatrix, evaluate } from "../mod.ts";
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

/**
 * The share of the domain gap a method closes:
 * (method − source only) / (oracle − source only); NaN without a gap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gapClosed } from "../mod.ts";
 * assert.ok(Math.abs(gapClosed(0.30, 0.20, 0.60) - 0.25) < 1e-12);
 * ```
 */
export function gapClosed(method: number, sourceOnly: number, oracle: number): number {
  const gap = oracle - sourceOnly;
  return gap > 0 ? (method - sourceOnly) / gap : NaN;
}

/** One row of the summary: a method's mIoU on the target (overall, per sub-domain) and on held-out source data. */
export interface SummaryRow {
  /** The method's label. */
  name: string;
  /** Target mIoU overall. */
  target: number;
  /** Target mIoU per sub-domain. */
  styles: Record<string, number>;
  /** mIoU on held-out source data (NaN where there is none). */
  source: number;
  /** Gap closed (NaN for the bounds, or without both bounds). */
  gapClosed: number;
}

/**
 * The summary table every comparison prints: method | target mIoU (overall,
 * per sub-domain) | held-out source mIoU | gap closed, in %.
 *
 * @example
 * ```ts
 * import { summaryTable } from "./table.ts";
 * console.log(summaryTable([{ name: "source only", target: 0.2, styles: {}, source: 0.5, gapClosed: NaN }]));
 * ```
 */
export function summaryTable(rows: SummaryRow[]): string {
  if (rows.length === 0) return "";
  const styles = Object.keys(rows[0].styles);
  const header = [
    "method",
    "target mIoU",
    ...styles,
    "held-out source mIoU",
    "gap closed",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ];
  for (const r of rows) {
    const cells = [
      r.name,
      pct(r.target),
      ...styles.map((s) => pct(r.styles[s] ?? NaN)),
      pct(r.source),
      Number.isNaN(r.gapClosed) ? "–" : `${(100 * r.gapClosed).toFixed(0)}%`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
