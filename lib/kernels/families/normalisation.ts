/**
 * The batch normalisation kernels: the fused batch norm (y, x̂ and 1/σ in one
 * pass) and its gradient of `fused.ts`, on our kernel module
 * (`elementwise.c`) split over the thread pool by columns. Each kernel is
 * its engine call, its adapter from tfjs's tensors and its spec in
 * {@linkcode NORMALISATION_KERNELS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NORMALISATION_KERNELS } from "./normalisation.ts";
 * assert.equal(NORMALISATION_KERNELS.length, 2);
 * ```
 *
 * @module
 */
import type { NativeKernels } from "../native/engine.ts";
import type { Operand } from "../native/workspace.ts";
import { BATCH_NORM, BATCH_NORM_GRAD } from "../fused.ts";
import type { KernelArgs, WasmHeap, WasmKernel } from "../kernel_spec.ts";
import { float32Inputs, fused, operand, outputs, size } from "../native_adapters.ts";
import type { tf } from "../../tf.ts";

type Info = tf.TensorInfo;

// ---------------------------------------------------------------- engine calls

/**
 * Batch normalisation of x [rows, cols] per column: y = x̂·γ + β, x̂ =
 * (x − μ)·r, r = 1/√(σ² + ε) (μ, σ² over the rows); writes y, x̂ and r at
 * `out` (three offsets) or into the engine's memory.
 */
export function batchNorm(
  engine: NativeKernels,
  x: Operand,
  gamma: Operand,
  beta: Operand,
  rows: number,
  cols: number,
  eps: number,
  out?: { y: number; xhat: number; rstd: number },
): { y: Float32Array; xhat: Float32Array; rstd: Float32Array } {
  return engine.space.job(() => {
    const xAt = engine.space.place(x),
      gAt = engine.space.place(gamma),
      bAt = engine.space.place(beta);
    const epsAt = engine.space.place(Float32Array.of(eps));
    const y = out?.y ?? engine.space.alloc(rows * cols),
      xhat = out?.xhat ?? engine.space.alloc(rows * cols);
    const rstd = out?.rstd ?? engine.space.alloc(cols);
    const args = [xAt, gAt, bAt, epsAt, y, xhat, rstd, rows, cols];
    engine.run("batch_norm_blocks", args, Math.ceil(cols / engine.constants.NORM_BLOCK), {
      work: 16 * rows * cols,
    });
    return {
      y: engine.space.view(y, rows * cols),
      xhat: engine.space.view(xhat, rows * cols),
      rstd: engine.space.view(rstd, cols),
    };
  });
}

/**
 * The gradient of {@linkcode batchNorm} from dy, x̂, r and γ: dγ = Σ dy·x̂,
 * dβ = Σ dy, dx = ((dy − dβ/m) − x̂·dγ/m)·r·γ (m = rows); written at `out`
 * (three offsets) or into the engine's memory.
 */
export function batchNormGrad(
  engine: NativeKernels,
  dy: Operand,
  xhat: Operand,
  rstd: Operand,
  gamma: Operand,
  rows: number,
  cols: number,
  out?: { dx: number; dgamma: number; dbeta: number },
): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  return engine.space.job(() => {
    const dyAt = engine.space.place(dy),
      xhatAt = engine.space.place(xhat),
      rAt = engine.space.place(rstd);
    const gAt = engine.space.place(gamma);
    const dx = out?.dx ?? engine.space.alloc(rows * cols),
      dgamma = out?.dgamma ?? engine.space.alloc(cols);
    const dbeta = out?.dbeta ?? engine.space.alloc(cols);
    const args = [dyAt, xhatAt, rAt, gAt, dx, dgamma, dbeta, rows, cols];
    engine.run("batch_norm_grad_blocks", args, Math.ceil(cols / engine.constants.NORM_BLOCK), {
      work: 16 * rows * cols,
    });
    return {
      dx: engine.space.view(dx, rows * cols),
      dgamma: engine.space.view(dgamma, cols),
      dbeta: engine.space.view(dbeta, cols),
    };
  });
}

// -------------------------------------------------------------------- adapters

function batchNormKernel({ inputs, backend, attrs = {} }: KernelArgs): Info[] {
  const heap = backend as WasmHeap, { x, gamma, beta } = inputs as Record<string, Info>;
  const run = float32Inputs(BATCH_NORM, [x, gamma, beta]);
  const cols = x.shape[x.shape.length - 1], rows = size(x.shape) / cols;
  return outputs(heap, run, [[...x.shape], [...x.shape], [cols]], (at) => {
    const [xo, go, bo] = [x, gamma, beta].map((t) => operand(heap, run, t));
    const out = at && { y: at[0], xhat: at[1], rstd: at[2] };
    const result = batchNorm(run, xo, go, bo, rows, cols, attrs.eps as number, out);
    return [result.y, result.xhat, result.rstd];
  });
}

function batchNormGradKernel({ inputs, backend }: KernelArgs): Info[] {
  const heap = backend as WasmHeap, { dy, xhat, rstd, gamma } = inputs as Record<string, Info>;
  const run = float32Inputs(BATCH_NORM_GRAD, [dy, xhat, rstd, gamma]);
  const cols = dy.shape[dy.shape.length - 1], rows = size(dy.shape) / cols;
  return outputs(heap, run, [[...dy.shape], [cols], [cols]], (at) => {
    const [d, h, r, g] = [dy, xhat, rstd, gamma].map((t) => operand(heap, run, t));
    const out = at && { dx: at[0], dgamma: at[1], dbeta: at[2] };
    const result = batchNormGrad(run, d, h, r, g, rows, cols, out);
    return [result.dx, result.dgamma, result.dbeta];
  });
}

const NATIVE = {
  BATCH_NORM: fused(batchNormKernel),
  BATCH_NORM_GRAD: fused(batchNormGradKernel),
};

/**
 * The batch normalisation kernels, one spec each: what `wasm_registry.ts` registers on the
 * wasm backend.
 */
export const NORMALISATION_KERNELS: readonly WasmKernel[] = [
  {
    name: BATCH_NORM,
    drivers: ["batch_norm_blocks"],
    inputs: ["x", "gamma", "beta"],
    native: NATIVE.BATCH_NORM,
    fallback: "none",
  },
  {
    name: BATCH_NORM_GRAD,
    drivers: ["batch_norm_grad_blocks"],
    inputs: ["dy", "xhat", "rstd", "gamma"],
    native: NATIVE.BATCH_NORM_GRAD,
    fallback: "none",
  },
];
