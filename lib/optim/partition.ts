/**
 * One transformation per part of a parameter record, in the manner of
 * Optax's `multi_transform`: the parameters are a record of named trees (a
 * network and the parts trained beside it), each part updated by its own
 * transformation, and the state is the record of their states under the same
 * names.
 *
 * @example A network at one learning rate, a head at twice it
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyUpdates, partition, sgd, tf, tree } from "../../mod.ts";
 * const opt = partition({ net: sgd({ learningRate: 0.5 }), head: sgd({ learningRate: 1 }) });
 * const params = { net: { w: tf.scalar(1) }, head: { w: tf.scalar(1) } };
 * const grads = { net: { w: tf.scalar(1) }, head: { w: tf.scalar(1) } };
 * const state = opt.init(params);
 * const [updates, next] = opt.update(grads, state, params);
 * const moved = applyUpdates(params, updates);
 * assert.deepEqual([moved.net.w.dataSync()[0], moved.head.w.dataSync()[0]], [0.5, 0]);
 * tree.dispose([params, grads, state, updates, next, moved]);
 * ```
 *
 * @module
 */
import type { Tree } from "../tree.ts";
import type { GradientTransformation, OptState } from "./transform.ts";

/** A record of named trees: the parts of a parameter record. */
type PartRecord = { readonly [part: string]: Tree | undefined };

function isRecord(value: unknown): value is PartRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !("dataId" in value);
}

/**
 * A transformation of a record of parts that applies `transforms[name]` to
 * part `name`: the parts must be exactly the transformations' names (a part
 * without one, or one without its part, is an error that names it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adam, partition, sgd, tf, tree } from "../../mod.ts";
 * const opt = partition({ g: sgd({ learningRate: 0.1 }), d: adam({ learningRate: 1e-3 }) });
 * assert.throws(() => opt.init({ g: tf.scalar(1) }), /partition: no part "d"/);
 * ```
 */
export function partition(
  transforms: Readonly<Record<string, GradientTransformation>>,
): GradientTransformation<Record<string, OptState>> {
  const names = Object.keys(transforms);
  const parts = (record: unknown, what: string): PartRecord => {
    if (!isRecord(record)) throw new Error(`partition: the ${what} must be a record of parts`);
    for (const name of names) {
      if (record[name] === undefined) {
        throw new Error(`partition: no part "${name}" in the ${what}`);
      }
    }
    for (const name of Object.keys(record)) {
      if (!(name in transforms)) {
        throw new Error(`partition: part "${name}" of the ${what} has no transformation`);
      }
    }
    return record;
  };
  return {
    init(params) {
      const given = parts(params, "parameters");
      return Object.fromEntries(names.map((name) => [name, transforms[name].init(given[name]!)]));
    },
    update<P extends Tree>(
      updates: P,
      state: Record<string, OptState>,
      params?: P,
    ): [P, Record<string, OptState>] {
      const u = parts(updates, "updates"), s = parts(state, "state");
      const p = params === undefined ? undefined : parts(params, "parameters");
      const out: Record<string, Tree> = {}, next: Record<string, OptState> = {};
      for (const name of names) {
        [out[name], next[name]] = transforms[name].update(u[name]!, s[name]!, p?.[name]);
      }
      return [out as P, next];
    },
  };
}
