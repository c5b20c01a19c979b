/**
 * The elementwise kernels: Exp, LeakyRelu, Greater and Select (vectorised;
 * tfjs's are scalar loops), and the fused relu, leaky relu and relu6
 * gradients and Adam step of `fused.ts`, on our kernel module
 * (`elementwise.c`). Each kernel is its engine call, its adapter from
 * tfjs's tensors and its spec in {@linkcode ELEMENTWISE_KERNELS}. Small
 * calls (below 4,096 values) go to tfjs's kernels, as quick there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ELEMENTWISE_KERNELS } from "./elementwise.ts";
 * assert.ok(ELEMENTWISE_KERNELS.some((k) => k.name === "Exp"));
 * ```
 *
 * @module
 */
import { EXP_CONSTANTS, type NativeKernels } from "../native/engine.ts";
import type { Operand } from "../native/workspace.ts";
import { ADAM, LEAKY_RELU_GRAD, RELU6_GRAD, RELU_GRAD } from "../fused.ts";
import type { KernelArgs, WasmHeap, WasmKernel } from "../kernel_spec.ts";
import {
  elementwiseEngine,
  float32Inputs,
  fused,
  operand,
  output,
  outputs,
  sameShape,
  size,
} from "../native_adapters.ts";
import type { tf } from "../../tf.ts";

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

// ---------------------------------------------------------------- engine calls

/** exp(x), elementwise, for `size` values; `out` and the result as for `conv2d` (`convolution.ts`). */
export function exp(
  engine: NativeKernels,
  x: Operand,
  size: number,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const xAt = engine.space.place(x), y = out ?? engine.space.alloc(size);
    engine.runElements("exp_blocks", [xAt, y, size, engine.space.place(EXP_CONSTANTS)], size);
    return engine.space.view(y, size);
  });
}

/** x where x ≥ 0, else α·x; `out` and the result as for `conv2d` (`convolution.ts`). */
export function leakyRelu(
  engine: NativeKernels,
  x: Operand,
  size: number,
  alpha: number,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const xAt = engine.space.place(x), y = out ?? engine.space.alloc(size);
    const alphaAt = engine.space.place(Float32Array.of(alpha));
    engine.runElements("leaky_relu_blocks", [xAt, y, size, alphaAt], size);
    return engine.space.view(y, size);
  });
}

/** dz = dy where 0 < y < 6, else 0 (relu6's gradient from its output y), over `size` values. */
export function relu6Grad(
  engine: NativeKernels,
  y: Operand,
  dy: Operand,
  size: number,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const yAt = engine.space.place(y),
      dyAt = engine.space.place(dy),
      dz = out ?? engine.space.alloc(size);
    engine.runElements("relu6_grad_blocks", [yAt, dyAt, dz, size], size);
    return engine.space.view(dz, size);
  });
}

/**
 * The gradient of relu (`alpha` 0; NaN where x is NaN) or leaky relu
 * (NaN not propagated), as tfjs's gradients compute them: dy where x > 0,
 * else α·dy; `out` and the result as for `conv2d` (`convolution.ts`).
 */
export function activationGrad(
  engine: NativeKernels,
  x: Operand,
  dy: Operand,
  size: number,
  alpha: number,
  nanPropagates: boolean,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const xAt = engine.space.place(x),
      dyAt = engine.space.place(dy),
      y = out ?? engine.space.alloc(size);
    const args = [
      xAt,
      dyAt,
      y,
      size,
      engine.space.place(Float32Array.of(alpha)),
      nanPropagates ? 1 : 0,
    ];
    engine.runElements("activation_grad_blocks", args, size);
    return engine.space.view(y, size);
  });
}

/**
 * a > b for `size` values of a as 0/1 bytes, b of a's size or one value
 * (`bScalar`); written at `out` or into the engine's memory.
 */
export function greater(
  engine: NativeKernels,
  a: Operand,
  b: Operand,
  size: number,
  bScalar: boolean,
  out?: number,
): Uint8Array {
  return engine.space.job(() => {
    const aAt = engine.space.place(a),
      bAt = engine.space.place(b),
      y = out ?? engine.space.alloc(size / 4);
    engine.runElements("greater_blocks", [aAt, bAt, bScalar ? 0 : 1, y, size], size);
    return new Uint8Array(engine.memory.buffer, y, size);
  });
}

/** condition ? a : b elementwise (bytes, floats, floats); `out` and the result as for `conv2d` (`convolution.ts`). */
export function select(
  engine: NativeKernels,
  condition: Operand,
  a: Operand,
  b: Operand,
  size: number,
  out?: number,
): Float32Array {
  return engine.space.job(() => {
    const cAt = engine.space.place(condition),
      aAt = engine.space.place(a),
      bAt = engine.space.place(b);
    const y = out ?? engine.space.alloc(size);
    engine.runElements("select_blocks", [cAt, aAt, bAt, y, size], size);
    return engine.space.view(y, size);
  });
}

/**
 * One Adam step over `size` values: the update (m'/c₁)/(√(v'/c₂) + ε) and
 * the new moments m' = β₁m + (1 − β₁)g, v' = β₂v + (1 − β₂)g², c₁ and c₂
 * one value each; written at `out` (three offsets) or into the engine's
 * memory.
 */
export function adam(
  engine: NativeKernels,
  g: Operand,
  m: Operand,
  v: Operand,
  c1: Operand,
  c2: Operand,
  size: number,
  betas: { b1: number; b2: number; eps: number },
  out?: { update: number; mu: number; nu: number },
): { update: Float32Array; mu: Float32Array; nu: Float32Array } {
  return engine.space.job(() => {
    const gAt = engine.space.place(g), mAt = engine.space.place(m), vAt = engine.space.place(v);
    const c1At = engine.space.place(c1), c2At = engine.space.place(c2);
    const { b1, b2, eps } = betas;
    const scalars = engine.space.place(Float32Array.of(b1, 1 - b1, b2, 1 - b2, eps));
    const update = out?.update ?? engine.space.alloc(size),
      mu = out?.mu ?? engine.space.alloc(size);
    const nu = out?.nu ?? engine.space.alloc(size);
    const args = [gAt, mAt, vAt, scalars, c1At, c2At, update, mu, nu, size];
    engine.runElements("adam_blocks", args, size);
    return {
      update: engine.space.view(update, size),
      mu: engine.space.view(mu, size),
      nu: engine.space.view(nu, size),
    };
  });
}

// -------------------------------------------------------------------- adapters

/** Exp on our kernels, or `undefined` when they are off or do not take this call. */
function ourExp(heap: WasmHeap, x: Info): Info | undefined {
  const run = elementwiseEngine(x);
  if (!run) return undefined;
  return output(
    heap,
    run,
    [...x.shape],
    "float32",
    (out) => exp(run, operand(heap, run, x), size(x.shape), out),
  );
}

/** LeakyRelu on our kernels, or `undefined` as for `ourExp`. */
function ourLeakyRelu(heap: WasmHeap, x: Info, attrs: Attrs): Info | undefined {
  const run = elementwiseEngine(x);
  if (!run) return undefined;
  const alpha = attrs.alpha as number;
  return output(
    heap,
    run,
    [...x.shape],
    "float32",
    (out) => leakyRelu(run, operand(heap, run, x), size(x.shape), alpha, out),
  );
}

/**
 * Greater on our kernels for a float32 tensor against one of its shape or a
 * scalar, or `undefined` as for `ourExp`.
 */
function ourGreater(heap: WasmHeap, a: Info, b: Info): Info | undefined {
  const run = elementwiseEngine(a);
  if (!run || b.dtype !== "float32") return undefined;
  const scalar = size(b.shape) === 1;
  if (!sameShape(a, b) && !scalar) return undefined;
  return output(
    heap,
    run,
    [...a.shape],
    "bool",
    (out) => greater(run, operand(heap, run, a), operand(heap, run, b), size(a.shape), scalar, out),
  );
}

/** Select on our kernels when all three have one shape, or `undefined` as for `ourExp`. */
function ourSelect(heap: WasmHeap, condition: Info, t: Info, e: Info): Info | undefined {
  const run = elementwiseEngine(t);
  if (!run || e.dtype !== "float32" || condition.dtype !== "bool") return undefined;
  if (!sameShape(condition, t) || !sameShape(e, t)) return undefined;
  return output(
    heap,
    run,
    [...t.shape],
    "float32",
    (out) =>
      select(
        run,
        operand(heap, run, condition),
        operand(heap, run, t),
        operand(heap, run, e),
        size(t.shape),
        out,
      ),
  );
}

function relu6GradKernel({ inputs, backend }: KernelArgs): Info {
  const heap = backend as WasmHeap, { y, dy } = inputs as Record<string, Info>;
  const run = float32Inputs(RELU6_GRAD, [y, dy]);
  return output(
    heap,
    run,
    [...y.shape],
    "float32",
    (out) => relu6Grad(run, operand(heap, run, y), operand(heap, run, dy), size(y.shape), out),
  );
}

function adamKernel({ inputs, backend, attrs = {} }: KernelArgs): Info[] {
  const heap = backend as WasmHeap;
  const { g, m, v, correction1, correction2 } = inputs as Record<string, Info>;
  const all = [g, m, v, correction1, correction2];
  const run = float32Inputs(ADAM, all);
  if (!sameShape(g, m) || !sameShape(g, v)) {
    throw new Error(
      `${ADAM}: takes float32 g, m, v of one shape and two float32 corrections; got ` +
        all.map((t) => `${t.dtype} [${t.shape}]`).join(", "),
    );
  }
  const betas = { b1: attrs.b1 as number, b2: attrs.b2 as number, eps: attrs.eps as number };
  return outputs(heap, run, [0, 1, 2].map(() => [...g.shape]), (at) => {
    const [go, mo, vo, c1, c2] = all.map((t) => operand(heap, run, t));
    const out = at && { update: at[0], mu: at[1], nu: at[2] };
    const result = adam(run, go, mo, vo, c1, c2, size(g.shape), betas, out);
    return [result.update, result.mu, result.nu];
  });
}

function activationGradKernel(
  name: string,
  nanPropagates: boolean,
): (args: KernelArgs) => Info {
  return ({ inputs, backend, attrs }) => {
    const heap = backend as WasmHeap, { x, dy } = inputs as Record<string, Info>;
    const run = float32Inputs(name, [x, dy]);
    const alpha = (attrs?.alpha as number | undefined) ?? 0;
    return output(
      heap,
      run,
      [...x.shape],
      "float32",
      (out) =>
        activationGrad(
          run,
          operand(heap, run, x),
          operand(heap, run, dy),
          size(x.shape),
          alpha,
          nanPropagates,
          out,
        ),
    );
  };
}

const NATIVE = {
  Exp: (heap: WasmHeap, { x }: Record<string, Info>) => ourExp(heap, x),
  LeakyRelu: (heap: WasmHeap, { x }: Record<string, Info>, attrs: Attrs) =>
    ourLeakyRelu(heap, x, attrs),
  Greater: (heap: WasmHeap, { a, b }: Record<string, Info>) => ourGreater(heap, a, b),
  Select: (heap: WasmHeap, { condition, t, e }: Record<string, Info>) =>
    ourSelect(heap, condition, t, e),
  RELU6_GRAD: fused(relu6GradKernel),
  RELU_GRAD: fused(activationGradKernel(RELU_GRAD, true)),
  LEAKY_RELU_GRAD: fused(activationGradKernel(LEAKY_RELU_GRAD, false)),
  ADAM: fused(adamKernel),
};

/**
 * The elementwise kernels, one spec each: what `wasm_registry.ts` registers on the
 * wasm backend.
 */
export const ELEMENTWISE_KERNELS: readonly WasmKernel[] = [
  {
    name: "Exp",
    drivers: ["exp_blocks"],
    inputs: ["x"],
    native: NATIVE.Exp,
    fallback: "tfjs",
  },
  {
    name: "LeakyRelu",
    drivers: ["leaky_relu_blocks"],
    inputs: ["x"],
    native: NATIVE.LeakyRelu,
    fallback: "tfjs",
  },
  {
    name: "Greater",
    drivers: ["greater_blocks"],
    inputs: ["a", "b"],
    native: NATIVE.Greater,
    fallback: "tfjs",
  },
  {
    name: "Select",
    drivers: ["select_blocks"],
    inputs: ["condition", "t", "e"],
    native: NATIVE.Select,
    fallback: "tfjs",
  },
  {
    name: RELU6_GRAD,
    drivers: ["relu6_grad_blocks"],
    inputs: ["y", "dy"],
    native: NATIVE.RELU6_GRAD,
    fallback: "none",
  },
  {
    name: RELU_GRAD,
    drivers: ["activation_grad_blocks"],
    inputs: ["x", "dy"],
    native: NATIVE.RELU_GRAD,
    fallback: "none",
  },
  {
    name: LEAKY_RELU_GRAD,
    drivers: ["activation_grad_blocks"],
    inputs: ["x", "dy"],
    native: NATIVE.LEAKY_RELU_GRAD,
    fallback: "none",
  },
  {
    name: ADAM,
    drivers: ["adam_blocks"],
    inputs: ["g", "m", "v", "correction1", "correction2"],
    native: NATIVE.ADAM,
    fallback: "none",
  },
];
