/**
 * The one place where this library takes TensorFlow.js from.
 *
 * Every module of ours imports tfjs through this file, by a full `npm:`
 * specifier, so that `mod.ts` can be imported from a URL by a project that
 * has none of our import map. Importing the union package (not tfjs-core
 * alone) is what registers the gradients. Production mode is switched on so
 * that the cpu backend does not print its "install tfjs-node" banner: Deno
 * counts as Node for tfjs, yet tfjs-node cannot be installed here. The
 * gradients of dilated convolutions, which tfjs lacks, and a correct gradient
 * for half-pixel bilinear resizing, which tfjs gets wrong, are installed here
 * too (see `kernels/dilated_gradients.ts`, `kernels/resize_gradient.ts`).
 *
 * @example Using the re-exported namespace
 * ```ts
 * import { tf } from "./tf.ts";
 * const sum = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
 * console.log(sum.dataSync()[0]); // 3
 * sum.dispose();
 * ```
 *
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs@4.22.0";
import { installDilatedGradients } from "./kernels/dilated_gradients.ts";
import { installResizeGradient } from "./kernels/resize_gradient.ts";
import { installFusedGradients } from "./kernels/fused.ts";

tf.enableProdMode();
installDilatedGradients();
installResizeGradient();
installFusedGradients();

export { tf };

/** A tensor of any rank, as tfjs defines it. */
export type Tensor = tf.Tensor;
/** A rank-0 tensor. */
export type Scalar = tf.Scalar;
