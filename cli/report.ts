/**
 * The run's report: the IoU tables (overall and per target sub-style) as
 * Markdown and JSON, the panels of predictions, and an SVG plot of the
 * losses, the discriminators, the groups and the target mIoU over the steps.
 *
 * The charts themselves are drawn by `svg_chart.ts`.
 *
 * @module
 */

import { join } from "node:path";
import { TARGET_STYLES } from "../data/digits.ts";
import { panelSvg } from "../data/visualize.ts";
import { gapClosed, iouJson, iouTable, type SummaryRow, summaryTable } from "../eval/table.ts";
import type { FinalEvaluation, GroupDiagnostics } from "./final_evaluation.ts";
import { DUPLICATE_DISTANCE } from "../eval/group_diagnostics.ts";
import { type Phase, phaseLabel } from "./phases.ts";
import type { RunContext } from "./train_phase.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";
import { svgDocument } from "./svg_chart.ts";

/** A Markdown table of groups × classes (%), with each group's usage. */
function groupTable(makeUp: number[][], usage: number[] | undefined, names: readonly string[]) {
  const header = ["group", "usage", ...names];
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...makeUp.map((row, k) =>
      `| ${
        [
          String(k),
          usage ? (100 * usage[k]).toFixed(1) : "–",
          ...row.map((v) => (100 * v).toFixed(0)),
        ].join(" | ")
      } |`
    ),
  ].join("\n");
}

/** Writes each kept target sample's panel (image, ground truth, every prediction); returns the files. */
async function writePanels(
  run: RunContext,
  panels: FinalEvaluation["panels"],
  runDir: string,
): Promise<string[]> {
  const { data } = run;
  const files: string[] = [];
  for (const [id, panel] of panels) {
    const file = join("predictions", `${id}.svg`);
    await Deno.writeTextFile(
      join(runDir, file),
      panelSvg(
        `${panel.style ?? "target"}: ${panel.name} (${data.test.description})`,
        panel.width,
        panel.height,
        [
          { title: "image", rgb: panel.image },
          { title: "ground truth", classes: panel.label },
          ...panel.columns,
        ],
        data.classes.names,
        data.classes.palette,
      ),
    );
    files.push(file);
  }
  return files;
}

type SummaryLine = SummaryRow & { phase: string; validation: number };

/** The summary rows: every evaluated phase's mIoU and the share of the gap it closes. */
function summaryRows(evaluation: FinalEvaluation): SummaryLine[] {
  const { evaluated, miou } = evaluation;
  const lower = miou.sourceOnly, upper = miou.oracle;
  return evaluated.map((phase) => ({
    phase: phase.name,
    name: phaseLabel(phase.name),
    ...miou[phase.name],
    gapClosed: lower && upper && phase.name !== "sourceOnly" && phase.name !== "oracle"
      ? gapClosed(miou[phase.name].target, lower.target, upper.target)
      : NaN,
  }));
}

/** The target sub-domains in report order: overall, the standard ones, then the rest by name. */
function styleOrder(rows: FinalEvaluation["rows"]): string[] {
  return [
    "overall",
    ...TARGET_STYLES.filter((s) => rows[s]),
    ...Object.keys(rows).filter((s) =>
      s !== "overall" && !(TARGET_STYLES as readonly string[]).includes(s)
    ).sort(),
  ];
}

/** The charts of `plot.svg`: losses, the discriminators, CDGA's groups, target mIoU. */
function plotCharts(run: RunContext, phases: Phase[]) {
  const { data, classes, metrics, monitored } = run;
  // A bounded sample of every phase's lines (a long run's log is not held whole).
  const kept = metrics.phases().flatMap((phase) => metrics.lines(phase));
  // K, as the logged group usage has it (none without a grouping method).
  const groups = Math.max(
    0,
    ...kept.map((h) => Array.isArray(h.groupUsage) ? h.groupUsage.length : 0),
  );
  const byPhase = (metric: string) =>
    phases.map((p) => ({
      name: `${p.name} ${metric}`,
      points: kept.filter((h) => h.phase === p.name && typeof h[metric] === "number").map((
        h,
      ) => [h.global as number, h[metric] as number] as [number, number]),
    })).filter((s) => s.points.length > 0);
  return [
    {
      title: "losses",
      series: [
        ...new Set(["seg", ...phases.flatMap((p) => METHOD_DEFINITIONS[p.method].plotted)]),
      ].flatMap(byPhase),
    },
    { title: "discriminator: loss L_D (chance: 2 ln 2 = 1.386)", series: byPhase("disc") },
    { title: "discriminator: accuracy on its batch", series: byPhase("discAccuracy") },
    {
      title: "group usage (CDGA)",
      series: Array.from({ length: groups }, (_, g) => ({
        name: `group ${g}`,
        points: kept.filter((h) => Array.isArray(h.groupUsage)).map((h) =>
          [h.global as number, (h.groupUsage as number[])[g]] as [number, number]
        ),
      })).filter((s) => s.points.length > 0),
    },
    ...Array.from({ length: groups }, (_, g) => ({
      title: `group ${g}: class make-up (share of each class's source pixels in this group)`,
      series: data.classes.names.map((className, c) => ({
        name: className,
        points: kept.filter((h) => Array.isArray(h.groupClasses)).map((h) =>
          [h.global as number, (h.groupClasses as number[])[g * classes + c]] as [number, number]
        ),
      })).filter((s) => s.points.length > 0),
    })),
    {
      title: `target mIoU (${monitored.length} samples of ${monitored.description})`,
      series: phases.map((p) => ({
        name: p.name,
        points: kept.filter((h) => h.phase === p.name && typeof h.targetMIoU === "number")
          .map((h) => [h.global as number, h.targetMIoU as number] as [number, number]),
      })),
    },
  ].filter((chart) => chart.series.length > 0);
}

/** The report's sections on CDGA's groups: make-up over training, and diagnostics on held-out data. */
function groupSections(results: FinalEvaluation["results"], names: readonly string[]): string[] {
  const makeUp = Object.entries(results).filter(([, r]) => r.groupClasses).map(([name, r]) =>
    [
      `### Groups of ${phaseLabel(name)}: usage and class make-up`,
      "",
      "Share of each class's source pixels (training batches) that each group holds (columns sum to 100%), " +
      "over the last 50 steps, and each group's share of all pixels (usage).",
      "",
      groupTable(r.groupClasses!, r.groupUsage, names),
      "",
    ].join("\n")
  );
  const diagnostics = Object.entries(results).filter(([, r]) => r.groups).map(([name, r]) => {
    const g = r.groups!;
    const styles = Object.keys(g.targetStyleShares);
    const header = ["group", "‖q_s − q_t‖₁", ...styles, ...names];
    const row = (k: number) => [
      String(k),
      g.agreement[k].toFixed(2),
      ...styles.map((st) => (100 * g.targetStyleShares[st][k]).toFixed(0)),
      ...names.map((_, c) =>
        `${(100 * g.targetClassShares[k][c]).toFixed(0)} / ${
          (100 * g.sourceClassShares[k][c]).toFixed(0)
        }`
      ),
    ];
    const mean = g.agreement.reduce((a, b) => a + b, 0) / g.agreement.length;
    return [
      `### Groups of ${phaseLabel(name)} on labelled held-out data (diagnosis only)`,
      "",
      `On ${g.target} (target) and ${g.source} (source), with the true labels: per group, the ` +
      `distance between its class-balanced source and target class distributions (the quantity ` +
      `L_sc drives; 0 = the same classes in both domains, 2 = disjoint; mean ${
        mean.toFixed(2)
      }), ` +
      `the share of each target sub-domain's pixels it holds, and the share of each class's ` +
      `pixels it holds, target / source (%). Nothing here is trained on.`,
      "",
      `| ${header.join(" | ")} |`,
      `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
      ...g.agreement.map((_, k) => `| ${row(k).join(" | ")} |`),
      "",
      ...distinctnessLines(g),
    ].join("\n");
  });
  return [...makeUp, ...diagnostics];
}

/** The groups' distinct count, duplicate pairs and, where known, their match with the shift groups. */
function distinctnessLines(g: GroupDiagnostics): string[] {
  const domain = (name: string, d: GroupDiagnostics["distinctness"]["target"]) =>
    `${name} ${d.distinct} distinct of ${d.used} used (duplicates: ${
      d.duplicates.length ? d.duplicates.map(([k, l]) => `${k}–${l}`).join(", ") : "none"
    })`;
  const lines = [
    `Distinct groups (class distributions within ${DUPLICATE_DISTANCE} in L1 count as one): ` +
    `${domain("target", g.distinctness.target)}; ${domain("source", g.distinctness.source)}.`,
  ];
  // With one distinct group, each class's holder is an argmax among near-equal shares: noise.
  const ari = (value: number, d: GroupDiagnostics["distinctness"]["target"]) =>
    d.distinct > 1 ? value.toFixed(2) : "– (one distinct group)";
  if (g.shiftAgreement) {
    lines.push(
      "",
      `The groups against the target's shift groups (each class to the group holding most of its ` +
        `pixels; adjusted Rand index over the glyph classes, 1 = the same partition, 0 = chance): ` +
        `target ${ari(g.shiftAgreement.target, g.distinctness.target)}, source ${
          ari(g.shiftAgreement.source, g.distinctness.source)
        }.`,
    );
  }
  return [...lines, ""];
}

/** Each discriminator's loss and accuracy at the last step, one line per phase. */
function discriminatorLines(results: FinalEvaluation["results"]): string[] {
  return Object.entries(results).filter(([, r]) => r.disc !== undefined).map((
    [name, r],
  ) =>
    `- ${phaseLabel(name)}: L_D ${r.disc!.toFixed(3)}, D's accuracy ${
      (100 * (r.discAccuracy ?? NaN)).toFixed(0)
    }% at the last step`
  );
}

/** What the report scored: the reported target split, held-out source, validation. */
function scoredSplits(run: RunContext) {
  const { o, data } = run;
  return {
    target: `${data.test.description}, ${data.test.length} images`,
    source: data.sourceTest
      ? `${data.sourceTest.description}, ${data.sourceTest.length} images`
      : null,
    validation: data.validation && o.evaluateOn !== "val"
      ? `${data.validation.description}, ${data.validation.length} images`
      : null,
  };
}

/** The parts of `report.md`, in order. */
interface ReportParts {
  summaryText: string;
  strideBound: number | undefined;
  discLines: string[];
  tables: string[];
  groups: string[];
  panelFiles: string[];
}

/** `report.md`'s text. */
function reportMarkdown(
  run: RunContext,
  phases: Phase[],
  where: { runName: string; backend: string },
  parts: ReportParts,
): string {
  const { o } = run;
  const scored = scoredSplits(run);
  const { summaryText, strideBound, discLines, tables, groups, panelFiles } = parts;
  return [
    `# Run ${where.runName}`,
    "",
    `${o.dataset}: ${
      phases.map((p) => `${p.name} (${p.steps} steps${p.from ? ` from ${p.from}` : ""})`).join(
        ", ",
      )
    }; ` +
    `backbone ${o.backbone}${
      o.backbone === "resnet" ? `-${o.depth} ×${o.width}` : ""
    }, batch ${o.batch}, seed ${o.seed}, backend ${where.backend}.`,
    `mIoU (%) of the final models (no checkpoint picked on an evaluation split) on the held-out ` +
    `target split (${scored.target})` +
    (scored.source ? ` and the held-out source split (${scored.source})` : "") +
    (scored.validation ? `; validation: ${scored.validation}` : "") +
    `; gap closed = (method − source only) / (oracle − source only). ` +
    "No scored image is read by training; `splits.json` lists the files of every split.",
    "",
    summaryText,
    "",
    ...(strideBound !== undefined
      ? [
        `Stride-8 reference on the held-out source split (each 8×8 cell's class shares, ` +
        `upsampled and arg-maxed, what a stride-8 network that knew the labels would roughly ` +
        `score; not a ceiling, sharper logits can score above it): ` +
        `${(100 * strideBound).toFixed(1)}% mIoU.`,
        "",
      ]
      : []),
    ...(discLines.length > 0 ? ["Discriminators at the end:", "", ...discLines, ""] : []),
    "Per-class IoU (%):",
    "",
    ...tables.flatMap((t) => [t, ""]),
    ...groups,
    "## Over the steps",
    "",
    "![losses, discriminators, group usage and make-up, target mIoU over the steps](plot.svg)",
    "",
    "## Predictions on held-out target images",
    "",
    "Image, ground truth, and every model's prediction (the first two images of each sub-domain).",
    "",
    ...panelFiles.map((f) => `![${f}](${f})\n`),
  ].join("\n");
}

/**
 * Writes a run's report: `report.md` (summary, IoU tables per sub-domain and
 * of the held-out source split, the stride-8 reference, the
 * discriminators, each CDGA group's make-up, the plot and the panels),
 * `report.json`, `plot.svg` and `predictions/*.svg`; and prints the tables.
 *
 * @example
 * ```ts ignore
 * await writeRunReport(run, await evaluatePhases(run, phases), phases, { runDir, runName, backend: "wasm" });
 * ```
 */
export async function writeRunReport(
  run: RunContext,
  evaluation: FinalEvaluation,
  phases: Phase[],
  where: { runDir: string; runName: string; backend: string },
): Promise<void> {
  const { data, log } = run;
  const { rows, sourceRows, results, panels, strideBound } = evaluation;
  const { runDir, runName } = where;
  const panelFiles = await writePanels(run, panels, runDir);
  const summary = summaryRows(evaluation);
  const order = styleOrder(rows);
  const tables = order.map((style) => `### Target: ${style}\n\n${iouTable(rows[style])}`);
  if (sourceRows.length > 0) {
    tables.push(`### Held-out source\n\n${iouTable(sourceRows)}`);
  }
  const summaryText = summaryTable(summary);
  await Deno.writeTextFile(join(runDir, "plot.svg"), svgDocument(plotCharts(run, phases)));
  const discLines = discriminatorLines(results);
  const groups = groupSections(results, data.classes.names);
  const parts = { summaryText, strideBound, discLines, tables, groups, panelFiles };
  await Deno.writeTextFile(join(runDir, "report.md"), reportMarkdown(run, phases, where, parts));
  await Deno.writeTextFile(
    join(runDir, "report.json"),
    JSON.stringify(
      {
        run: runName,
        phases,
        results,
        summary: summary.map((r) => ({
          ...r,
          source: Number.isNaN(r.source) ? null : r.source,
          gapClosed: Number.isNaN(r.gapClosed) ? null : r.gapClosed,
          validation: Number.isNaN(r.validation) ? null : r.validation,
        })),
        strideBound: strideBound ?? null,
        scored: scoredSplits(run),
        tables: Object.fromEntries(order.map((s) => [s, iouJson(rows[s])])),
        ...(sourceRows.length > 0 ? { source: iouJson(sourceRows) } : {}),
      },
      null,
      2,
    ) + "\n",
  );
  log("");
  for (const t of tables) log(t + "\n");
  log(summaryText + "\n");
  if (strideBound !== undefined) {
    log(
      `stride-8 reference on the held-out source split (not a ceiling): ${
        (100 * strideBound).toFixed(1)
      }% mIoU`,
    );
  }
  for (const line of discLines) log(line);
}
