/**
 * The final evaluation of a run: every phase after the warm-up on the whole
 * reported target split (overall and per sub-domain), the held-out source
 * split and the validation split, with two kept predictions per sub-domain
 * for the panels, and each phase's discriminator and group statistics from
 * its metrics log. No checkpoint is picked on any of them.
 *
 * @example
 * ```ts ignore
 * const evaluation = await evaluatePhases(run, phases);
 * ```
 *
 * @module
 */
import { TARGET_STYLES } from "../data/digits.ts";
import type { PanelColumn } from "../data/visualize.ts";
import { ConfusionMatrix, evaluate } from "../eval/metrics.ts";
import { strideOracle } from "../eval/stride_oracle.ts";
import { evaluateSeg, type KeptPrediction, yieldToEventLoop } from "../eval/segmentation.ts";
import type { TableRow } from "../eval/table.ts";
import { methodConfig, segConfig } from "./config.ts";
import { resolveConfig } from "../methods/config.ts";
import { groupingConfig } from "../methods/cdga.ts";
import {
  classShares,
  groupAgreement,
  type GroupDistinctness,
  groupDistinctness,
  groupMass,
  shiftGroupAgreement,
  styleShares,
} from "../eval/group_diagnostics.ts";
import { shiftGroupOf } from "../data/digits.ts";
import { type Phase, phaseLabel } from "./phases.ts";
import { Interrupted } from "./run_folder.ts";
import { RECENT_LINES } from "./metrics_log.ts";
import type { RunContext } from "./train_phase.ts";
import type { Params } from "../methods/step.ts";
import type { Dataset } from "../data/datasets.ts";

/** CDGA's groups on labelled held-out data (diagnosis only; nothing is trained on it). */
export interface GroupDiagnostics {
  /** Which splits: the labelled target split and the held-out source split. */
  target: string;
  source: string;
  /** [K][C]: the share of class c's target pixels that group k holds. */
  targetClassShares: number[][];
  /** [K][C]: the same on held-out source pixels. */
  sourceClassShares: number[][];
  /** Per target sub-domain, [K]: the share of its pixels each group holds. */
  targetStyleShares: Record<string, number[]>;
  /** [K]: ‖q_k^s − q_k^t‖₁ of class-balanced group distributions from true labels (0 … 2). */
  agreement: number[];
  /** Used and distinct groups, and the duplicate pairs, on each domain. */
  distinctness: { target: GroupDistinctness; source: GroupDistinctness };
  /**
   * Where the target shifts per class group (`--target-shift per-class`): the
   * adjusted Rand index of the classes' groups against the shift groups.
   */
  shiftAgreement?: { target: number; source: number };
}

/** A phase's statistics from its metrics log. */
export interface PhaseResult {
  steps: number;
  groupUsage?: number[];
  groupClasses?: number[][];
  disc?: number;
  discAccuracy?: number;
  groups?: GroupDiagnostics;
}

/** A kept target sample and every phase's prediction of it. */
export type Panel = Omit<KeptPrediction, "prediction"> & { columns: PanelColumn[] };

/** Everything the report shows. */
export interface FinalEvaluation {
  /** The phases evaluated (every one after the warm-up; the warm-up alone if it is all). */
  evaluated: Phase[];
  /** IoU rows by target sub-domain ("overall" first). */
  rows: Record<string, TableRow[]>;
  /** IoU rows of the held-out source split. */
  sourceRows: TableRow[];
  /** mIoU by phase: target, per sub-domain, held-out source, validation (NaN where absent). */
  miou: Record<
    string,
    { target: number; styles: Record<string, number>; source: number; validation: number }
  >;
  results: Record<string, PhaseResult>;
  panels: Map<string, Panel>;
  /**
   * What a stride-8 map of the true labels' cell shares scores on the
   * held-out source split: a reference for that column (a network's sharper
   * logits can score above it); undefined without that split.
   */
  strideBound?: number;
}

type PhaseMIoU = FinalEvaluation["miou"][string];

/** Puts the standard sub-domains first, then the rest by name. */
function orderStyles(styles: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    [...TARGET_STYLES, ...Object.keys(styles).sort()].filter((k, i, all) =>
      k in styles && all.indexOf(k) === i
    ).map((k) => [k, styles[k]]),
  );
}

/**
 * A phase's scores: the reported target split (overall, per sub-domain, with
 * the kept predictions), the held-out source split and the validation split
 * where it is not the one reported (what settings are chosen on).
 */
async function scorePhase(run: RunContext, params: Params, label: string) {
  const { o, data, classes } = run;
  const names = data.classes.names;
  const config = segConfig(o, classes);
  const score = (dataset: Dataset, keep?: number) =>
    evaluateSeg(params.seg, config, dataset, {
      samples: dataset.length,
      batch: 16,
      normalise: data.normalise,
      ...(keep ? { keep } : {}),
    });
  const result = await score(data.test, 2);
  const overall: TableRow = {
    name: label,
    evaluation: evaluate(result.overall, names, data.protocols),
  };
  const styleRows: [string, TableRow][] = [];
  const styles: Record<string, number> = {};
  for (const [style, matrix] of result.byStyle) {
    styleRows.push([style, { name: label, evaluation: evaluate(matrix, names, data.protocols) }]);
    styles[style] = matrix.meanIoU();
  }
  let sourceRow: TableRow | undefined, source = NaN;
  if (data.sourceTest) {
    const held = await score(data.sourceTest);
    sourceRow = { name: label, evaluation: evaluate(held.overall, names, data.protocols) };
    source = held.overall.meanIoU();
  }
  let validation = NaN;
  if (data.validation && o.evaluateOn !== "val") {
    validation = (await score(data.validation)).overall.meanIoU();
  }
  const miou: PhaseMIoU = {
    target: result.overall.meanIoU(),
    styles: orderStyles(styles),
    source,
    validation,
  };
  return { overall, styleRows, sourceRow, miou, kept: result.kept };
}

/**
 * A phase's statistics from its metrics log: D's last loss and accuracy, the
 * groups' last usage, and each group's class make-up averaged over the
 * phase's last steps.
 */
function logStatistics(run: RunContext, phase: Phase): Omit<PhaseResult, "steps" | "groups"> {
  const { classes, metrics } = run;
  const history = metrics.recent(phase.name);
  const last = history.at(-1);
  const usage = history.filter((h) => Array.isArray(h.groupUsage)).at(-1)?.groupUsage as
    | number[]
    | undefined;
  const makeUps = history.filter((h) => Array.isArray(h.groupClasses)).slice(-RECENT_LINES)
    .map((h) => h.groupClasses as number[]);
  // A class absent from a step's batch has no make-up there: average over the steps that had it.
  const present = (m: number[], c: number) =>
    m.reduce((sum, v, i) => (i % classes === c ? sum + v : sum), 0) > 0.5;
  const groupClasses = makeUps.length > 0
    ? Array.from(
      { length: makeUps[0].length / classes },
      (_, k) =>
        Array.from({ length: classes }, (_, c) => {
          const steps = makeUps.filter((m) => present(m, c));
          return steps.reduce((sum, m) => sum + m[k * classes + c], 0) /
            Math.max(1, steps.length);
        }),
    )
    : undefined;
  return {
    groupUsage: usage,
    groupClasses,
    disc: typeof last?.disc === "number" ? last.disc : undefined,
    discAccuracy: typeof last?.discAccuracy === "number" ? last.discAccuracy : undefined,
  };
}

/**
 * CDGA's groups on labelled held-out data: a labelled target split
 * (validation where there is one) and the held-out source split; undefined
 * for a method without groups or a data set without both splits.
 */
async function groupDiagnostics(
  run: RunContext,
  phase: Phase,
  params: Params,
): Promise<GroupDiagnostics | undefined> {
  const { o, data, classes } = run;
  const targetLabelled = data.validation ?? (o.evaluateOn === "val" ? data.test : undefined);
  if (!params.group || !data.sourceTest || !targetLabelled) return undefined;
  const grouping = groupingConfig(
    resolveConfig(methodConfig(o, phase.method, classes, phase.overrides)),
  );
  const options = { normalise: data.normalise, samples: 300 };
  const config = segConfig(o, classes);
  const mass = (dataset: Dataset) =>
    groupMass(params.seg, params.group!, config, grouping, dataset, options);
  const t = await mass(targetLabelled);
  const s = await mass(data.sourceTest);
  const targetClassShares = classShares(t.classMass);
  const sourceClassShares = classShares(s.classMass);
  // The data plan refuses a per-class shift on any data set but the embedded benchmarks.
  const reference = o.targetShift === "per-class"
    ? Array.from({ length: classes }, (_, c) => shiftGroupOf(c))
    : undefined;
  return {
    target: targetLabelled.description,
    source: data.sourceTest.description,
    targetClassShares,
    sourceClassShares,
    targetStyleShares: styleShares(t.styleMass),
    agreement: groupAgreement(s, t),
    distinctness: {
      target: groupDistinctness(targetClassShares),
      source: groupDistinctness(sourceClassShares),
    },
    ...(reference
      ? {
        shiftAgreement: {
          target: shiftGroupAgreement(targetClassShares, reference),
          source: shiftGroupAgreement(sourceClassShares, reference),
        },
      }
      : {}),
  };
}

/** The stride-8 reference on the held-out source split (see `FinalEvaluation.strideBound`). */
async function strideReference(run: RunContext): Promise<number | undefined> {
  const { data, classes } = run;
  if (!data.sourceTest) return undefined;
  const bound = new ConfusionMatrix(classes);
  for (let i = 0; i < data.sourceTest.length; i++) {
    if (i % 64 === 0) await yieldToEventLoop();
    const sample = await data.sourceTest.get(i);
    if (!sample.label) break;
    bound.add(strideOracle(sample.label, sample.width, sample.height, 8, classes), sample.label);
  }
  return bound.meanIoU();
}

/**
 * Evaluates every phase's final parameters (`run.finals`).
 *
 * @example
 * ```ts ignore
 * const { miou } = await evaluatePhases(run, phases);
 * ```
 */
export async function evaluatePhases(run: RunContext, phases: Phase[]): Promise<FinalEvaluation> {
  const { finals, interrupts, checkpoints } = run;
  const rows: Record<string, TableRow[]> = { overall: [] };
  const sourceRows: TableRow[] = [];
  const results: Record<string, PhaseResult> = {};
  const evaluated = phases.filter((p) => p.name !== "warmup" || phases.length === 1);
  const miou: Record<string, PhaseMIoU> = {};
  // One panel per kept target sample: image | ground truth | every model's prediction.
  const panels = new Map<string, Panel>();
  for (const phase of evaluated) {
    const signal = interrupts.pending();
    if (signal) {
      throw new Interrupted(
        signal,
        `${signal}: stopped during the final evaluation; every phase is trained and saved in ` +
          `${checkpoints}. Run again with the same flags and --resume to write the report.`,
      );
    }
    const params = finals.get(phase.name)!;
    const label = phaseLabel(phase.name);
    const scored = await scorePhase(run, params, label);
    rows.overall.push(scored.overall);
    for (const [style, row] of scored.styleRows) (rows[style] ??= []).push(row);
    if (scored.sourceRow) sourceRows.push(scored.sourceRow);
    miou[phase.name] = scored.miou;
    for (const kept of scored.kept) {
      const id = `${kept.style ?? "all"}_${kept.name.replace(/\.png$/i, "")}`;
      if (!panels.has(id)) {
        const { prediction: _, ...sample } = kept;
        panels.set(id, { ...sample, columns: [] });
      }
      panels.get(id)!.columns.push({ title: label, classes: kept.prediction });
    }
    const groups = await groupDiagnostics(run, phase, params);
    results[phase.name] = {
      ...(groups ? { groups } : {}),
      steps: phase.offset + phase.steps,
      ...logStatistics(run, phase),
    };
  }
  const strideBound = await strideReference(run);
  return { evaluated, rows, sourceRows, miou, results, panels, strideBound };
}
