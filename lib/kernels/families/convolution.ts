/**
 * The convolution kernels: Conv2D and DepthwiseConv2dNative (channel
 * multiplier 1), their input and filter gradients, dilated or not, and the
 * fused convolution + bias + activation kernels of `fused.ts`, on our
 * kernel module's implicit GEMM with fused multiply-add (`conv.c`,
 * `depthwise.c`; XNNPACK, which tfjs uses, multiplies and adds separately
 * and has no gradient kernels). Each kernel is its engine call, its adapter
 * from tfjs's tensors and its spec in {@linkcode CONVOLUTION_KERNELS}.
 * Calls with more than `MAX_FILTER_TAPS` taps or another data format go to
 * the spec's fallback.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONVOLUTION_KERNELS } from "./convolution.ts";
 * assert.ok(CONVOLUTION_KERNELS.some((k) => k.name === "Conv2DBackpropInput"));
 * ```
 *
 * @module
 */
import {
  type Activation,
  ACTIVATIONS,
  type ConvEpilogue,
  MAX_FILTER_TAPS,
  type NativeConvGeometry,
  type NativeKernels,
} from "../native/engine.ts";
import type { Operand } from "../native/workspace.ts";
import { convInfo } from "../conv_backprop.ts";
import { CONV_BIAS_ACTIVATION, DEPTHWISE_BIAS_ACTIVATION } from "../fused.ts";
import { COMPOSED_KERNELS } from "../composed_kernels.ts";
import type { KernelArgs, OurKernel, WasmHeap, WasmKernel } from "../kernel_spec.ts";
import { activeEngine, fused, operand, output, size } from "../native_adapters.ts";
import type { tf } from "../../tf.ts";

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

// A depthwise multiply-add loads both its operands (nothing stays in
// registers across output channels, as in a convolution's tile): it counts
// as four of a convolution's against THREADED_WORK.
const DEPTHWISE_COST = 4;

// ---------------------------------------------------------------- engine calls

/**
 * y [N, Hₒ, Wₒ, Cₒ] = conv(x [N, H, W, Cᵢ], w [kh, kw, Cᵢ, Cₒ]), then the
 * `epilogue` (bias, activation) if given, written at `out` or into the
 * engine's memory; returns a view of it, valid until the engine's next
 * call.
 */
export function conv2d(
  engine: NativeKernels,
  x: Operand,
  w: Operand,
  g: NativeConvGeometry,
  out?: number,
  epilogue?: ConvEpilogue,
): Float32Array {
  const positions = g.batch * g.outHeight * g.outWidth;
  const depth = g.filterHeight * g.filterWidth * g.inChannels;
  const panels = Math.ceil(g.outChannels / engine.constants.NR);
  return engine.space.job(() => {
    const geo = engine.geometry(g);
    const zero = engine.space.zeros(g.inChannels);
    const xAt = engine.space.place(x), wAt = engine.space.place(w);
    const packed = engine.space.alloc(panels * engine.constants.NR * depth);
    const y = out ?? engine.space.alloc(positions * g.outChannels);
    const scratch = engine.space.alloc(engine.constants.NR * engine.threads);
    engine.exports.pack_panels(wAt, depth, g.outChannels, g.outChannels, 1, packed);
    const after = epilogue ? engine.epilogue(epilogue) : 0;
    engine.run(
      "conv_forward",
      [geo, xAt, packed, y, zero, after],
      Math.ceil(positions / engine.constants.MR),
      {
        scratch,
        stride: 4 * engine.constants.NR,
        work: positions * depth * g.outChannels,
      },
    );
    return engine.space.view(y, positions * g.outChannels);
  });
}

/**
 * y [N, Hₒ, Wₒ, C] = depthwise(x [N, H, W, C], w [kh, kw, C, 1]) (channel
 * multiplier 1; the geometry's in and out channels both C), then the
 * `epilogue`'s bias and activation (not leaky relu); `out` and the result
 * as for {@linkcode conv2d}.
 */
export function depthwiseConv(
  engine: NativeKernels,
  x: Operand,
  w: Operand,
  g: NativeConvGeometry,
  out?: number,
  epilogue?: ConvEpilogue,
): Float32Array {
  const size = g.batch * g.outHeight * g.outWidth * g.inChannels;
  const activation = ACTIVATIONS.indexOf(epilogue?.activation ?? "linear");
  if (epilogue?.activation === "leakyrelu") throw new Error("depthwise: no leaky relu epilogue");
  return engine.space.job(() => {
    const geo = engine.geometry(g);
    const xAt = engine.space.place(x), wAt = engine.space.place(w);
    const bias = epilogue?.bias === undefined ? 0 : engine.space.place(epilogue.bias);
    const y = out ?? engine.space.alloc(size);
    engine.run("depthwise_forward", [geo, xAt, wAt, bias, activation, y], g.batch * g.outHeight, {
      work: DEPTHWISE_COST * size * g.filterHeight * g.filterWidth,
    });
    return engine.space.view(y, size);
  });
}

/** dx [N, H, W, C] of a depthwise convolution from dy [N, Hₒ, Wₒ, C] and w; `out` and the result as for {@linkcode conv2d}. */
export function depthwiseInputGrad(
  engine: NativeKernels,
  dy: Operand,
  w: Operand,
  g: NativeConvGeometry,
  out?: number,
): Float32Array {
  const size = g.batch * g.inHeight * g.inWidth * g.inChannels;
  return engine.space.job(() => {
    const geo = engine.geometry(g);
    const dyAt = engine.space.place(dy), wAt = engine.space.place(w);
    const dx = out ?? engine.space.alloc(size);
    engine.run("depthwise_input_grad", [geo, dyAt, wAt, dx], g.batch * g.inHeight, {
      work: DEPTHWISE_COST * size * g.filterHeight * g.filterWidth,
    });
    return engine.space.view(dx, size);
  });
}

/** dw [kh, kw, C, 1] of a depthwise convolution from x and dy; `out` and the result as for {@linkcode conv2d}. */
export function depthwiseFilterGrad(
  engine: NativeKernels,
  x: Operand,
  dy: Operand,
  g: NativeConvGeometry,
  out?: number,
): Float32Array {
  const size = g.filterHeight * g.filterWidth * g.inChannels;
  return engine.space.job(() => {
    const geo = engine.geometry(g);
    const xAt = engine.space.place(x), dyAt = engine.space.place(dy);
    const dw = out ?? engine.space.alloc(size);
    engine.run(
      "depthwise_filter_grad",
      [geo, xAt, dyAt, dw],
      Math.ceil(g.inChannels / engine.constants.DW_CHANNEL_BLOCK),
      { work: DEPTHWISE_COST * g.batch * g.outHeight * g.outWidth * size },
    );
    return engine.space.view(dw, size);
  });
}

/** dx [N, H, W, Cᵢ] from dy [N, Hₒ, Wₒ, Cₒ] and w; `out` and the result as for {@linkcode conv2d}. */
export function conv2dInputGrad(
  engine: NativeKernels,
  dy: Operand,
  w: Operand,
  g: NativeConvGeometry,
  out?: number,
): Float32Array {
  const taps = g.filterHeight * g.filterWidth;
  const size = g.batch * g.inHeight * g.inWidth * g.inChannels;
  return engine.space.job(() => {
    const geo = engine.geometry(g);
    const zero = engine.space.zeros(g.outChannels);
    const dyAt = engine.space.place(dy), wAt = engine.space.place(w);
    const packed = engine.space.alloc(
      Math.ceil(g.inChannels / engine.constants.NR) * engine.constants.NR * taps * g.outChannels,
    );
    const dx = out ?? engine.space.alloc(size);
    const scratch = engine.space.alloc(engine.constants.NR * engine.threads);
    engine.exports.pack_transposed_filter(wAt, taps, g.inChannels, g.outChannels, packed);
    const tiles = engine.exports.input_grad_tiles(geo);
    const work = g.batch * g.outHeight * g.outWidth * taps * g.inChannels * g.outChannels;
    engine.run("conv_input_grad", [geo, dyAt, packed, dx, zero], tiles, {
      scratch,
      stride: 4 * engine.constants.NR,
      work,
    });
    return engine.space.view(dx, size);
  });
}

/** dw [kh, kw, Cᵢ, Cₒ] from x and dy; `out` and the result as for {@linkcode conv2d}. */
export function conv2dFilterGrad(
  engine: NativeKernels,
  x: Operand,
  dy: Operand,
  g: NativeConvGeometry,
  out?: number,
): Float32Array {
  const positions = g.batch * g.outHeight * g.outWidth;
  const taps = g.filterHeight * g.filterWidth;
  const depth = taps * g.inChannels;
  return engine.space.job(() => {
    const geo = engine.geometry(g);
    const items = engine.exports.filter_grad_items(geo);
    const xAt = engine.space.place(x), dyAt = engine.space.place(dy);
    const dyPacked = engine.space.alloc(
      Math.ceil(g.outChannels / engine.constants.MR) * engine.constants.MR * positions,
    );
    const dwt = engine.space.alloc(g.outChannels * depth);
    const dw = out ?? engine.space.alloc(g.outChannels * depth);
    // No output position (a filter wider than the padded input): no term.
    if (positions === 0) return engine.space.view(dw, g.outChannels * depth).fill(0);
    const scratch = engine.space.alloc(
      engine.constants.KC * engine.constants.NR * Math.min(engine.threads, items),
    );
    engine.exports.pack_columns(dyAt, positions, g.outChannels, dyPacked);
    engine.run("conv_filter_grad", [geo, dyPacked, xAt, dwt], items, {
      scratch,
      stride: 4 * engine.constants.KC * engine.constants.NR,
      work: positions * depth * g.outChannels,
      // Each thread reuses its input blocks over all its items: fixed shares.
      fixedShares: true,
    });
    engine.exports.transpose(dwt, g.outChannels, depth, dw);
    return engine.space.view(dw, g.outChannels * depth);
  });
}

// -------------------------------------------------------------------- adapters

function nativeGeometry(
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: Attrs,
  depthwise = false,
): NativeConvGeometry | undefined {
  if (((attrs.dataFormat as string | undefined) ?? "NHWC") !== "NHWC") return undefined;
  // Depthwise kernels take a channel multiplier of 1 only.
  if (depthwise && (filterShape.length !== 4 || filterShape[3] !== 1)) return undefined;
  const info = convInfo(inputShape, filterShape, attrs, depthwise);
  if (info.filterHeight * info.filterWidth > MAX_FILTER_TAPS) return undefined;
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    padBefore: [info.padInfo.top, info.padInfo.left],
  };
}

/** A convolution's forward pass, or one of its two gradients. */
type ConvRole = "forward" | "inputGrad" | "filterGrad";

/**
 * Conv2D, DepthwiseConv2dNative (channel multiplier 1) or one of their
 * gradients on our kernels: the result, or `undefined` when they are off or
 * do not take this call. The forward pass reads x and filter, the input
 * gradient dy and filter (x's shape from `inputShape`), the filter gradient
 * x and dy (the filter's shape from `filterShape`).
 */
function convolution(role: ConvRole, depthwise: boolean): OurKernel {
  return (heap, inputs, attrs) => {
    const run = activeEngine();
    const [a, b] = role === "forward"
      ? [inputs.x, inputs.filter]
      : role === "inputGrad"
      ? [inputs.dy, inputs.filter]
      : [inputs.x, inputs.dy];
    if (!run || a.dtype !== "float32" || b.dtype !== "float32") return undefined;
    const inputShape = role === "inputGrad" ? attrs.inputShape as number[] : a.shape;
    const filterShape = role === "filterGrad" ? attrs.filterShape as number[] : b.shape;
    const g = nativeGeometry(inputShape, filterShape, attrs, depthwise);
    if (!g) return undefined;
    const shape = role === "forward"
      ? [g.batch, g.outHeight, g.outWidth, g.outChannels]
      : [...(role === "inputGrad" ? inputShape : filterShape)];
    return output(heap, run, shape, "float32", (out) => {
      const [first, second] = [operand(heap, run, a), operand(heap, run, b)];
      switch (role) {
        case "forward":
          return depthwise
            ? depthwiseConv(run, first, second, g, out)
            : conv2d(run, first, second, g, out);
        case "inputGrad":
          return depthwise
            ? depthwiseInputGrad(run, first, second, g, out)
            : conv2dInputGrad(run, first, second, g, out);
        case "filterGrad":
          return depthwise
            ? depthwiseFilterGrad(run, first, second, g, out)
            : conv2dFilterGrad(run, first, second, g, out);
      }
    });
  };
}

/**
 * The fused convolution (`depthwise` false) or depthwise convolution kernel:
 * act(conv(x, filter) + bias) in one pass, our kernels only (there is no
 * fallback to decline to).
 */
function biasActivationKernel(name: string, depthwise: boolean) {
  const activations: readonly Activation[] = depthwise
    ? ["linear", "relu", "relu6"]
    : ["linear", "relu", "leakyrelu", "relu6"];
  return ({ inputs, backend, attrs = {} }: KernelArgs): Info => {
    const heap = backend as WasmHeap, { x, filter, bias } = inputs as Record<string, Info>;
    const run = activeEngine();
    if (!run) throw new Error(`${name}: our wasm kernels are off`);
    const g = x.dtype === "float32" && filter.dtype === "float32" && bias.dtype === "float32"
      ? nativeGeometry(x.shape, filter.shape, { ...attrs, dataFormat: "NHWC" }, depthwise)
      : undefined;
    const activation = attrs.activation as Activation;
    if (!g || size(bias.shape) !== g.outChannels || !activations.includes(activation)) {
      throw new Error(
        `${name}: takes float32 x, filter ${depthwise ? "[kh, kw, C, 1] " : ""}(at most ` +
          `${MAX_FILTER_TAPS} taps), a bias per output channel and activation ` +
          `${activations.join(", ")}; got ${x.dtype} [${x.shape}], ${filter.dtype} ` +
          `[${filter.shape}], ${bias.dtype} [${bias.shape}], ${activation}`,
      );
    }
    const epilogue = {
      bias: operand(heap, run, bias),
      activation,
      alpha: (attrs.alpha as number | undefined) ?? 0,
    };
    return output(
      heap,
      run,
      [g.batch, g.outHeight, g.outWidth, g.outChannels],
      "float32",
      (out) => {
        const [xo, fo] = [operand(heap, run, x), operand(heap, run, filter)];
        return depthwise
          ? depthwiseConv(run, xo, fo, g, out, epilogue)
          : conv2d(run, xo, fo, g, out, epilogue);
      },
    );
  };
}

const NATIVE = {
  Conv2D: convolution("forward", false),
  Conv2DBackpropFilter: convolution("filterGrad", false),
  Conv2DBackpropInput: convolution("inputGrad", false),
  DepthwiseConv2dNative: convolution("forward", true),
  DepthwiseConv2dNativeBackpropInput: convolution("inputGrad", true),
  DepthwiseConv2dNativeBackpropFilter: convolution("filterGrad", true),
  CONV_BIAS_ACTIVATION: fused(biasActivationKernel(CONV_BIAS_ACTIVATION, false)),
  DEPTHWISE_BIAS_ACTIVATION: fused(biasActivationKernel(DEPTHWISE_BIAS_ACTIVATION, true)),
};

/**
 * The convolution kernels, one spec each: what `wasm_registry.ts` registers on the
 * wasm backend.
 */
export const CONVOLUTION_KERNELS: readonly WasmKernel[] = [
  {
    name: "Conv2D",
    drivers: ["conv_forward", "pack_panels"],
    inputs: ["x", "filter"],
    native: NATIVE.Conv2D,
    fallback: "tfjs",
    explicitSamePadding: "conv2d",
  },
  {
    name: "FusedConv2D",
    drivers: [],
    inputs: ["x", "filter", "bias", "preluActivationWeights"],
    fallback: "tfjs",
    explicitSamePadding: "conv2d",
  },
  {
    name: "DepthwiseConv2dNative",
    drivers: ["depthwise_forward"],
    inputs: ["x", "filter"],
    native: NATIVE.DepthwiseConv2dNative,
    fallback: "tfjs",
    explicitSamePadding: "depthwise",
  },
  {
    name: "FusedDepthwiseConv2D",
    drivers: [],
    inputs: ["x", "filter", "bias", "preluActivationWeights"],
    fallback: "tfjs",
    explicitSamePadding: "depthwise",
  },
  {
    name: "Conv2DBackpropFilter",
    drivers: ["conv_filter_grad", "pack_columns", "filter_grad_items", "transpose"],
    inputs: ["x", "dy"],
    native: NATIVE.Conv2DBackpropFilter,
    fallback: COMPOSED_KERNELS.Conv2DBackpropFilter,
  },
  {
    name: "Conv2DBackpropInput",
    drivers: ["conv_input_grad", "pack_transposed_filter", "input_grad_tiles"],
    inputs: ["dy", "filter"],
    native: NATIVE.Conv2DBackpropInput,
    fallback: COMPOSED_KERNELS.Conv2DBackpropInput,
  },
  {
    name: "DepthwiseConv2dNativeBackpropFilter",
    drivers: ["depthwise_filter_grad"],
    inputs: ["x", "dy"],
    native: NATIVE.DepthwiseConv2dNativeBackpropFilter,
    fallback: COMPOSED_KERNELS.DepthwiseConv2dNativeBackpropFilter,
  },
  {
    name: "DepthwiseConv2dNativeBackpropInput",
    drivers: ["depthwise_input_grad"],
    inputs: ["dy", "filter"],
    native: NATIVE.DepthwiseConv2dNativeBackpropInput,
    fallback: COMPOSED_KERNELS.DepthwiseConv2dNativeBackpropInput,
  },
  {
    name: CONV_BIAS_ACTIVATION,
    drivers: ["conv_forward", "pack_panels"],
    inputs: ["x", "filter", "bias"],
    native: NATIVE.CONV_BIAS_ACTIVATION,
    fallback: "none",
  },
  {
    name: DEPTHWISE_BIAS_ACTIVATION,
    drivers: ["depthwise_forward"],
    inputs: ["x", "filter", "bias"],
    native: NATIVE.DEPTHWISE_BIAS_ACTIVATION,
    fallback: "none",
  },
];
