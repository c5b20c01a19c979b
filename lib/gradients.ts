/**
 * The gradients this library adds to TensorFlow.js, installed by one
 * explicit call, never on import: dilated convolutions (tfjs has none),
 * half-pixel bilinear resizing (tfjs's is wrong for it) and the softmax,
 * relu and leaky-relu gradients routed to our fused kernels where the
 * backend has them. `useBackend` calls it, and so does `valueAndGrad` on its
 * first use: a program that imports this library and trains nothing keeps
 * tfjs exactly as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gradientsInstalled, installGradients } from "./gradients.ts";
 * installGradients();
 * assert.deepEqual(gradientsInstalled(), true);
 * ```
 *
 * @module
 */
import { installDilatedGradients } from "./kernels/dilated_gradients.ts";
import { installResizeGradient } from "./kernels/resize_gradient.ts";
import { installFusedGradients } from "./kernels/fused.ts";

let installed = false;

/**
 * Installs the library's gradients into tfjs (idempotent).
 *
 * @example
 * ```ts
 * import { installGradients } from "./gradients.ts";
 * installGradients();
 * installGradients(); // a second call does nothing
 * ```
 */
export function installGradients(): void {
  if (installed) return;
  installDilatedGradients();
  installResizeGradient();
  installFusedGradients();
  installed = true;
}

/**
 * Whether {@linkcode installGradients} has run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gradientsInstalled } from "./gradients.ts";
 * assert.equal(typeof gradientsInstalled(), "boolean");
 * ```
 */
export function gradientsInstalled(): boolean {
  return installed;
}
