/**
 * Composed kernels for the wasm backend: the gradient kernels that tfjs's
 * wasm backend lacks (or has only as slow scalar loops), built on that
 * backend's own forward kernels (XNNPACK convolutions, transposes, pads)
 * called directly, never through the cpu backend, and kernels that replace
 * tfjs's where those are wrong or slow. They run where our native kernels
 * (`families/`) are off or decline a call; each kernel's spec there says
 * which it falls back to.
 *
 * Composed: Conv2DBackpropFilter (missing), Conv2DBackpropInput (replaces
 * a naive loop), DepthwiseConv2dNativeBackpropFilter and
 * DepthwiseConv2dNativeBackpropInput (missing), UnsortedSegmentSum (missing;
 * the gradient of gather), OneHot (tfjs's writes int32 bits into float32
 * outputs), Reverse (tfjs's walks element by element), Slice and SplitV
 * (tfjs's copy the whole input out of the heap for every slice) and Identity
 * (tfjs's copies; tensors are immutable, so ours shares).
 *
 * @example One of them, by its kernel name
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPOSED_KERNELS } from "./composed_kernels.ts";
 * assert.deepEqual(typeof COMPOSED_KERNELS.OneHot, "function");
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  convFilterGrad,
  type ConvGeometry,
  convGeometry as geometry,
  convInputGrad,
  type ConvPrimitives,
  depthwiseFilterGrad,
  depthwiseInputGrad,
  window,
} from "./conv_backprop.ts";

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

// The wasm backend's class is not exported by a stable path; these are the
// members our kernels use.
interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: string): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
  readSync(dataId: object): ArrayLike<number>;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

function wasmKernel(name: string) {
  const config = tf.getKernel(name, "wasm");
  if (!config) throw new Error(`wasm backend: kernel ${name} is not registered`);
  return config.kernelFunc as (args: {
    inputs: Record<string, Info>;
    backend: WasmBackend;
    attrs?: Attrs;
  }) => Info;
}

/** The wasm backend's forward kernels as {@linkcode ConvPrimitives}. */
export function wasmPrimitives(backend: WasmBackend): ConvPrimitives<Info> {
  const call = (name: string, inputs: Record<string, Info>, attrs: Attrs = {}) =>
    wasmKernel(name)({ inputs, backend, attrs });
  const explicit = (pad: [[number, number], [number, number]]) => [[0, 0], pad[0], pad[1], [0, 0]];
  return {
    transpose: (x, perm) => call("Transpose", { x }, { perm }),
    reshape: (x, shape) => {
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape, dtype: x.dtype };
    },
    pad: (x, paddings) => call("PadV2", { x }, { paddings, constantValue: 0 }),
    slice: (x, begin, size) => call("Slice", { x }, { begin, size }),
    reverse: (x, axes) => call("Reverse", { x }, { dims: axes }),
    sum: (x, axis) => call("Sum", { x }, { axis: [axis], keepDims: false }),
    conv2d: (x, filter, strides, dilations, pad) =>
      call("Conv2D", { x, filter }, {
        strides,
        dilations,
        pad: explicit(pad),
        dataFormat: "NHWC",
      }),
    depthwiseConv2d: (x, filter, strides, dilations, pad) =>
      call("DepthwiseConv2dNative", { x, filter }, {
        strides,
        dilations,
        pad: explicit(pad),
        dataFormat: "NHWC",
      }),
    free: (x) => void backend.disposeData(x.dataId),
  };
}

/** A kernel function's arguments, as tfjs passes them. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: Attrs };

/** A kernel function as tfjs registers it. */
export type TfjsKernel = (args: KernelArgs) => Info | Info[];

/**
 * A composed kernel: its result for `args`, given tfjs's own kernel of that
 * name where there is one (for the calls it leaves to tfjs).
 */
export type ComposedKernel = (args: KernelArgs, tfjs?: TfjsKernel) => Info | Info[];

const conv2DBackpropFilter = ({ inputs, backend, attrs = {} }: KernelArgs) => {
  const { x, dy } = inputs as Record<string, Info>;
  const filterShape = attrs.filterShape as number[];
  const ops = wasmPrimitives(backend as WasmBackend);
  return convFilterGrad(ops, x, dy, geometry(x.shape, filterShape, attrs, false));
};

/**
 * The phases of a strided convolution's input gradient along one axis.
 * Input row `y = Y·s + r` receives `Σ_j dy[Y + q − j] · w[t + j·s]` with
 * `t = (r + p) mod s`, `q = ⌊(r + p)/s⌋`: a stride-1 correlation of dy with
 * the taps `t, t + s, …` reversed. For phase r, `taps[b]` is the filter index
 * at window position b, and the window starts at `Y + offset`.
 */
function phases(kernel: number, stride: number, padBefore: number) {
  return Array.from({ length: stride }, (_, r) => {
    const t = (r + padBefore) % stride, q = Math.floor((r + padBefore) / stride);
    const last = Math.floor((kernel - 1 - t) / stride); // −1: no tap
    const taps = Array.from({ length: last + 1 }, (_, b) => t + (last - b) * stride);
    return { offset: q - last, taps };
  });
}

/**
 * Strided input gradient without multiplying inserted zeros: each of the s²
 * output phases is a stride-1 convolution of dy with its own sub-filter,
 * written into every s-th row and column of the result.
 */
function stridedInputGrad(
  backend: WasmBackend,
  dy: Info,
  filter: Info,
  inputShape: number[],
  g: ConvGeometry,
): Info {
  const ops = wasmPrimitives(backend);
  const [n, h, w, ci] = inputShape;
  const [, kw, , co] = filter.shape;
  const s = g.strides[0];
  const hp = Math.ceil(h / s), wp = Math.ceil(w / s);
  const rows = phases(filter.shape[0], s, g.padBefore[0]);
  const cols = phases(kw, s, g.padBefore[1]);
  const parts: { part: Info; rh: number; rw: number }[] = [];
  rows.forEach((row, rh) =>
    cols.forEach((col, rw) => {
      if (row.taps.length === 0 || col.taps.length === 0) return; // stays zero
      const [lh, lw] = [row.taps.length, col.taps.length];
      // The phase's sub-filter, flipped and transposed: [lh, lw, Cₒ, Cᵢ].
      const sub = backend.makeOutput([lh, lw, co, ci], "float32");
      const target = backend.typedArrayFromHeap(sub);
      const source = backend.typedArrayFromHeap(filter);
      for (let bh = 0; bh < lh; bh++) {
        for (let bw = 0; bw < lw; bw++) {
          const from = (row.taps[bh] * kw + col.taps[bw]) * ci * co;
          const to = (bh * lw + bw) * co * ci;
          for (let c = 0; c < ci; c++) {
            for (let o = 0; o < co; o++) target[to + o * ci + c] = source[from + c * co + o];
          }
        }
      }
      const top = window(dy.shape[1], -row.offset, hp + lh - 1);
      const left = window(dy.shape[2], -col.offset, wp + lw - 1);
      const part = ops.conv2d(dy, sub, [1, 1], [1, 1], [top.pad, left.pad]);
      ops.free(sub);
      parts.push({ part, rh: rh - top.crop * s, rw: rw - left.crop * s });
    })
  );
  const out = backend.makeOutput([n, h, w, ci], "float32");
  // Views are taken after the last allocation: growing the heap detaches them.
  const target = backend.typedArrayFromHeap(out);
  target.fill(0);
  for (const { part, rh, rw } of parts) {
    const source = backend.typedArrayFromHeap(part);
    const [, ph, pw] = part.shape;
    for (let b = 0; b < n; b++) {
      for (let py = 0; py < ph; py++) {
        const y = py * s + rh;
        if (y < 0 || y >= h) continue;
        for (let px = 0; px < pw; px++) {
          const x = px * s + rw;
          if (x < 0 || x >= w) continue;
          const from = ((b * ph + py) * pw + px) * ci, to = ((b * h + y) * w + x) * ci;
          for (let c = 0; c < ci; c++) target[to + c] = source[from + c];
        }
      }
    }
    ops.free(part);
  }
  return out;
}

const conv2DBackpropInput = ({ inputs, backend, attrs = {} }: KernelArgs) => {
  const { dy, filter } = inputs as Record<string, Info>;
  const wasm = backend as WasmBackend;
  const inputShape = attrs.inputShape as number[];
  const g = geometry(inputShape, filter.shape, attrs, false);
  const [sh, sw] = g.strides;
  if (sh > 1 && sh === sw && g.dilations[0] === 1 && g.dilations[1] === 1) {
    return stridedInputGrad(wasm, dy, filter, inputShape, g);
  }
  return convInputGrad(wasmPrimitives(wasm), dy, filter, inputShape, g);
};

const depthwiseBackpropFilter = ({ inputs, backend, attrs = {} }: KernelArgs) => {
  const { x, dy } = inputs as Record<string, Info>;
  const filterShape = attrs.filterShape as number[];
  const ops = wasmPrimitives(backend as WasmBackend);
  return depthwiseFilterGrad(ops, x, dy, filterShape, geometry(x.shape, filterShape, attrs, true));
};

const depthwiseBackpropInput = ({ inputs, backend, attrs = {} }: KernelArgs) => {
  const { dy, filter } = inputs as Record<string, Info>;
  const inputShape = attrs.inputShape as number[];
  const ops = wasmPrimitives(backend as WasmBackend);
  return depthwiseInputGrad(
    ops,
    dy,
    filter,
    inputShape,
    geometry(inputShape, filter.shape, attrs, true),
  );
};

/**
 * `out[segmentIds[i], …] += x[i, …]`; ids outside [0, numSegments) are
 * dropped, as in TensorFlow. A scatter-add over the wasm heap in one pass.
 */
const unsortedSegmentSum = ({ inputs, backend, attrs = {} }: KernelArgs) => {
  const { x, segmentIds } = inputs as Record<string, Info>;
  const wasm = backend as WasmBackend;
  const numSegments = attrs.numSegments as number;
  const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  const values = wasm.readSync(x.dataId);
  const ids = wasm.readSync(segmentIds.dataId);
  const target = wasm.typedArrayFromHeap(out);
  target.fill(0);
  for (let i = 0; i < rows; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) continue;
    const from = i * inner, to = segment * inner;
    for (let j = 0; j < inner; j++) target[to + j] += values[from + j];
  }
  return out;
};

/**
 * One-hot encoding in the requested dtype. tfjs's wasm OneHot writes int32
 * bit patterns whatever the dtype, so a float32 one-hot comes out as
 * denormals (1 reads as 1.4e-45): silently wrong.
 */
const oneHot = ({ inputs, backend, attrs = {} }: KernelArgs) => {
  const { indices } = inputs as Record<string, Info>;
  const wasm = backend as WasmBackend;
  const depth = attrs.depth as number;
  const onValue = (attrs.onValue as number | undefined) ?? 1;
  const offValue = (attrs.offValue as number | undefined) ?? 0;
  const out = wasm.makeOutput([...indices.shape, depth], (attrs.dtype as string) ?? "int32");
  const ids = wasm.readSync(indices.dataId);
  const target = wasm.typedArrayFromHeap(out);
  target.fill(offValue);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id >= 0 && id < depth) target[i * depth + id] = onValue;
  }
  return out;
};

/**
 * Copies the block of `source` (of `shape`) that starts at `begin` and spans
 * `size` into `target`, reversed along the axes in `flipped`, one contiguous
 * run at a time: a run covers the trailing axes the block spans whole and
 * does not reverse, and the innermost axis it cuts.
 */
function copyBlock(
  source: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> },
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  target: { set(values: ArrayLike<number>, offset: number): void },
  flipped: ReadonlySet<number> = new Set(),
) {
  const rank = shape.length;
  if (size.some((d) => d === 0)) return;
  if (rank === 0) {
    target.set(source.subarray(0, 1), 0);
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  let cut = rank - 1;
  const whole = (axis: number) =>
    begin[axis] === 0 && size[axis] === shape[axis] && !flipped.has(axis);
  while (cut > 0 && whole(cut)) cut--;
  // A reversed axis is walked element by element: the run ends before it.
  if (flipped.has(cut)) cut++;
  const run = cut === rank ? 1 : size[cut] * strides[cut];
  const outer = size.slice(0, cut);
  const count = outer.reduce((a, b) => a * b, 1);
  const base = begin.reduce((sum, b, i) => sum + b * strides[i], 0);
  for (let index = 0; index < count; index++) {
    let rest = index, from = base;
    for (let axis = cut - 1; axis >= 0; axis--) {
      const i = rest % outer[axis];
      rest = (rest - i) / outer[axis];
      from += (flipped.has(axis) ? outer[axis] - 1 - i : i) * strides[axis];
    }
    target.set(source.subarray(from, from + run), index * run);
  }
}

/**
 * `x` reversed along `dims`, by block copies over the heap: everything after
 * the last reversed axis moves as one block. tfjs's wasm Reverse walks
 * element by element (~3 ms for a 3×3×64×64 filter flip, this ~0.03 ms).
 */
const reverse = ({ inputs, backend, attrs = {} }: KernelArgs) => {
  const { x } = inputs as Record<string, Info>;
  const wasm = backend as WasmBackend;
  const rank = x.shape.length;
  const requested = attrs.dims as number | number[];
  const axes = new Set(
    (Array.isArray(requested) ? requested : [requested]).map((a) => (a + rank) % rank),
  );
  const out = wasm.makeOutput([...x.shape], x.dtype);
  copyBlock(
    wasm.typedArrayFromHeap(x) as Float32Array,
    x.shape,
    x.shape.map(() => 0),
    x.shape,
    wasm.typedArrayFromHeap(out) as Float32Array,
    axes,
  );
  return out;
};

/**
 * A slice by block copies over the heap. tfjs's wasm Slice reads its input
 * with readSync, which copies the whole input out of the heap first: a split
 * of a long vector into n parts cost n copies of all of it.
 */
function sliceOnHeap(wasm: WasmBackend, x: Info, begin: number[], size: number[]): Info {
  const out = wasm.makeOutput(size, x.dtype);
  copyBlock(
    wasm.typedArrayFromHeap(x) as Float32Array,
    x.shape,
    begin,
    size,
    wasm.typedArrayFromHeap(out) as Float32Array,
  );
  return out;
}

/** tfjs's string tensors are not on the heap: those calls go to its kernel. */
function tfjsForStrings(name: string, tfjs: TfjsKernel | undefined): TfjsKernel {
  if (!tfjs) throw new Error(`wasm backend: kernel ${name} is not registered`);
  return tfjs;
}

const slice: ComposedKernel = ({ inputs, backend, attrs = {} }, tfjs) => {
  const { x } = inputs as Record<string, Info>;
  if (x.dtype === "string") return tfjsForStrings("Slice", tfjs)({ inputs, backend, attrs });
  const [begin, size] = tf.slice_util.parseSliceParams(
    x,
    attrs.begin as number[],
    attrs.size as number[],
  );
  return sliceOnHeap(backend as WasmBackend, x, begin, size);
};

const splitV: ComposedKernel = ({ inputs, backend, attrs = {} }, tfjs) => {
  const { x } = inputs as Record<string, Info>;
  if (x.dtype === "string") return tfjsForStrings("SplitV", tfjs)({ inputs, backend, attrs });
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(
    x,
    attrs.numOrSizeSplits as number[],
    axis,
  );
  const begin = x.shape.map(() => 0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[axis] = s;
    const part = sliceOnHeap(backend as WasmBackend, x, [...begin], size);
    begin[axis] += s;
    return part;
  });
};

/**
 * The input itself, one more reference to the same data (as the cpu backend
 * does): tensors are immutable, so the copy tfjs's wasm Identity makes buys
 * nothing, and gradients call Identity hundreds of times a step.
 */
const identity: ComposedKernel = ({ inputs, backend, attrs = {} }, tfjs) => {
  const { x } = inputs as Record<string, Info>;
  if (x.dtype === "string") return tfjsForStrings("Identity", tfjs)({ inputs, backend, attrs });
  (backend as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * The composed kernels by the kernel name each computes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPOSED_KERNELS } from "./composed_kernels.ts";
 * assert.deepEqual("DepthwiseConv2dNativeBackpropInput" in COMPOSED_KERNELS, true);
 * ```
 */
export const COMPOSED_KERNELS = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
  OneHot: oneHot,
  Reverse: reverse,
  Slice: slice,
  SplitV: splitV,
  Identity: identity,
} as const satisfies Record<string, ComposedKernel>;

/**
 * tfjs's wasm convolutions hand "same" padding to XNNPACK as a flag, and
 * XNNPACK then pads differently from TensorFlow whenever the stride exceeds 1
 * in some shapes (for example any 3-strided "same" convolution, or a width-1
 * input under a 2-wide kernel at stride 2): silently wrong outputs. The
 * kernel this returns passes tfjs's own "same" padding to `tfjs` explicitly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withExplicitSamePadding } from "./composed_kernels.ts";
 * let seen: unknown;
 * const kernel = withExplicitSamePadding((args) => {
 *   seen = args.attrs?.pad;
 *   return args.inputs.x!;
 * }, false);
 * const x = { dataId: {}, shape: [1, 5, 5, 1], dtype: "float32" as const };
 * const filter = { dataId: {}, shape: [2, 2, 1, 1], dtype: "float32" as const };
 * kernel({ inputs: { x, filter }, backend: {}, attrs: { pad: "same", strides: [2, 2] } });
 * assert.deepEqual(seen, [[0, 0], [0, 1], [0, 1], [0, 0]]);
 * ```
 */
export function withExplicitSamePadding(tfjs: TfjsKernel, depthwise: boolean): TfjsKernel {
  return (args) => {
    const attrs = args.attrs ?? {};
    if (attrs.pad !== "same") return tfjs(args);
    const { x, filter } = args.inputs as Record<string, Info>;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides as [number, number],
      (attrs.dilations as [number, number] | undefined) ?? 1,
      "same",
      undefined,
      depthwise,
    );
    const { top, bottom, left, right } = info.padInfo;
    const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
    return tfjs({ ...args, attrs: { ...attrs, pad } });
  };
}
