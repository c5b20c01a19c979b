/**
 * The one place where this library takes TensorFlow.js from.
 *
 * Every module of ours imports tfjs through this file (the backends'
 * packages, `tfjs-backend-wasm` and `tfjs-backend-webgpu`, are imported
 * where they start: `backend.ts`, `wasm/`), by a full `npm:` specifier, so that `mod.ts` can be imported from a URL by a project that
 * has none of our import map. Importing the union package (not tfjs-core
 * alone) is what registers the gradients. Importing it changes nothing of
 * tfjs: the gradients this library adds are installed by one explicit call
 * (`gradients.ts`: `useBackend` makes it, and `valueAndGrad` on first use),
 * and so is production mode (`useBackend`: it keeps the cpu backend from
 * printing its "install tfjs-node" banner, as Deno counts as Node for tfjs).
 *
 * @example Using the re-exported namespace
 * ```ts
 * import assert from "node:assert/strict";
 * import { tf } from "../mod.ts";
 * const sum = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
 * assert.deepEqual(sum.dataSync()[0], 3);
 * sum.dispose();
 * ```
 *
 * @module
 */
import * as tf from "npm:@tensorflow/tfjs@4.22.0";

export { tf };

/** A tensor of any rank, as tfjs defines it. */
export type Tensor = tf.Tensor;
/** A rank-0 tensor. */
export type Scalar = tf.Scalar;
/** A rank-3 tensor (a batch of label maps [N, H, W]). */
export type Tensor3D = tf.Tensor3D;
/** A rank-4 tensor (a batch of images or maps [N, H, W, C]). */
export type Tensor4D = tf.Tensor4D;
