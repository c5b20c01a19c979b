/**
 * Gradients for dilated (atrous) convolution on every backend.
 *
 * tfjs refuses to differentiate `conv2d` and `depthwiseConv2d` when a
 * dilation exceeds 1 ("dilation rates greater than 1 are not yet supported in
 * gradients"). This module replaces those two gradients: undilated cases go
 * to tfjs's own gradient unchanged; dilated ones are computed as forward
 * convolutions with the public ops (see `conv_backprop.ts`), which every
 * backend has. `installGradients` (`lib/gradients.ts`, which `useBackend`
 * calls) installs them, so `tf.conv2d(x, w, 1, "same", "NHWC", rate)` trains
 * anywhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../tf.ts";
 * import { installGradients } from "../gradients.ts";
 * installGradients();
 * const x = tf.ones([1, 8, 8, 2]), w = tf.ones([3, 3, 2, 1]);
 * const atrous = (v: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, v as tf.Tensor4D, 1, "same", "NHWC", 2));
 * const g = tf.grad(atrous)(w);
 * assert.deepEqual(g.shape, [3, 3, 2, 1]);
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  convFilterGrad,
  convGeometry,
  convInputGrad,
  type ConvPrimitives,
  depthwiseFilterGrad,
  depthwiseInputGrad,
  pair,
} from "./conv_backprop.ts";

type Tensor = tf.Tensor;
type Pad2 = [[number, number], [number, number]];
const explicit = (pad: Pad2) => [[0, 0], pad[0], pad[1], [0, 0]] as tf.backend_util.ExplicitPadding;

/** The public tfjs ops as {@linkcode ConvPrimitives}. */
export const tfPrimitives: ConvPrimitives<Tensor> = {
  transpose: (x, perm) => tf.transpose(x, perm),
  reshape: (x, shape) => tf.reshape(x, shape),
  pad: (x, paddings) => tf.pad(x, paddings),
  slice: (x, begin, size) => tf.slice(x, begin, size),
  reverse: (x, axes) => tf.reverse(x, axes),
  sum: (x, axis) => tf.sum(x, axis),
  conv2d: (x, w, strides, dilations, pad) =>
    tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, explicit(pad), "NHWC", dilations),
  depthwiseConv2d: (x, w, strides, dilations, pad) =>
    tf.depthwiseConv2d(
      x as tf.Tensor4D,
      w as tf.Tensor4D,
      strides,
      explicit(pad),
      "NHWC",
      dilations,
    ),
  free: (x) => x.dispose(),
};

let installed = false;
const dilationAware = new Set<string>();

/**
 * Declares that a backend's Conv2DBackpropFilter and Conv2DBackpropInput
 * kernels, and its DepthwiseConv2dNativeBackpropFilter and
 * DepthwiseConv2dNativeBackpropInput, take a `dilations` attribute: dilated
 * gradients on it then run those kernels directly instead of the
 * forward-convolution formulas.
 *
 * @example
 * ```ts
 * import { markDilationAwareBackend } from "./dilated_gradients.ts";
 * markDilationAwareBackend("wasm");
 * ```
 */
export function markDilationAwareBackend(backendName: string): void {
  dilationAware.add(backendName);
}

/**
 * Installs the dilation-aware gradients of Conv2D and DepthwiseConv2dNative
 * (idempotent). `installGradients` (`lib/gradients.ts`) calls it.
 *
 * @example
 * ```ts
 * import { installDilatedGradients } from "./dilated_gradients.ts";
 * installDilatedGradients();
 * ```
 */
export function installDilatedGradients(): void {
  if (installed) return;
  installed = true;
  for (const kernelName of ["Conv2D", "DepthwiseConv2dNative"]) {
    const original = tf.getGradient(kernelName);
    if (!original) throw new Error(`tfjs has no gradient for ${kernelName} to extend`);
    const depthwise = kernelName !== "Conv2D";
    tf.registerGradient({
      kernelName,
      inputsToSave: ["x", "filter"],
      gradFunc: (dy, saved, attrs) => {
        const [dh, dw] = pair(attrs.dilations);
        if (dh === 1 && dw === 1) return original.gradFunc(dy, saved, attrs);
        if ((attrs.dataFormat ?? "NHWC") !== "NHWC") {
          throw new Error(`dilated ${kernelName} gradient: NHWC only`);
        }
        const [x, filter] = saved;
        const g = convGeometry(x.shape, filter.shape, attrs, depthwise);
        const grad = dy as Tensor;
        if (dilationAware.has(tf.getBackend())) {
          const common = { ...attrs, dilations: [dh, dw] };
          const kernel = depthwise ? "DepthwiseConv2dNativeBackprop" : "Conv2DBackprop";
          return {
            x: () =>
              tf.engine().runKernel(`${kernel}Input`, { dy: grad, filter }, {
                ...common,
                inputShape: x.shape,
              }) as Tensor,
            filter: () =>
              tf.engine().runKernel(`${kernel}Filter`, { x, dy: grad }, {
                ...common,
                filterShape: filter.shape,
              }) as Tensor,
          };
        }
        return depthwise
          ? {
            x: () => depthwiseInputGrad(tfPrimitives, grad, filter, x.shape, g),
            filter: () => depthwiseFilterGrad(tfPrimitives, x, grad, filter.shape, g),
          }
          : {
            x: () => convInputGrad(tfPrimitives, grad, filter, x.shape, g),
            filter: () => convFilterGrad(tfPrimitives, x, grad, g),
          };
      },
    });
  }
}
