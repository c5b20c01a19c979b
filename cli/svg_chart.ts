/**
 * Line charts as SVG: the charts of a run's `plot.svg`, thinned to a bounded
 * number of points per line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineChart } from "./svg_chart.ts";
 * const svg = lineChart("loss", [{ name: "seg", points: [[0, 2], [10, 1]] }]);
 * assert.ok(svg.includes("<polyline") && svg.includes(">seg</text>"));
 * ```
 *
 * @module
 */

/** One line of a chart: (step, value) points. */
export interface Series {
  name: string;
  points: [number, number][];
}

const COLOURS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];
const escape = (s: string) =>
  s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);

/** Points a line keeps at most: a chart is a few hundred pixels wide. */
export const MAX_CHART_POINTS = 2000;

/**
 * At most {@linkcode MAX_CHART_POINTS} of `points`, evenly strided, the first
 * and the last always kept: a 250,000-step run's losses would otherwise make
 * a plot of tens of megabytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_CHART_POINTS, thinned } from "./svg_chart.ts";
 * const points = Array.from({ length: 10_001 }, (_, i) => [i, i] as [number, number]);
 * const kept = thinned(points);
 * assert.ok(kept.length <= MAX_CHART_POINTS + 1);
 * assert.deepEqual([kept[0], kept.at(-1)], [[0, 0], [10_000, 10_000]]);
 * assert.deepEqual(thinned(points.slice(0, 5)).length, 5);
 * ```
 */
export function thinned<P>(points: readonly P[], max = MAX_CHART_POINTS): P[] {
  if (points.length <= max) return [...points];
  const stride = Math.ceil(points.length / max);
  const kept = points.filter((_, i) => i % stride === 0);
  if ((points.length - 1) % stride !== 0) kept.push(points[points.length - 1]);
  return kept;
}

/**
 * One chart as an SVG element (axes with min/max labels, a legend).
 *
 * @example
 * ```ts ignore
 * const svg = lineChart("target mIoU", [{ name: "cdga", points }], { width: 480 });
 * ```
 */
export function lineChart(
  title: string,
  series: Series[],
  options: { width?: number; height?: number; x?: number; y?: number } = {},
): string {
  const { width = 480, height = 240, x: ox = 0, y: oy = 0 } = options;
  const pad = { left: 50, right: 110, top: 24, bottom: 26 };
  // Extents by loop: a long run's points spread into Math.min overflow the
  // call stack (above ~10⁵ arguments).
  let [x0, x1, y0, y1] = [Infinity, -Infinity, 0, -Infinity];
  for (const s of series) {
    for (const [a, b] of s.points) {
      if (!Number.isFinite(b)) continue;
      if (a < x0) x0 = a;
      if (a > x1) x1 = a;
      if (b < y0) y0 = b;
      if (b > y1) y1 = b;
    }
  }
  if (x1 === -Infinity) [x0, x1, y0, y1] = [0, 1, 0, 1];
  const sx = (v: number) =>
    ox + pad.left + ((v - x0) / Math.max(1e-9, x1 - x0)) * (width - pad.left - pad.right);
  const sy = (v: number) =>
    oy + height - pad.bottom -
    ((v - y0) / Math.max(1e-9, y1 - y0)) * (height - pad.top - pad.bottom);
  const parts = [
    `<text x="${ox + pad.left}" y="${oy + 16}" font-size="13" font-weight="bold">${
      escape(title)
    }</text>`,
    `<line x1="${sx(x0)}" y1="${sy(y0)}" x2="${sx(x1)}" y2="${sy(y0)}" stroke="#444"/>`,
    `<line x1="${sx(x0)}" y1="${sy(y0)}" x2="${sx(x0)}" y2="${sy(y1)}" stroke="#444"/>`,
    `<text x="${sx(x0) - 4}" y="${sy(y1) + 4}" font-size="10" text-anchor="end">${
      y1.toPrecision(3)
    }</text>`,
    `<text x="${sx(x0) - 4}" y="${sy(y0) + 4}" font-size="10" text-anchor="end">${
      y0.toPrecision(3)
    }</text>`,
    `<text x="${sx(x0)}" y="${sy(y0) + 16}" font-size="10">${x0}</text>`,
    `<text x="${sx(x1)}" y="${sy(y0) + 16}" font-size="10" text-anchor="end">step ${x1}</text>`,
  ];
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const pts = thinned(s.points.filter(([, v]) => Number.isFinite(v))).map(([a, b]) =>
      `${sx(a).toFixed(1)},${sy(b).toFixed(1)}`
    );
    if (pts.length) {
      parts.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${pts.join(" ")}"/>`,
      );
    }
    const ly = oy + pad.top + 14 * i;
    parts.push(
      `<line x1="${ox + width - pad.right + 8}" y1="${ly}" x2="${
        ox + width - pad.right + 24
      }" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${ox + width - pad.right + 28}" y="${ly + 4}" font-size="10">${
        escape(s.name)
      }</text>`,
    );
  });
  return parts.join("\n");
}

/**
 * Charts stacked vertically in one SVG document.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { svgDocument } from "./svg_chart.ts";
 * assert.deepEqual(svgDocument([{ title: "t", series: [] }]).includes("</svg>"), true);
 * ```
 */
export function svgDocument(
  charts: { title: string; series: Series[] }[],
  width = 560,
  height = 240,
): string {
  const body = charts.map((c, i) => lineChart(c.title, c.series, { width, height, y: i * height }))
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${
    height * charts.length
  }" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
