/**
 * Explicit, splittable random keys in the manner of JAX: every random draw
 * takes a {@linkcode Key}, the same key always gives the same numbers (bit for
 * bit, on every machine), and there is no global random state. A key is never
 * used twice: {@linkcode split} it, or {@linkcode foldIn} a step number, to get
 * fresh ones.
 *
 * The generator is Threefry-2x32 with 20 rounds (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC 2011), the counter-based generator
 * JAX uses, computed in plain JavaScript so that it does not depend on the
 * tfjs backend.
 *
 * @example Drawing from split keys
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * const [initKey, dataKey] = random.split(random.key(42));
 * const w = random.normal(initKey, [3, 3], { stddev: 0.1 });
 * assert.deepEqual(w.shape, [3, 3]);
 * w.dispose();
 * ```
 *
 * @module
 */
import { type Tensor, tf } from "./tf.ts";

/** A random key: two unsigned 32-bit words. Plain data, safe to serialise. */
export type Key = readonly [number, number];

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];

/**
 * Threefry-2x32-20 of one 64-bit counter under a key: two uint32 words.
 *
 * @example Known-answer vector from Random123
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * const [a, b] = random.threefry2x32([0, 0], 0, 0);
 * assert.deepEqual([a.toString(16), b.toString(16)], ["6b200159", "99ba4efe"]);
 * ```
 */
export function threefry2x32(
  key: Key,
  counterHi: number,
  counterLo: number,
): [number, number] {
  const k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  const schedule = [k0, k1, (k0 ^ k1 ^ 0x1bd11bda) >>> 0];
  let x0 = (counterHi + k0) >>> 0;
  let x1 = (counterLo + k1) >>> 0;
  for (let group = 0; group < 5; group++) {
    const offset = (group % 2) * 4;
    for (let r = 0; r < 4; r++) {
      const rot = ROTATIONS[offset + r];
      x0 = (x0 + x1) >>> 0;
      x1 = ((x1 << rot) | (x1 >>> (32 - rot))) >>> 0;
      x1 = (x1 ^ x0) >>> 0;
    }
    x0 = (x0 + schedule[(group + 1) % 3]) >>> 0;
    x1 = (x1 + schedule[(group + 2) % 3] + group + 1) >>> 0;
  }
  return [x0, x1];
}

function checkKey(k: Key): void {
  if (
    !Array.isArray(k) || k.length !== 2 ||
    !k.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)
  ) {
    throw new Error(
      `random: a key is two unsigned 32-bit integers, got ${JSON.stringify(k)}`,
    );
  }
}

/**
 * The root key of a seed (an integer in [0, 2^53)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * assert.deepEqual(random.key(7), [0, 7]);
 * ```
 */
export function key(seed: number): Key {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`random: a seed is an integer in [0, 2^53), got ${seed}`);
  }
  return [Math.floor(seed / 2 ** 32) >>> 0, seed >>> 0];
}

// Domain separation: split draws counters (1, i), foldIn draws (0, data), bits
// draws (2 + i / 2^32, i mod 2^32); no two of them share a counter.
const SPLIT_DOMAIN = 1;
const FOLD_DOMAIN = 0;
const BITS_DOMAIN = 2;

/**
 * `n` new independent keys from one key (default 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * const [a, b, c] = random.split(random.key(0), 3);
 * assert.deepEqual(a.join() !== b.join() && b.join() !== c.join(), true);
 * ```
 */
export function split(k: Key, n = 2): Key[] {
  checkKey(k);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`random: split needs a positive count, got ${n}`);
  }
  return Array.from({ length: n }, (_, i) => threefry2x32(k, SPLIT_DOMAIN, i) as Key);
}

/**
 * A new key from a key and a 32-bit integer (a step number, a sample index):
 * a way to derive many keys without splitting them all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * const stepKey = random.foldIn(random.key(0), 17);
 * assert.deepEqual(stepKey.length, 2);
 * ```
 */
export function foldIn(k: Key, data: number): Key {
  checkKey(k);
  if (!Number.isInteger(data) || data < 0 || data > 0xffffffff) {
    throw new Error(`random: foldIn takes an unsigned 32-bit integer, got ${data}`);
  }
  return threefry2x32(k, FOLD_DOMAIN, data);
}

/**
 * `count` random 32-bit words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * assert.deepEqual(random.bits(random.key(0), 4).length, 4);
 * ```
 */
export function bits(k: Key, count: number): Uint32Array {
  checkKey(k);
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`random: bits needs a non-negative count, got ${count}`);
  }
  const out = new Uint32Array(count);
  for (let i = 0; 2 * i < count; i++) {
    const [a, b] = threefry2x32(k, BITS_DOMAIN + Math.floor(i / 2 ** 32), i >>> 0);
    out[2 * i] = a;
    if (2 * i + 1 < count) out[2 * i + 1] = b;
  }
  return out;
}

/**
 * `count` floats uniform in the open interval (0, 1), as plain numbers: 24
 * random bits each, never exactly 0 or 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * const u = random.uniformValues(random.key(1), 3);
 * assert.deepEqual(u.every((x) => x > 0 && x < 1), true);
 * ```
 */
export function uniformValues(k: Key, count: number): Float64Array {
  const words = bits(k, count);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = ((words[i] >>> 8) + 0.5) / 2 ** 24;
  return out;
}

/**
 * A random integer in [low, high).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * const d = random.randomInt(random.key(3), 1, 7);
 * assert.deepEqual(d >= 1 && d < 7, true);
 * ```
 */
export function randomInt(k: Key, low: number, high: number): number {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new Error(`random: randomInt needs integers low < high, got ${low}, ${high}`);
  }
  return low + Math.floor(uniformValues(k, 1)[0] * (high - low));
}

/**
 * A random permutation of 0 … n−1 (Fisher–Yates).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * assert.deepEqual([...permutation(random.key(0), 5)].sort(), [0, 1, 2, 3, 4]);
 * ```
 */
export function permutation(k: Key, n: number): Int32Array {
  const u = uniformValues(k, n);
  const out = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function sizeOf(shape: readonly number[]): number {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`random: invalid shape [${shape}]`);
    }
  }
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A float32 tensor uniform in [min, max) (default [0, 1)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * const u = random.uniform(random.key(0), [2, 2], { min: -1, max: 1 });
 * assert.deepEqual(u.shape, [2, 2]);
 * u.dispose();
 * ```
 */
export function uniform(
  k: Key,
  shape: readonly number[],
  options: { min?: number; max?: number } = {},
): Tensor {
  const { min = 0, max = 1 } = options;
  const u = uniformValues(k, sizeOf(shape));
  const values = new Float32Array(u.length);
  for (let i = 0; i < u.length; i++) values[i] = min + (max - min) * u[i];
  return tf.tensor(values, [...shape], "float32");
}

/**
 * `count` normal samples (Box–Muller) as plain float32 numbers, mean 0 and
 * standard deviation 1 unless given. With `truncate`, samples beyond that many
 * standard deviations are drawn again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { random } from "../mod.ts";
 * assert.deepEqual(random.normalValues(random.key(0), 3, { stddev: 2 }).length, 3);
 * ```
 */
export function normalValues(
  k: Key,
  count: number,
  options: { mean?: number; stddev?: number; truncate?: number } = {},
): Float32Array {
  const { mean = 0, stddev = 1, truncate } = options;
  const values = new Float32Array(count);
  let filled = 0;
  for (let round = 0; filled < count; round++) {
    const needed = count - filled;
    const u = uniformValues(foldIn(k, round), 2 * Math.ceil(needed / 2));
    for (let i = 0; i < u.length && filled < count; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(u[i]));
      const angle = 2 * Math.PI * u[i + 1];
      for (const z of [radius * Math.cos(angle), radius * Math.sin(angle)]) {
        if (filled < count && (truncate === undefined || Math.abs(z) <= truncate)) {
          values[filled++] = mean + stddev * z;
        }
      }
    }
  }
  return values;
}

/**
 * A float32 tensor of normal samples (see {@linkcode normalValues}).
 *
 * @example He initialisation of a 3×3 convolution kernel
 * ```ts
 * import { random } from "../mod.ts";
 * const fanIn = 3 * 3 * 16;
 * const kernel = random.normal(random.key(0), [3, 3, 16, 32], { stddev: Math.sqrt(2 / fanIn) });
 * kernel.dispose();
 * ```
 */
export function normal(
  k: Key,
  shape: readonly number[],
  options: { mean?: number; stddev?: number; truncate?: number } = {},
): Tensor {
  return tf.tensor(normalValues(k, sizeOf(shape), options), [...shape], "float32");
}
