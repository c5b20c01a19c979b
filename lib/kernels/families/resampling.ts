/**
 * The resampling gradients: MaxPoolGrad (NHWC) and ResizeBilinearGrad,
 * half-pixel centres included (tfjs's ignores them), on our kernel module
 * (`elementwise.c`) split over the thread pool by images. Each kernel is its
 * engine call, its adapter from tfjs's tensors and its spec in
 * {@linkcode RESAMPLING_KERNELS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESAMPLING_KERNELS } from "./resampling.ts";
 * assert.deepEqual(RESAMPLING_KERNELS.map((k) => k.name), ["MaxPoolGrad", "ResizeBilinearGrad"]);
 * ```
 *
 * @module
 */
import type { NativeKernels, PoolGeometry } from "../native/engine.ts";
import type { Operand } from "../native/workspace.ts";
import { resizeRatio } from "../resize_gradient.ts";
import type { WasmHeap, WasmKernel } from "../kernel_spec.ts";
import { activeEngine, operand, output } from "../native_adapters.ts";
import { tf } from "../../tf.ts";

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

// ---------------------------------------------------------------- engine calls

/**
 * The gradient of max pooling x [n, h, w, c] to dy's shape: each dy value
 * to its window's first maximum; `out` and the result as for
 * `conv2d` (`convolution.ts`).
 */
export function maxPoolGrad(
  engine: NativeKernels,
  x: Operand,
  dy: Operand,
  g: PoolGeometry,
  out?: number,
): Float32Array {
  const size = g.batch * g.inHeight * g.inWidth * g.channels;
  return engine.space.job(() => {
    const xAt = engine.space.place(x),
      dyAt = engine.space.place(dy),
      dx = out ?? engine.space.alloc(size);
    const args = [
      xAt,
      dyAt,
      g.batch,
      g.inHeight,
      g.inWidth,
      g.channels,
      g.outHeight,
      g.outWidth,
      g.filterSize[0],
      g.filterSize[1],
      g.strides[0],
      g.strides[1],
      g.dilations[0],
      g.dilations[1],
      g.padBefore[0],
      g.padBefore[1],
      dx,
    ];
    engine.run("max_pool_grad_images", args, g.batch, { work: 8 * size });
    return engine.space.view(dx, size);
  });
}

/**
 * The gradient of a bilinear resize from [batch, inHeight, inWidth, c] to
 * dy's [batch, outHeight, outWidth, c], sampling as tfjs's forward kernels
 * do (`ratio` per axis, half-pixel centres or not); `out` and the result
 * as for `conv2d` (`convolution.ts`).
 */
export function resizeBilinearGrad(
  engine: NativeKernels,
  dy: Operand,
  dyShape: readonly number[],
  inHeight: number,
  inWidth: number,
  ratio: readonly [number, number],
  halfPixelCenters: boolean,
  out?: number,
): Float32Array {
  const [batch, outHeight, outWidth, channels] = dyShape;
  const size = batch * inHeight * inWidth * channels;
  return engine.space.job(() => {
    const dyAt = engine.space.place(dy), dx = out ?? engine.space.alloc(size);
    const ratios = engine.space.alloc(4);
    new Float64Array(engine.memory.buffer, ratios, 2).set(ratio);
    const args = [dyAt, batch, outHeight, outWidth, channels, inHeight, inWidth, ratios];
    engine.run("resize_bilinear_grad_images", [...args, halfPixelCenters ? 1 : 0, dx], batch, {
      work: 8 * batch * outHeight * outWidth * channels,
    });
    return engine.space.view(dx, size);
  });
}

// -------------------------------------------------------------------- adapters

/**
 * ResizeBilinearGrad on our kernels, half-pixel centres included (tfjs's
 * ignores them), or `undefined` when they are off or do not take this call.
 */
function ourResizeBilinearGrad(
  heap: WasmHeap,
  dy: Info,
  images: Info,
  attrs: Attrs,
): Info | undefined {
  const run = activeEngine();
  if (!run || dy.dtype !== "float32") return undefined;
  const [, ih, iw] = images.shape;
  const [, oh, ow] = dy.shape;
  const alignCorners = attrs.alignCorners as boolean;
  const ratio = [resizeRatio(ih, oh, alignCorners), resizeRatio(iw, ow, alignCorners)] as const;
  return output(
    heap,
    run,
    [...images.shape],
    "float32",
    (out) =>
      resizeBilinearGrad(
        run,
        operand(heap, run, dy),
        dy.shape,
        ih,
        iw,
        ratio,
        Boolean(attrs.halfPixelCenters),
        out,
      ),
  );
}

/** MaxPoolGrad on our kernels (NHWC), or `undefined` as for `convolution`. */
function ourMaxPoolGrad(
  heap: WasmHeap,
  dy: Info,
  input: Info,
  attrs: Attrs,
): Info | undefined {
  const run = activeEngine();
  if (!run || dy.dtype !== "float32" || input.dtype !== "float32") return undefined;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as "same",
    attrs.dimRoundingMode as "floor" | undefined,
  );
  const g: PoolGeometry = {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    channels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterSize: [info.effectiveFilterHeight, info.effectiveFilterWidth],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    padBefore: [info.padInfo.top, info.padInfo.left],
  };
  return output(
    heap,
    run,
    [...input.shape],
    "float32",
    (out) => maxPoolGrad(run, operand(heap, run, input), operand(heap, run, dy), g, out),
  );
}

const NATIVE = {
  MaxPoolGrad: (heap: WasmHeap, { dy, input }: Record<string, Info>, attrs: Attrs) =>
    ourMaxPoolGrad(heap, dy, input, attrs),
  ResizeBilinearGrad: (heap: WasmHeap, { dy, images }: Record<string, Info>, attrs: Attrs) =>
    ourResizeBilinearGrad(heap, dy, images, attrs),
};

/**
 * The resampling gradients, one spec each: what `wasm_registry.ts` registers on the
 * wasm backend.
 */
export const RESAMPLING_KERNELS: readonly WasmKernel[] = [
  {
    name: "MaxPoolGrad",
    drivers: ["max_pool_grad_images"],
    inputs: ["dy", "input", "output"],
    native: NATIVE.MaxPoolGrad,
    fallback: "tfjs",
  },
  {
    name: "ResizeBilinearGrad",
    drivers: ["resize_bilinear_grad_images"],
    inputs: ["dy", "images"],
    native: NATIVE.ResizeBilinearGrad,
    fallback: "tfjs",
  },
];
