/**
 * Markdown as `deno fmt` writes it (line width 100): tables with padded,
 * aligned columns and prose wrapped at the line width, so that a result file
 * written by a job can be committed as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable } from "./markdown.ts";
 * assert.equal(
 *   markdownTable(["method", "mIoU"], [["CDGA", "25.4"]], ["left", "right"]),
 *   "| method | mIoU |\n| ------ | ---: |\n| CDGA   | 25.4 |",
 * );
 * ```
 *
 * @module
 */

/** A column's alignment. */
export type Alignment = "left" | "right";

/** The width `deno fmt` counts: one per code point (the tables' ±, – and − included). */
const widthOf = (text: string) => [...text].length;

/**
 * A Markdown table with every column padded to its widest cell, left or
 * right aligned, and the separator row to match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable } from "./markdown.ts";
 * const text = markdownTable(["a", "b"], [["xyz", "1"]], ["left", "right"]);
 * assert.equal(text.split("\n")[1], "| --- | --: |");
 * assert.throws(() => markdownTable(["a"], [["1", "2"]], ["left"]), /row 1 has 2 cells/);
 * ```
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Alignment[],
): string {
  if (align.length !== header.length) {
    throw new Error(`markdownTable: ${header.length} columns, ${align.length} alignments`);
  }
  rows.forEach((row, i) => {
    if (row.length !== header.length) {
      throw new Error(`markdownTable: row ${i + 1} has ${row.length} cells, not ${header.length}`);
    }
  });
  const widths = header.map((_, c) =>
    Math.max(3, ...[header, ...rows].map((row) => widthOf(row[c])))
  );
  const pad = (text: string, c: number) => {
    const fill = " ".repeat(widths[c] - widthOf(text));
    return align[c] === "right" ? fill + text : text + fill;
  };
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const separator = widths.map((w, c) =>
    align[c] === "right" ? "-".repeat(w - 1) + ":" : "-".repeat(w)
  );
  return [line(header), `| ${separator.join(" | ")} |`, ...rows.map(line)].join("\n");
}

/**
 * A paragraph wrapped at `width` (100, the project's `deno fmt` line width):
 * words are never split, and a word longer than the width stands alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wrapProse } from "./markdown.ts";
 * assert.equal(wrapProse("one two three", 7), "one two\nthree");
 * ```
 */
export function wrapProse(text: string, width = 100): string {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (current === "") current = word;
    else if (widthOf(current) + 1 + widthOf(word) <= width) current += ` ${word}`;
    else {
      lines.push(current);
      current = word;
    }
  }
  if (current !== "") lines.push(current);
  return lines.join("\n");
}
