/**
 * Rebuilding G from a checkpoint: its configuration (stored in the header)
 * and its weights, for evaluation and prediction.
 *
 * @module
 */
import { key as rootKey } from "../lib/random.ts";
import { dispose } from "../lib/tree.ts";
import type { DeepLabConfig, DeepLabParams } from "../model/deeplab.ts";
import { makeTrainer } from "../methods/step.ts";
import type { Method } from "../methods/config.ts";
import { DataError } from "../data/image_io.ts";
import { type ClassTable, tableFromJsonValue } from "../data/labels.ts";
import { type Checkpoint, loadCheckpoint, restoreTree } from "../io/checkpoint.ts";
import { type Options, optionsFromStored } from "./options.ts";
import { methodConfig, segConfig } from "./config.ts";

/** What {@linkcode segFromCheckpoint} restores. */
export interface RestoredSeg {
  seg: DeepLabParams;
  config: DeepLabConfig;
  options: Options;
  phase: string;
  /** The class table, where the checkpoint carries it (this version's do). */
  classes?: ClassTable;
}

/** G, its configuration and the run's options, from a checkpoint file. */
export async function segFromCheckpoint(
  path: string,
  classes: (o: Options, carried?: ClassTable) => Promise<number>,
): Promise<RestoredSeg> {
  return await segFromDecoded(await loadCheckpoint(path), path, classes);
}

/**
 * {@linkcode segFromCheckpoint} on a checkpoint already read and decoded
 * (`decodeCheckpoint`): a page fetches its bytes instead of reading a file.
 * `path` names it in errors.
 */
export async function segFromDecoded(
  checkpoint: Checkpoint,
  path: string,
  classes: (o: Options, carried?: ClassTable) => Promise<number>,
): Promise<RestoredSeg> {
  const stored = checkpoint.config as Partial<Options> | undefined;
  if (!stored || typeof stored !== "object" || !stored.dataset) {
    throw new DataError(path, "the checkpoint carries no run configuration");
  }
  const carriedJson = (stored as { classes?: unknown }).classes;
  const carried = carriedJson === undefined ? undefined : tableFromJsonValue(carriedJson, path);
  const options = optionsFromStored(stored as Record<string, unknown>, path);
  const n = await classes(options, carried);
  if (carried && carried.names.length !== n) {
    throw new DataError(
      path,
      `the checkpoint's ${carried.names.length} classes differ from the ${n} of its data set now`,
    );
  }
  // A phase is a method, a method with a variant (`cdga.pixel`), or the warm-up.
  const base = checkpoint.position.phase.split(".")[0];
  const method = (base === "warmup" ? "sourceOnly" : base) as Method;
  const trainer = makeTrainer(methodConfig(options, method, n));
  const fresh = trainer.init(rootKey(0));
  const seg = restoreTree(checkpoint, "params/seg", fresh.params.seg, path);
  dispose([fresh.params, fresh.optState]);
  return {
    seg,
    config: segConfig(options, n),
    options,
    phase: checkpoint.position.phase,
    ...(carried ? { classes: carried } : {}),
  };
}
