/**
 * Gradients of scalar functions of parameter trees.
 *
 * @example A quadratic's gradient
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree, valueAndGrad } from "../mod.ts";
 *
 * const params = { w: tf.tensor1d([1, 2]) };
 * const loss = (p: typeof params) => ({ loss: tf.sum(tf.square(p.w)) });
 * const { value, grads } = valueAndGrad(loss)(params);
 * assert.deepEqual([value.dataSync()[0], grads.w.dataSync()], [5, Float32Array.from([2, 4])]);
 * tree.dispose([params, value, grads]);
 * ```
 *
 * @module
 */
import { type Scalar, type Tensor, tf } from "./tf.ts";
import { flatten, map, type Tree } from "./tree.ts";
import { installGradients } from "./gradients.ts";

/** What a differentiated function returns: the loss and optional metrics. */
export interface LossOutput<M extends Tree = Record<string, Tensor>> {
  /** The scalar to differentiate (a rank-0 tensor, checked at run time). */
  loss: Tensor;
  /** Auxiliary tensors returned alongside (not differentiated). */
  metrics?: M;
}

/** What the function made by {@linkcode valueAndGrad} returns. */
export interface ValueAndGrad<P extends Tree, M extends Tree> {
  /** The loss. */
  value: Scalar;
  /** The metrics the function returned (an empty record if none). */
  metrics: M;
  /** The gradient of the loss for every leaf of the parameters. */
  grads: P;
}

/**
 * Makes a function that returns the loss, the metrics and the gradient of the
 * loss with respect to every leaf of its first argument (a parameter tree).
 * Leaves the loss does not depend on get a zero gradient. Every tensor made
 * inside is disposed except those returned, which belong to the caller.
 *
 * @example Metrics ride along with the loss
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree, valueAndGrad } from "../mod.ts";
 *
 * const f = (p: { w: tf.Tensor }, x: tf.Tensor) => {
 *   const y = tf.mul(p.w, x);
 *   return { loss: tf.mean(y), metrics: { max: tf.max(y) } };
 * };
 * const p = { w: tf.scalar(3) }, x = tf.tensor1d([1, 2]);
 * const out = valueAndGrad(f)(p, x);
 * assert.deepEqual(out.metrics.max.dataSync()[0], 6);
 * tree.dispose([p, x, out.value, out.metrics, out.grads]);
 * ```
 */
export function valueAndGrad<P extends Tree, A extends unknown[], M extends Tree>(
  fn: (params: P, ...args: A) => LossOutput<M>,
): (params: P, ...args: A) => ValueAndGrad<P, M> {
  return (params: P, ...args: A) => {
    installGradients(); // idempotent: differentiating needs the gradients this library adds
    const entries = flatten(params);
    const xs = entries.map(([, leaf]) => leaf);
    let metrics: M | undefined;
    const { value, grads } = tf.engine().gradients(
      () => {
        const out = fn(params, ...args);
        if (!(out?.loss instanceof tf.Tensor) || out.loss.rank !== 0) {
          throw new Error(
            "valueAndGrad: the function must return { loss: <scalar tensor>, metrics? }",
          );
        }
        // Kept copies, so that the gradient scope does not dispose them (a copy
        // even when a metric is the loss itself); re-owned below.
        metrics = out.metrics === undefined
          ? ({} as M)
          : map(out.metrics, (t) => tf.keep(tf.clone(t)));
        return out.loss;
      },
      xs,
      undefined,
      true,
    );
    const byPath = new Map(entries.map(([path], i) => [path, grads[i]]));
    const gradTree = map(
      params,
      (leaf, path) => byPath.get(path) ?? tf.zerosLike(leaf),
    );
    const owned = map(metrics as M, (t) => {
      const copy = tf.clone(t);
      t.dispose();
      return copy;
    });
    return { value: value as Scalar, metrics: owned as M, grads: gradTree };
  };
}

/**
 * A function with a gradient of its own: `forward(save, ...inputs)` returns
 * the value and `gradFunc(dy, saved)`, the gradient of every input from the
 * upstream gradient and the tensors it saved (tfjs's `customGrad`, typed:
 * its inputs are tensors and `save` comes first).
 *
 * @example The gradient of x² written out
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "./tf.ts";
 * import { customGradient } from "./grad.ts";
 * const square = customGradient((save, x: tf.Tensor) => {
 *   save([x]);
 *   return { value: tf.square(x), gradFunc: (dy, [saved]) => tf.mul(dy, tf.mul(saved, 2)) };
 * });
 * assert.equal(tf.grad((x: tf.Tensor) => square(x))(tf.scalar(3)).dataSync()[0], 6);
 * ```
 */
export function customGradient<A extends Tensor[]>(
  forward: (
    save: (tensors: Tensor[]) => void,
    ...inputs: A
  ) => { value: Tensor; gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[] },
): (...inputs: A) => Tensor {
  // tfjs hands the inputs first and its save function last, typed as one list.
  const f = tf.customGrad(
    ((...args: unknown[]) => {
      const save = args[args.length - 1] as tf.GradSaveFunc;
      return forward(save, ...(args.slice(0, -1) as A));
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return (...inputs: A) => f(...inputs) as Tensor;
}

const identityWithZeroGrad = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as Tensor),
  gradFunc: (dy: Tensor) => tf.zerosLike(dy),
}));

/**
 * The same values, with no gradient flowing back through them (as
 * `detach()` in PyTorch or `jax.lax.stop_gradient`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stopGradient, tf, tree, valueAndGrad } from "../mod.ts";
 * const f = (p: { w: tf.Tensor }) => ({ loss: tf.mul(p.w, stopGradient(p.w)) });
 * const p = { w: tf.scalar(3) };
 * const { value, grads } = valueAndGrad(f)(p);
 * assert.equal(grads.w.dataSync()[0], 3); // not 6
 * tree.dispose([p, value, grads]);
 * ```
 */
export function stopGradient<T extends Tensor>(x: T): T {
  return identityWithZeroGrad(x) as T;
}

/**
 * Computes `fn(...inputs)` as a constant: none of the operations inside is
 * recorded for differentiation, and no gradient flows back to the inputs.
 * This is how to build masks and weights from comparisons, argmax and other
 * operations that tfjs cannot differentiate, inside a differentiated
 * function.
 *
 * @example A mask from a comparison inside a loss
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree, valueAndGrad, withoutGradient } from "../mod.ts";
 * const f = (p: { w: tf.Tensor }) => {
 *   const positive = withoutGradient((w) => tf.cast(tf.greater(w, 0), "float32"), p.w);
 *   return { loss: tf.sum(tf.mul(p.w, positive)) };
 * };
 * const p = { w: tf.tensor1d([-1, 2]) };
 * const { value, grads } = valueAndGrad(f)(p);
 * assert.deepEqual(grads.w.dataSync(), Float32Array.from([0, 1]));
 * tree.dispose([p, value, grads]);
 * ```
 */
export function withoutGradient(
  fn: (...inputs: Tensor[]) => Tensor,
  ...inputs: Tensor[]
): Tensor {
  const constant = tf.customGrad((...args) => {
    const tensors = args.slice(0, inputs.length) as Tensor[];
    return {
      value: fn(...tensors),
      gradFunc: () => tensors.map((t) => tf.zerosLike(t)),
    };
  });
  return constant(...inputs);
}
