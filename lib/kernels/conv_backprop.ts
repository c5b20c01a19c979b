/**
 * Convolution gradients written as forward convolutions, once, over a small
 * set of primitive operations. Two implementations of the primitives exist:
 * the wasm backend's own kernels called directly (for the gradient kernels
 * that backend lacks), and the public tfjs ops (for dilated convolution's
 * gradient on every backend).
 *
 * Notation, NHWC: input x [N, H, W, Cᵢ], filter w [kh, kw, Cᵢ, Cₒ], output
 * dy [N, Hₒ, Wₒ, Cₒ], stride s, dilation d, top/left padding p. Forward:
 * `y[n,o,c'] = Σ_{a,c} x[n, o·s + a·d − p, c] · w[a, c, c']` (one spatial axis
 * shown; both axes are alike).
 *
 * - dW: `dw[a, c, c'] = Σ_{n,o} x[n, a·d + o·s − p, c] · dy[n, o, c']`, a
 *   forward convolution of xᵀ [Cᵢ, H, W, N] with dyᵀ [Hₒ, Wₒ, N, Cₒ] as the
 *   filter, stride d and dilation s: the forward stride becomes the dilation.
 * - dx: `dx[n, y, c] = Σ_{a,c'} dyᶻ[n, y + p − a·d, c'] · w[a, c, c']` with dyᶻ
 *   dy with s − 1 zeros inserted between rows and columns; a forward
 *   convolution of dyᶻ with the flipped, transposed filter, dilation d and
 *   top padding (kh − 1)·d − p.
 *
 * Depthwise convolution (filter [kh, kw, C, M]) follows the same identities,
 * with the batch folded into the channels for dW.
 *
 * @module
 */
import { tf } from "../tf.ts";

const { backend_util } = tf;

/** Shape and dtype of a tensor, plus an opaque handle the primitives know. */
export interface Handle {
  readonly shape: readonly number[];
}

/** Spatial geometry of a 2-D convolution (both axes). */
export interface ConvGeometry {
  /** Filter height and width. */
  readonly filterSize: readonly [number, number];
  /** Stride per axis. */
  readonly strides: readonly [number, number];
  /** Dilation per axis. */
  readonly dilations: readonly [number, number];
  /** Zero padding before the first row and column. */
  readonly padBefore: readonly [number, number];
}

/** A stride or dilation attribute (a number, a pair, or absent for 1) as a pair. */
export function pair(v: unknown): [number, number] {
  if (v === undefined || v === null) return [1, 1];
  return typeof v === "number" ? [v, v] : [(v as number[])[0], (v as number[])[1]];
}

/**
 * The geometry of a convolution kernel call from its attributes (strides,
 * dilations, pad, dimRoundingMode), as tfjs computes it. NHWC only.
 */
export function convGeometry(
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: Record<string, unknown>,
  depthwise: boolean,
): ConvGeometry {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? "NHWC";
  if (dataFormat !== "NHWC") {
    throw new Error(`convolution gradients support NHWC only, got ${dataFormat}`);
  }
  const info = convInfo(inputShape, filterShape, attrs, depthwise);
  return {
    filterSize: [info.filterHeight, info.filterWidth],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    padBefore: [info.padInfo.top, info.padInfo.left],
  };
}

/**
 * tfjs's full description of a convolution kernel call from its attributes
 * (strides, dilations, pad, dimRoundingMode), NHWC.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convInfo } from "./conv_backprop.ts";
 * const info = convInfo([1, 8, 8, 3], [3, 3, 3, 4], { strides: 2, pad: "same" }, false);
 * assert.deepEqual([info.outHeight, info.padInfo.top], [4, 0]);
 * ```
 */
export function convInfo(
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: Record<string, unknown>,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    pair(attrs.strides),
    pair(attrs.dilations),
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
    depthwise,
  );
}

/** The primitives the gradients are written with. */
export interface ConvPrimitives<T extends Handle> {
  transpose(x: T, perm: number[]): T;
  reshape(x: T, shape: number[]): T;
  /** Zero padding, one [before, after] pair per axis, all ≥ 0. */
  pad(x: T, paddings: [number, number][]): T;
  slice(x: T, begin: number[], size: number[]): T;
  reverse(x: T, axes: number[]): T;
  sum(x: T, axis: number): T;
  /** A forward convolution with explicit padding (stride or dilation may both exceed 1). */
  conv2d(
    x: T,
    w: T,
    strides: [number, number],
    dilations: [number, number],
    pad: [[number, number], [number, number]],
  ): T;
  /** A depthwise convolution (filter [kh, kw, C, M]) with explicit padding. */
  depthwiseConv2d(
    x: T,
    w: T,
    strides: [number, number],
    dilations: [number, number],
    pad: [[number, number], [number, number]],
  ): T;
  /** Releases an intermediate result. */
  free(x: T): void;
}

/**
 * Runs `f` on a value, frees the value (unless it is `keep`), returns the
 * result: the chaining idiom of this file.
 */
function then<T extends Handle>(ops: ConvPrimitives<T>, x: T, f: (x: T) => T, keep?: T): T {
  const out = f(x);
  if (x !== keep) ops.free(x);
  return out;
}

/** Crops axes 1 and 2 to [start, start + size) when the handle is larger. */
function cropSpatial<T extends Handle>(
  ops: ConvPrimitives<T>,
  x: T,
  start: [number, number],
  size: [number, number],
): T {
  const [n, h, w, c] = x.shape;
  if (start[0] === 0 && start[1] === 0 && h === size[0] && w === size[1]) return x;
  return then(ops, x, (v) => ops.slice(v, [0, start[0], start[1], 0], [n, size[0], size[1], c]));
}

/**
 * Padding for a convolution whose window must start `before` positions ahead
 * of an input of `inputSize` and span `needed` positions in all. Negative
 * amounts cannot be padded: a negative `before` becomes `crop`, the count of
 * leading positions to drop (from the input, or equally from a stride-1
 * output), and a negative remainder leaves extra trailing output to crop.
 */
export function window(inputSize: number, before: number, needed: number) {
  const after = needed - inputSize - before;
  return {
    pad: [Math.max(0, before), Math.max(0, after)] as [number, number],
    crop: Math.max(0, -before),
  };
}

/** Inserts s − 1 zeros after every row (axis 1) and column (axis 2). */
function zeroInsert<T extends Handle>(
  ops: ConvPrimitives<T>,
  dy: T,
  strides: readonly [number, number],
): T {
  const [sh, sw] = strides;
  if (sh === 1 && sw === 1) return dy;
  const [n, ho, wo, c] = dy.shape;
  let v = ops.reshape(dy, [n * ho, 1, wo * c]);
  v = then(ops, v, (t) => ops.pad(t, [[0, 0], [0, sh - 1], [0, 0]]));
  v = then(ops, v, (t) => ops.reshape(t, [n * ho * sh * wo, 1, c]));
  v = then(ops, v, (t) => ops.pad(t, [[0, 0], [0, sw - 1], [0, 0]]));
  return then(ops, v, (t) => ops.reshape(t, [n, ho * sh, wo * sw, c]));
}

/** The windows of a filter gradient: positions a·d + o·s − p of the input. */
function filterGradWindows(g: ConvGeometry, h: number, w: number, ho: number, wo: number) {
  const span = (axis: 0 | 1, k: number, o: number) =>
    (k - 1) * g.dilations[axis] + (o - 1) * g.strides[axis] + 1;
  return {
    rows: window(h, g.padBefore[0], span(0, g.filterSize[0], ho)),
    cols: window(w, g.padBefore[1], span(1, g.filterSize[1], wo)),
  };
}

/** The windows of an input gradient over dyᶻ: top padding (k − 1)·d − p. */
function inputGradWindows(g: ConvGeometry, dyz: Handle, h: number, w: number) {
  const reach = (axis: 0 | 1) => (g.filterSize[axis] - 1) * g.dilations[axis];
  return {
    rows: window(dyz.shape[1], reach(0) - g.padBefore[0], h + reach(0)),
    cols: window(dyz.shape[2], reach(1) - g.padBefore[1], w + reach(1)),
  };
}

/**
 * The gradient of a convolution with respect to its filter.
 * Returns [kh, kw, Cᵢ, Cₒ].
 */
export function convFilterGrad<T extends Handle>(
  ops: ConvPrimitives<T>,
  x: T,
  dy: T,
  g: ConvGeometry,
): T {
  const [, h, w] = x.shape;
  const [, ho, wo] = dy.shape;
  const [kh, kw] = g.filterSize;
  const { rows, cols } = filterGradWindows(g, h, w, ho, wo);
  let xt = ops.transpose(x, [3, 1, 2, 0]);
  xt = cropSpatial(ops, xt, [rows.crop, cols.crop], [h - rows.crop, w - cols.crop]);
  const dyt = ops.transpose(dy, [1, 2, 0, 3]);
  const out = ops.conv2d(
    xt,
    dyt,
    [g.dilations[0], g.dilations[1]],
    [g.strides[0], g.strides[1]],
    [rows.pad, cols.pad],
  );
  ops.free(xt);
  ops.free(dyt);
  const cropped = cropSpatial(ops, out, [0, 0], [kh, kw]);
  return then(ops, cropped, (v) => ops.transpose(v, [1, 2, 0, 3]));
}

/**
 * The gradient of a convolution with respect to its input, whose shape is
 * `inputShape` [N, H, W, Cᵢ].
 */
export function convInputGrad<T extends Handle>(
  ops: ConvPrimitives<T>,
  dy: T,
  filter: T,
  inputShape: readonly number[],
  g: ConvGeometry,
): T {
  const [, h, w] = inputShape;
  const [dh, dw] = g.dilations;
  const dyz = zeroInsert(ops, dy, g.strides);
  const flipped = then(ops, ops.reverse(filter, [0, 1]), (v) => ops.transpose(v, [0, 1, 3, 2]));
  const { rows, cols } = inputGradWindows(g, dyz, h, w);
  const out = ops.conv2d(dyz, flipped, [1, 1], [dh, dw], [rows.pad, cols.pad]);
  if (dyz !== dy) ops.free(dyz);
  ops.free(flipped);
  return cropSpatial(ops, out, [rows.crop, cols.crop], [h, w]);
}

/**
 * The gradient of a depthwise convolution (filter [kh, kw, C, M]) with
 * respect to its filter.
 */
export function depthwiseFilterGrad<T extends Handle>(
  ops: ConvPrimitives<T>,
  x: T,
  dy: T,
  filterShape: readonly number[],
  g: ConvGeometry,
): T {
  const [n, h, w, c] = x.shape;
  const [, ho, wo] = dy.shape;
  const [kh, kw, , m] = filterShape;
  const { rows, cols } = filterGradWindows(g, h, w, ho, wo);
  // The batch folds into the channels: [1, H, W, N·C] against [Hₒ, Wₒ, N·C, M].
  let xf = then(ops, ops.transpose(x, [1, 2, 0, 3]), (v) => ops.reshape(v, [1, h, w, n * c]));
  xf = cropSpatial(ops, xf, [rows.crop, cols.crop], [h - rows.crop, w - cols.crop]);
  const filter = then(
    ops,
    ops.transpose(dy, [1, 2, 0, 3]),
    (v) => ops.reshape(v, [ho, wo, n * c, m]),
  );
  const out = ops.depthwiseConv2d(
    xf,
    filter,
    [g.dilations[0], g.dilations[1]],
    [g.strides[0], g.strides[1]],
    [rows.pad, cols.pad],
  );
  ops.free(xf);
  ops.free(filter);
  let v = cropSpatial(ops, out, [0, 0], [kh, kw]);
  v = then(ops, v, (t) => ops.reshape(t, [kh, kw, n, c * m]));
  if (n > 1) v = then(ops, v, (t) => ops.sum(t, 2));
  return then(ops, v, (t) => ops.reshape(t, [kh, kw, c, m]));
}

/**
 * The gradient of a depthwise convolution with respect to its input
 * [N, H, W, C].
 */
export function depthwiseInputGrad<T extends Handle>(
  ops: ConvPrimitives<T>,
  dy: T,
  filter: T,
  inputShape: readonly number[],
  g: ConvGeometry,
): T {
  const [n, h, w, c] = inputShape;
  const [kh, kw, , m] = filter.shape;
  const [dh, dw] = g.dilations;
  const dyz = zeroInsert(ops, dy, g.strides);
  // Each of the C·M output channels convolves on its own; the M copies of an
  // input channel are summed afterwards.
  const flipped = then(ops, ops.reverse(filter, [0, 1]), (v) => ops.reshape(v, [kh, kw, c * m, 1]));
  const { rows, cols } = inputGradWindows(g, dyz, h, w);
  let out = ops.depthwiseConv2d(dyz, flipped, [1, 1], [dh, dw], [rows.pad, cols.pad]);
  if (dyz !== dy) ops.free(dyz);
  ops.free(flipped);
  out = cropSpatial(ops, out, [rows.crop, cols.crop], [h, w]);
  if (m === 1) return out;
  out = then(ops, out, (t) => ops.reshape(t, [n * h * w * c, m]));
  out = then(ops, out, (t) => ops.sum(t, 1));
  return then(ops, out, (t) => ops.reshape(t, [n, h, w, c]));
}
