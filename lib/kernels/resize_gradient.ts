/**
 * The gradient of bilinear resizing with half-pixel centres
 * (`tf.image.resizeBilinear(x, size, false, true)`, PyTorch's
 * `align_corners=False`), which tfjs computes wrongly on every backend: its
 * ResizeBilinearGrad kernels (cpu, wasm, webgpu) take no half-pixel
 * attribute and send each dy value back to the pixels that corner-based
 * sampling would have read, off by up to a source pixel, so the gradient is
 * not the transpose of the forward map. Measured on cpu, 4×4 → 8×8: the
 * gradient's entries differ from the exact ones by up to 1.6 (of values
 * around 1–4).
 *
 * Its cpu kernel also returns the shape [batch, width, height, channels]
 * (height and width swapped), an error for any non-square image.
 *
 * This module replaces ResizeBilinear's gradient with the exact transpose of
 * the forward map: on backends whose ResizeBilinearGrad kernel is ours (wasm)
 * that kernel, elsewhere two small matrix products, `dx = A_hᵀ · dy · A_w`
 * with the forward pass's interpolation matrices. `installGradients`
 * (`lib/gradients.ts`, which `useBackend` calls) installs it; tfjs's own
 * gradient gives other numbers for this example.
 *
 * @example The gradient of a half-pixel upsampling is the forward map's transpose
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../tf.ts";
 * import { installGradients } from "../gradients.ts";
 * installGradients();
 * const up = (x: tf.Tensor) => tf.image.resizeBilinear(x as tf.Tensor4D, [4, 4], false, true);
 * const g = tf.grad((x: tf.Tensor) => tf.sum(up(x)))(tf.ones([1, 2, 2, 1]));
 * assert.deepEqual(Array.from(g.dataSync()), [4, 4, 4, 4]); // every output sums to 1 over the inputs
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";

type Tensor = tf.Tensor;

let installed = false;
const halfPixelAware = new Set<string>();

/**
 * Declares whether a backend's ResizeBilinearGrad kernel is exact, half-pixel
 * centres included (then the gradient runs it directly).
 *
 * @example
 * ```ts
 * import { markHalfPixelResizeGrad } from "./resize_gradient.ts";
 * markHalfPixelResizeGrad("wasm", false);
 * ```
 */
export function markHalfPixelResizeGrad(backendName: string, aware: boolean): void {
  if (aware) halfPixelAware.add(backendName);
  else halfPixelAware.delete(backendName);
}

/** The ratio of input to output positions along one axis, as the forward kernels take it. */
export function resizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  const corners = alignCorners && outSize > 1;
  return (corners ? inSize - 1 : inSize) / (corners ? outSize - 1 : outSize);
}

/**
 * The interpolation matrix of one axis [outSize, inSize]: output o reads
 * inputs ⌊s⌋ and ⌈s⌉ (clamped) with weights 1 − frac and frac, s the source
 * position, exactly as tfjs's forward kernels sample.
 */
export function interpolationMatrix(
  outSize: number,
  inSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): Float32Array {
  const ratio = resizeRatio(inSize, outSize, alignCorners);
  const matrix = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const source = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const lo = Math.max(0, Math.floor(source));
    const hi = Math.min(inSize - 1, Math.ceil(source));
    const frac = source - lo;
    matrix[o * inSize + lo] += 1 - frac;
    matrix[o * inSize + Math.max(0, hi)] += frac;
  }
  return matrix;
}

// Both products as plain 2-D matrix products, the contracted axis brought
// in front by a transpose: tfjs's batched, broadcast matMul ran 4× slower
// on wasm for these shapes.
function matrixGradient(dy: Tensor, imageShape: number[], attrs: tf.NamedAttrMap): Tensor {
  const [n, ih, iw, c] = imageShape;
  const [, oh, ow] = dy.shape;
  const alignCorners = Boolean(attrs.alignCorners), halfPixel = Boolean(attrs.halfPixelCenters);
  const transposed = (outSize: number, inSize: number) => {
    const a = interpolationMatrix(outSize, inSize, alignCorners, halfPixel);
    return tf.transpose(tf.tensor2d(a, [outSize, inSize]));
  };
  return tf.tidy(() => {
    // rows: [ih, n·ow·c] = A_hᵀ · dy arranged [oh, n·ow·c].
    const rows = tf.matMul(
      transposed(oh, ih),
      tf.reshape(tf.transpose(dy, [1, 0, 2, 3]), [oh, n * ow * c]),
    );
    // columns: [iw, ih·n·c] = A_wᵀ · rows arranged [ow, ih·n·c].
    const byColumn = tf.transpose(tf.reshape(rows, [ih, n, ow, c]), [2, 0, 1, 3]);
    const both = tf.matMul(transposed(ow, iw), tf.reshape(byColumn, [ow, ih * n * c]));
    return tf.transpose(tf.reshape(both, [iw, ih, n, c]), [2, 1, 0, 3]);
  });
}

/**
 * Installs the corrected gradient of ResizeBilinear (idempotent).
 * `installGradients` (`lib/gradients.ts`) calls it.
 *
 * @example
 * ```ts
 * import { installResizeGradient } from "./resize_gradient.ts";
 * installResizeGradient();
 * ```
 */
export function installResizeGradient(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: "ResizeBilinear",
    inputsToSave: ["images"],
    gradFunc: (dy, saved, attrs) => {
      const [images] = saved;
      const grad = dy as Tensor;
      return {
        images: () =>
          halfPixelAware.has(tf.getBackend())
            ? tf.engine().runKernel("ResizeBilinearGrad", { dy: grad, images }, attrs) as Tensor
            : matrixGradient(grad, images.shape, attrs),
      };
    },
  });
}
