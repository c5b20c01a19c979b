/**
 * Fused kernels: their names, and the gradients of tfjs's Softmax, Relu and
 * LeakyRelu rebuilt on them.
 *
 * tfjs computes softmax's gradient as four kernels (Multiply, Sum, Multiply,
 * Sub), each a full pass over memory, a log-softmax cross-entropy as eight,
 * relu's gradient as three (Step, Cast, Multiply) and leaky relu's as three
 * (Greater, Multiply, Select). A backend that registers the kernels named
 * here (wasm, while our kernels are on: `wasm_registry.ts`) does each in one
 * pass; elsewhere the gradients are tfjs's formulas, unchanged. The
 * gradients are installed by `installGradients` (`lib/gradients.ts`), which
 * `useBackend` calls; importing this file installs nothing.
 *
 * @example Softmax's gradient: zero for a constant upstream gradient
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../tf.ts";
 * const g = tf.grad((z: tf.Tensor) => tf.sum(tf.softmax(z)))(tf.tensor2d([[1, 2, 3]]));
 * assert.deepEqual(Math.max(...Array.from(g.dataSync(), Math.abs)) < 1e-7, true);
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";

/**
 * Kernel: x [N, H, W, Cᵢ], filter [kh, kw, Cᵢ, Cₒ] (at most
 * {@linkcode CONV_BIAS_ACTIVATION_MAX_TAPS} taps), bias [Cₒ]; attributes
 * strides, pad, dilations (as Conv2D's), activation ("linear", "relu",
 * "leakyrelu" or "relu6") and alpha (≥ 0) → act(conv2d(x, filter) + bias), NHWC, in one
 * pass over the output. Its gradient is installed with the others.
 */
export const CONV_BIAS_ACTIVATION = "UdaConv2DBiasActivation";

/**
 * Kernel: g, m, v (one shape, float32), correction1, correction2 (one value
 * each); attributes b1, b2, eps → [update, m′, v′]: one Adam step, m′ =
 * b1·m + (1 − b1)·g, v′ = b2·v + (1 − b2)·g², update = (m′/c₁) / (√(v′/c₂)
 * + eps), each as tfjs's kernels compute it in float32.
 */
export const ADAM = "UdaAdam";

/**
 * Kernel: x [.., C], gamma [C], beta [C]; attribute eps → [y, x̂, r]: batch
 * normalisation over every axis but the last, y = x̂·γ + β, x̂ = (x − μ)·r,
 * r [C] = 1/√(σ² + eps), in the order and precision of the composed kernels
 * of `model/layers.ts` (double-precision sums).
 */
export const BATCH_NORM = "UdaBatchNorm";

/**
 * Kernel: dy, x̂ (x's shape), r [C], gamma [C] → [dx, dγ, dβ]: the gradient
 * of {@linkcode BATCH_NORM}, dγ = Σ dy·x̂, dβ = Σ dy, dx = ((dy − dβ/m) −
 * x̂·dγ/m)·r·γ with m the normalised count.
 */
export const BATCH_NORM_GRAD = "UdaBatchNormGrad";

/**
 * Kernel: x [N, H, W, C], filter [kh, kw, C, 1] (at most
 * {@linkcode CONV_BIAS_ACTIVATION_MAX_TAPS} taps), bias [C]; attributes
 * strides, pad, dilations (as DepthwiseConv2dNative's) and activation
 * ("linear", "relu" or "relu6") → act(depthwiseConv2d(x, filter) + bias),
 * NHWC, in one pass over the output. Its gradient is installed with the
 * others.
 */
export const DEPTHWISE_BIAS_ACTIVATION = "UdaDepthwiseBiasActivation";

/** Kernel: y, dy (same shape) → dy where 0 < y < 6, else 0 (NaN where y is NaN): relu6's gradient from its output. */
export const RELU6_GRAD = "UdaRelu6Grad";

/** Filter taps {@linkcode CONV_BIAS_ACTIVATION} takes at most. */
export const CONV_BIAS_ACTIVATION_MAX_TAPS = 64;

/** Kernel: x, dy (same shape) → dy where x > 0, else 0 (NaN where x is NaN): relu's gradient. */
export const RELU_GRAD = "UdaReluGrad";

/** Kernel: x, dy (same shape), attribute alpha → dy where x > 0, else α·dy: leaky relu's gradient. */
export const LEAKY_RELU_GRAD = "UdaLeakyReluGrad";

/** Kernel: p, dp (same shape) → p ⊙ (dp − Σ_last(p ⊙ dp)), softmax's gradient from its output. */
export const SOFTMAX_GRAD = "UdaSoftmaxGrad";

/**
 * Kernel: logits [.., C] and int32 ids [..] → [loss [..], stats [.., 2]]:
 * stats = (m, ln Σ_c exp(logits_c − m)) with m the row's maximum, loss =
 * m + ln Σ − logits[id], 0 where the id is outside [0, C).
 */
export const SPARSE_SOFTMAX_CROSS_ENTROPY = "UdaSparseSoftmaxCrossEntropy";

/**
 * Kernel: logits, ids, stats, dloss → dlogits = dloss · (softmax(logits) −
 * onehot(id)) where the id is in [0, C), else 0.
 */
export const SPARSE_SOFTMAX_CROSS_ENTROPY_GRAD = "UdaSparseSoftmaxCrossEntropyGrad";

/**
 * Whether the active backend has the fused kernel `name` registered now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasFusedKernel, SOFTMAX_GRAD } from "./fused.ts";
 * assert.deepEqual(typeof hasFusedKernel(SOFTMAX_GRAD), "boolean");
 * ```
 */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** The attributes a kernel is run with. */
export type KernelAttributes = Record<
  string,
  number | string | boolean | readonly number[] | readonly (readonly number[])[]
>;

// tfjs types a kernel's inputs and outputs as TensorInfo and its attributes as
// its own union; every kernel we run by name takes and returns tensors.
function run(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: KernelAttributes,
): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(
    name,
    inputs as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor | tf.Tensor[];
}

/**
 * Runs a kernel of one output by name on the current backend, recorded for
 * differentiation like any op (its gradient is the one registered for it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../tf.ts";
 * import { runKernel } from "./fused.ts";
 * const y = runKernel("Relu", { x: tf.tensor1d([-1, 2]) });
 * assert.deepEqual(Array.from(y.dataSync()), [0, 2]);
 * ```
 */
export function runKernel(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: KernelAttributes = {},
): tf.Tensor {
  const out = run(name, inputs, attrs);
  if (Array.isArray(out)) throw new Error(`kernel ${name}: ${out.length} outputs, not one`);
  return out;
}

/**
 * Runs a kernel of several outputs by name on the current backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../tf.ts";
 * import { runKernelOutputs } from "./fused.ts";
 * const [a, b] = runKernelOutputs("SplitV", { x: tf.tensor1d([1, 2, 3]) }, { numOrSizeSplits: [1, 2], axis: 0 });
 * assert.deepEqual([a.shape, b.shape], [[1], [2]]);
 * ```
 */
export function runKernelOutputs(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: KernelAttributes = {},
): tf.Tensor[] {
  const out = run(name, inputs, attrs);
  return Array.isArray(out) ? out : [out];
}

let installed = false;

/**
 * The gradient of a fused convolution kernel (act(conv(x, filter) + bias)),
 * whose convolution's gradient kernels are `${backprop}Input` and
 * `${backprop}Filter`: each computed only when asked for.
 */
function biasActivationGradient(
  kernelName: string,
  backprop: "Conv2DBackprop" | "DepthwiseConv2dNativeBackprop",
): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ["x", "filter", "bias"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, bias, y] = saved;
      const dz = activationGradFromOutput(attrs, y, dy as tf.Tensor);
      const conv = {
        strides: attrs.strides,
        pad: attrs.pad,
        dilations: attrs.dilations,
        dataFormat: "NHWC",
      } as KernelAttributes;
      return {
        x: () =>
          runKernel(`${backprop}Input`, { dy: dz, filter }, { ...conv, inputShape: x.shape }),
        filter: () =>
          runKernel(`${backprop}Filter`, { x, dy: dz }, { ...conv, filterShape: filter.shape }),
        bias: () => tf.reshape(tf.sum(dz, [0, 1, 2]), bias.shape),
      };
    },
  };
}

/**
 * The gradient through a fused kernel's activation, from its output y: y > 0
 * exactly where the pre-activation is > 0 (α ≥ 0), and 0 < y < 6 where relu6
 * passes it on (a pre-activation of exactly 6 counts as saturated).
 */
function activationGradFromOutput(attrs: tf.NamedAttrMap, y: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const activation = attrs.activation as string;
  if (activation === "linear") return dy;
  if (activation === "relu6") return tf.engine().runKernel(RELU6_GRAD, { y, dy }, {}) as tf.Tensor;
  return tf.engine().runKernel(
    activation === "relu" ? RELU_GRAD : LEAKY_RELU_GRAD,
    { x: y, dy },
    { alpha: activation === "relu" ? 0 : attrs.alpha },
  ) as tf.Tensor;
}

/**
 * Replaces the gradients of Softmax, Relu and LeakyRelu with ones that run
 * {@linkcode SOFTMAX_GRAD}, {@linkcode RELU_GRAD} and
 * {@linkcode LEAKY_RELU_GRAD} where the backend has them (idempotent).
 * `installGradients` (`lib/gradients.ts`) calls it.
 *
 * @example
 * ```ts
 * import { installFusedGradients } from "./fused.ts";
 * installFusedGradients();
 * ```
 */
export function installFusedGradients(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: "Softmax",
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [p] = saved;
      const dp = dy as tf.Tensor;
      return {
        logits: () => {
          if (hasFusedKernel(SOFTMAX_GRAD)) {
            return tf.engine().runKernel(SOFTMAX_GRAD, { p, dp }, {}) as tf.Tensor;
          }
          // tfjs's own formula.
          const dpTimesP = tf.mul(dp, p);
          const dim = attrs.dim as number;
          return tf.sub(dpTimesP, tf.mul(tf.sum(dpTimesP, [dim], true), p));
        },
      };
    },
  });
  tf.registerGradient(biasActivationGradient(CONV_BIAS_ACTIVATION, "Conv2DBackprop"));
  tf.registerGradient(
    biasActivationGradient(DEPTHWISE_BIAS_ACTIVATION, "DepthwiseConv2dNativeBackprop"),
  );
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const grad = dy as tf.Tensor;
      return {
        x: () =>
          hasFusedKernel(RELU_GRAD) && x.dtype === "float32"
            ? tf.engine().runKernel(RELU_GRAD, { x, dy: grad }, {}) as tf.Tensor
            : tf.mul(grad, tf.cast(tf.step(x), "float32")),
      };
    },
  });
  tf.registerGradient({
    kernelName: "LeakyRelu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const grad = dy as tf.Tensor, alpha = attrs.alpha as number;
      return {
        x: () =>
          hasFusedKernel(LEAKY_RELU_GRAD) && x.dtype === "float32"
            ? tf.engine().runKernel(LEAKY_RELU_GRAD, { x, dy: grad }, { alpha }) as tf.Tensor
            : tf.where(tf.greater(x, 0), grad, tf.mul(grad, alpha)),
      };
    },
  });
}
