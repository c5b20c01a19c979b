/**
 * Parameter trees: nested plain records and arrays whose leaves are tensors,
 * in the manner of JAX pytrees. Models, gradients and optimizer states are all
 * trees, and these functions do their bookkeeping.
 *
 * Traversal order is canonical: record keys in sorted order, arrays in index
 * order. Two records with the same keys in another insertion order are the
 * same tree. A leaf's path joins the keys and indices from the root with `/`,
 * for example `backbone/layer1/0/conv1/kernel`.
 *
 * Record keys may not be empty, contain `/`, or be all digits (an all-digit
 * segment of a path means an array index, so such a key could not survive
 * {@linkcode unflatten}).
 *
 * @example Mapping and flattening
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 *
 * const params = { conv: { kernel: tf.ones([3, 3, 1, 2]), bias: tf.zeros([2]) } };
 * const doubled = tree.map(params, (leaf) => tf.mul(leaf, 2));
 * assert.deepEqual(tree.flatten(doubled).map(([path]) => path), ["conv/bias", "conv/kernel"]);
 * assert.deepEqual(tree.count(doubled), 20);
 * tree.dispose([params, doubled]);
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "./tf.ts";

/**
 * A tree of leaves `L`: a leaf, an array of trees, or a record of trees. A
 * record key whose value is `undefined` is absent (an optional part of a
 * model, such as a method's discriminator, is simply not there).
 */
export type Tree<L = Tensor> =
  | L
  | readonly Tree<L>[]
  | { readonly [key: string]: Tree<L> | undefined };

/** One leaf of a flattened tree with its path. */
export type Entry<L = Tensor> = readonly [path: string, leaf: L];

/**
 * True for a tfjs tensor (a leaf of a parameter tree).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const t = tf.scalar(1);
 * assert.deepEqual([tree.isTensor(t), tree.isTensor({ t })], [true, false]);
 * t.dispose();
 * ```
 */
export function isTensor(value: unknown): value is Tensor {
  return value instanceof tf.Tensor;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const DIGITS = /^[0-9]+$/;

function join(path: string, key: string | number): string {
  return path === "" ? String(key) : `${path}/${key}`;
}

function sortedKeys(record: Record<string, unknown>, path: string): string[] {
  const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
  for (const key of keys) {
    if (key === "" || key.includes("/") || DIGITS.test(key)) {
      throw new Error(
        `tree: invalid record key ${JSON.stringify(key)} at ${
          path === "" ? "the root" : `'${path}'`
        }: keys must be non-empty, without '/', and not all digits`,
      );
    }
  }
  return keys;
}

function describe(node: unknown): string {
  if (isTensor(node)) return `a tensor of shape [${node.shape}]`;
  if (Array.isArray(node)) return `an array of length ${node.length}`;
  if (isRecord(node)) return `a record with keys [${Object.keys(node).sort()}]`;
  return `${node === null ? "null" : typeof node} (not a tree node)`;
}

/**
 * Visits every leaf in canonical order. `isLeaf` decides what a leaf is; the
 * default takes tensors.
 */
function walk<L>(
  node: Tree<L>,
  path: string,
  isLeaf: (value: unknown) => boolean,
  visit: (leaf: L, path: string) => void,
): void {
  if (isLeaf(node)) {
    visit(node as L, path);
  } else if (Array.isArray(node)) {
    node.forEach((child, index) => walk(child, join(path, index), isLeaf, visit));
  } else if (isRecord(node)) {
    for (const key of sortedKeys(node, path)) {
      walk((node as Record<string, Tree<L>>)[key], join(path, key), isLeaf, visit);
    }
  } else {
    throw new Error(
      `tree: ${describe(node)} at ${path === "" ? "the root" : `'${path}'`}`,
    );
  }
}

/**
 * The leaves of a tensor tree with their paths, in canonical order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const nested = { b: [tf.scalar(1), tf.scalar(2)], a: tf.scalar(0) };
 * assert.deepEqual(tree.flatten(nested).map(([path]) => path), ["a", "b/0", "b/1"]);
 * tree.dispose(nested);
 * ```
 */
export function flatten(tree: Tree): Entry[] {
  const entries: Entry[] = [];
  walk(tree, "", isTensor, (leaf, path) => entries.push([path, leaf]));
  return entries;
}

/**
 * The leaves of a tensor tree in canonical order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const nested = { w: tf.scalar(1), b: tf.scalar(2) };
 * assert.deepEqual(tree.leaves(nested).map((t) => t.dataSync()[0]), [2, 1]);
 * tree.dispose(nested);
 * ```
 */
export function leaves(tree: Tree): Tensor[] {
  return flatten(tree).map(([, leaf]) => leaf);
}

/**
 * Rebuilds a tree from path/leaf entries (the inverse of
 * {@linkcode flatten}). A level whose segments are exactly `0 … n−1` becomes
 * an array; any other level becomes a record.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const nested = tree.unflatten([["layers/0/w", tf.scalar(1)], ["layers/1/w", tf.scalar(2)]]);
 * assert.deepEqual(tree.flatten(nested).map(([path]) => path), ["layers/0/w", "layers/1/w"]);
 * tree.dispose(nested);
 * ```
 */
export function unflatten<L = Tensor>(
  entries: Iterable<Entry<L>>,
): Tree<L> {
  type Node = { leaf?: L; hasLeaf: boolean; children: Map<string, Node> };
  const root: Node = { hasLeaf: false, children: new Map() };
  for (const [path, leaf] of entries) {
    let node = root;
    for (const segment of path === "" ? [] : path.split("/")) {
      if (segment === "") {
        throw new Error(`tree: empty segment in path '${path}'`);
      }
      if (node.hasLeaf) {
        throw new Error(`tree: path '${path}' passes through a leaf`);
      }
      let child = node.children.get(segment);
      if (!child) {
        child = { hasLeaf: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    if (node.hasLeaf || node.children.size > 0) {
      throw new Error(`tree: path '${path}' given twice or inside another`);
    }
    node.hasLeaf = true;
    node.leaf = leaf;
  }
  const build = (node: Node, path: string): Tree<L> => {
    if (node.hasLeaf) return node.leaf as L;
    const keys = [...node.children.keys()];
    const isArray = keys.length > 0 &&
      keys.every((key) => DIGITS.test(key) && String(Number(key)) === key) &&
      keys.every((key) => Number(key) < keys.length);
    if (isArray) {
      return keys.map((_, i) => build(node.children.get(String(i))!, join(path, i)));
    }
    const record: Record<string, Tree<L>> = {};
    for (const key of keys.sort()) {
      if (DIGITS.test(key)) {
        throw new Error(
          `tree: segment '${key}' under ${path === "" ? "the root" : `'${path}'`} ` +
            "looks like an array index, but its siblings are not 0…n−1",
        );
      }
      record[key] = build(node.children.get(key)!, join(path, key));
    }
    return record;
  };
  return build(root, "");
}

/**
 * Throws an error naming the first path at which two trees differ in
 * structure (a missing key, another array length, a leaf against a node).
 * Leaf shapes are not compared.
 *
 * @example
 * ```ts
 * import { tf, tree } from "../mod.ts";
 * const a = { w: tf.scalar(1) }, b = { v: tf.scalar(1) };
 * try { tree.assertSameStructure(a, b); } catch (e) { console.log((e as Error).message); }
 * tree.dispose([a, b]);
 * ```
 */
export function assertSameStructure(first: Tree, second: Tree): void {
  const check = (a: unknown, b: unknown, path: string): void => {
    const where = path === "" ? "the root" : `'${path}'`;
    if (isTensor(a) || isTensor(b)) {
      if (isTensor(a) && isTensor(b)) return;
      throw new Error(
        `tree structures differ at ${where}: ${describe(a)} against ${describe(b)}`,
      );
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const shared = Math.min(a.length, b.length);
      for (let i = 0; i < shared; i++) check(a[i], b[i], join(path, i));
      if (a.length !== b.length) {
        throw new Error(
          `tree structures differ at '${join(path, shared)}': ` +
            `present in the ${a.length > b.length ? "first" : "second"} tree only ` +
            `(arrays of length ${a.length} and ${b.length} at ${where})`,
        );
      }
      return;
    }
    if (isRecord(a) && isRecord(b)) {
      const keysA = sortedKeys(a, path), keysB = sortedKeys(b, path);
      const all = [...new Set([...keysA, ...keysB])].sort();
      for (const key of all) {
        if (a[key] === undefined || b[key] === undefined) {
          throw new Error(
            `tree structures differ at '${join(path, key)}': present in the ${
              a[key] !== undefined ? "first" : "second"
            } tree only`,
          );
        }
        check(a[key], b[key], join(path, key));
      }
      return;
    }
    throw new Error(
      `tree structures differ at ${where}: ${describe(a)} against ${describe(b)}`,
    );
  };
  check(first, second, "");
}

function rebuild<T extends Tree>(
  template: T,
  next: (path: string) => Tensor,
): T {
  const build = (node: unknown, path: string): unknown => {
    if (isTensor(node)) return next(path);
    if (Array.isArray(node)) return node.map((child, i) => build(child, join(path, i)));
    const record = node as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of sortedKeys(record, path)) out[key] = build(record[key], join(path, key));
    return out;
  };
  return build(template, "") as T;
}

/**
 * A tree of the same structure whose leaves are `fn(leaf, path)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const params = { w: tf.ones([2]) };
 * const zeros = tree.map(params, (leaf) => tf.zerosLike(leaf));
 * assert.deepEqual(zeros.w.dataSync(), Float32Array.from([0, 0]));
 * tree.dispose([params, zeros]);
 * ```
 */
export function map<T extends Tree>(
  tree: T,
  fn: (leaf: Tensor, path: string) => Tensor,
): T {
  const entries = new Map(flatten(tree));
  return rebuild(tree, (path) => fn(entries.get(path)!, path));
}

/**
 * Maps several trees of one structure together: the result has the first
 * tree's structure and `fn(leavesAtPath, path)` as leaves. Trees of different
 * structure give an error that names the first differing path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const params = { w: tf.ones([2]) }, grads = { w: tf.fill([2], 0.5) };
 * const next = tree.zipMap([params, grads], ([p, g]) => tf.sub(p, g));
 * assert.deepEqual(next.w.dataSync(), Float32Array.from([0.5, 0.5]));
 * tree.dispose([params, grads, next]);
 * ```
 */
export function zipMap<T extends Tree>(
  trees: readonly [T, ...Tree[]],
  fn: (leaves: Tensor[], path: string) => Tensor,
): T {
  for (let i = 1; i < trees.length; i++) assertSameStructure(trees[0], trees[i]);
  const flats = trees.map((tree) => new Map(flatten(tree)));
  return rebuild(trees[0], (path) => fn(flats.map((flat) => flat.get(path)!), path));
}

/**
 * The total number of scalar elements over all leaves (a parameter count).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const params = { kernel: tf.zeros([3, 3, 4, 8]), bias: tf.zeros([8]) };
 * assert.deepEqual(tree.count(params), 296);
 * tree.dispose(params);
 * ```
 */
export function count(tree: Tree): number {
  return leaves(tree).reduce((sum, leaf) => sum + leaf.size, 0);
}

/**
 * Disposes every leaf (each tensor once, even where a tree holds it twice).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const before = tf.memory().numTensors;
 * tree.dispose({ a: tf.scalar(1), b: [tf.scalar(2)] });
 * assert.deepEqual(tf.memory().numTensors === before, true);
 * ```
 */
export function dispose(tree: Tree): void {
  for (const leaf of new Set(leaves(tree))) leaf.dispose();
}

/**
 * A copy of the tree whose leaves are new tensors (sharing their data until
 * written, as `tf.clone` does), owned by the caller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const params = { w: tf.scalar(1) };
 * const copy = tree.clone(params);
 * params.w.dispose();
 * assert.deepEqual(copy.w.dataSync()[0], 1);
 * tree.dispose(copy);
 * ```
 */
export function clone<T extends Tree>(tree: T): T {
  return map(tree, (leaf) => tf.clone(leaf));
}

/**
 * A scalar that is 0 where every value of every leaf is finite and NaN where
 * one is not: one sum per leaf and one sum of the sums (a NaN or an infinity
 * anywhere makes the total non-finite), read with the step's other metrics
 * instead of one read per tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf, tree } from "../mod.ts";
 * const good = tree.finiteProbe({ a: tf.tensor([1, 2]), b: [tf.scalar(3)] });
 * const bad = tree.finiteProbe({ a: tf.tensor([1, Infinity]) });
 * assert.deepEqual([good.dataSync()[0], bad.dataSync()[0]], [0, NaN]);
 * ```
 */
export function finiteProbe(tree: Tree): Tensor {
  return tf.tidy(() => {
    const sums = leaves(tree).map((leaf) => tf.sum(tf.cast(leaf, "float32")));
    if (sums.length === 0) return tf.scalar(0);
    return tf.mul(sums.length === 1 ? sums[0] : tf.addN(sums), 0);
  });
}
