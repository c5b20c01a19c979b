/**
 * A direct float64 implementation of 2-D (and depthwise) convolution and its
 * gradients, independent of tfjs's kernels: the reference for the dilated
 * cases that tfjs cannot differentiate at all.
 */
import fc from "fast-check";
import { tf } from "../lib/tf.ts";
import { key, normal, split } from "../lib/random.ts";
import { assertClose, on } from "./helpers.ts";

export interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  /** Output channels (conv) or channel multiplier (depthwise). */
  co: number;
  k: [number, number];
  stride: number;
  dilation: number;
  pad: "same" | "valid" | [number, number, number, number];
  depthwise: boolean;
}

export function tfPad(c: ConvCase): "same" | "valid" | tf.backend_util.ExplicitPadding {
  if (typeof c.pad === "string") return c.pad;
  const [t, b, l, r] = c.pad;
  return [[0, 0], [t, b], [l, r], [0, 0]];
}

export function filterShape(c: ConvCase): [number, number, number, number] {
  return [c.k[0], c.k[1], c.ci, c.co];
}

/** Output shape and top/left padding as tfjs defines them. */
export function geometry(c: ConvCase) {
  const info = tf.backend_util.computeConv2DInfo(
    [c.n, c.h, c.w, c.ci],
    filterShape(c),
    c.stride,
    c.dilation,
    tfPad(c) as "same",
    undefined,
    c.depthwise,
  );
  return { outShape: info.outShape, top: info.padInfo.top, left: info.padInfo.left };
}

/** y, and the gradients of Σ y·r with respect to x and w, in float64. */
export function referenceConv(
  c: ConvCase,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  r: ArrayLike<number>,
) {
  const { outShape, top, left } = geometry(c);
  const [, ho, wo, cOut] = outShape;
  const [kh, kw] = c.k;
  const y = new Float64Array(c.n * ho * wo * cOut);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const xi = (n: number, i: number, j: number, ch: number) => ((n * c.h + i) * c.w + j) * c.ci + ch;
  for (let n = 0; n < c.n; n++) {
    for (let o = 0; o < ho; o++) {
      for (let p = 0; p < wo; p++) {
        for (let a = 0; a < kh; a++) {
          const i = o * c.stride + a * c.dilation - top;
          if (i < 0 || i >= c.h) continue;
          for (let b = 0; b < kw; b++) {
            const j = p * c.stride + b * c.dilation - left;
            if (j < 0 || j >= c.w) continue;
            for (let ch = 0; ch < c.ci; ch++) {
              const xv = x[xi(n, i, j, ch)];
              const outs = c.depthwise ? c.co : cOut;
              for (let m = 0; m < outs; m++) {
                const out = c.depthwise ? ch * c.co + m : m;
                const wIndex = ((a * kw + b) * c.ci + ch) * (c.depthwise ? c.co : cOut) + m;
                const yIndex = ((n * ho + o) * wo + p) * cOut + out;
                y[yIndex] += xv * w[wIndex];
                dx[xi(n, i, j, ch)] += w[wIndex] * r[yIndex];
                dw[wIndex] += xv * r[yIndex];
              }
            }
          }
        }
      }
    }
  }
  return { y, dx, dw, outShape };
}

export const TOLERANCE = 1e-4;

/** y and the gradients of Σ y·r on the active backend. */
export async function convOnBackend(
  backend: "cpu" | "wasm" | "webgpu",
  c: ConvCase,
  x: Float32Array,
  w: Float32Array,
  r: Float32Array,
) {
  await on(backend);
  const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.ci]);
  const wt = tf.tensor4d(w, filterShape(c));
  const { outShape } = geometry(c);
  const rt = tf.tensor(r, outShape);
  const forward = (xv: tf.Tensor4D, wv: tf.Tensor4D) =>
    c.depthwise
      ? tf.depthwiseConv2d(xv, wv, c.stride, tfPad(c), "NHWC", c.dilation)
      : tf.conv2d(xv, wv, c.stride, tfPad(c), "NHWC", c.dilation);
  const y = forward(xt, wt);
  const [dx, dw] = tf.grads((a, b) =>
    tf.sum(tf.mul(forward(a as tf.Tensor4D, b as tf.Tensor4D), rt))
  )([xt, wt]);
  const out = { y: await y.data(), dx: await dx.data(), dw: await dw.data() };
  tf.dispose([xt, wt, rt, y, dx, dw]);
  return out;
}

export function randomInputs(c: ConvCase, seed: number) {
  const [kx, kw, kr] = split(key(seed), 3);
  const { outShape } = geometry(c);
  const make = (k: typeof kx, shape: number[]) => {
    const t = normal(k, shape);
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return v;
  };
  return {
    x: make(kx, [c.n, c.h, c.w, c.ci]),
    w: make(kw, filterShape(c)),
    r: make(kr, outShape),
  };
}

export async function checkCase(c: ConvCase, seed: number, backends: ("wasm" | "webgpu")[]) {
  const { x, w, r } = randomInputs(c, seed);
  const reference = referenceConv(c, x, w, r);
  const undilated = c.dilation === 1;
  // tfjs's own cpu kernels are the reference where they exist; the float64
  // direct computation checks them and covers dilation.
  const cpu = await convOnBackend("cpu", c, x, w, r);
  assertClose(cpu.y, reference.y, TOLERANCE, "cpu y vs float64");
  assertClose(cpu.dx, reference.dx, TOLERANCE, "cpu dx vs float64");
  assertClose(cpu.dw, reference.dw, TOLERANCE, "cpu dw vs float64");
  for (const backend of backends) {
    const got = await convOnBackend(backend, c, x, w, r);
    const against = undilated ? cpu : reference;
    const label = `${backend} vs ${undilated ? "cpu" : "float64"} ${JSON.stringify(c)}`;
    assertClose(got.y, against.y, TOLERANCE, `${label} y`);
    assertClose(got.dx, against.dx, TOLERANCE, `${label} dx`);
    assertClose(got.dw, against.dw, TOLERANCE, `${label} dw`);
  }
}

/** Random convolution cases; `wide` reaches past one 6×8 register tile of our kernels. */
export const caseArb = (depthwise: boolean, wide = false): fc.Arbitrary<ConvCase> =>
  fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: wide ? 20 : 12 }),
    w: fc.integer({ min: 1, max: wide ? 20 : 12 }),
    ci: fc.integer({ min: 1, max: wide ? 20 : 5 }),
    co: fc.integer({ min: 1, max: depthwise ? 3 : wide ? 20 : 6 }),
    k: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
    strideOrDilation: fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3 })),
    pad: fc.oneof(
      fc.constantFrom("same" as const, "valid" as const),
      fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    ),
  }).map(({ strideOrDilation: [strided, amount], ...rest }) => ({
    ...rest,
    stride: strided ? amount : 1,
    dilation: strided ? 1 : amount,
    depthwise,
  })).filter((c) => {
    const { outShape } = geometry(c);
    return outShape[1] > 0 && outShape[2] > 0;
  });
