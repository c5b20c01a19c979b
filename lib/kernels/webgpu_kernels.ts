/**
 * Repairs to tfjs's webgpu kernels, registered when {@linkcode useBackend}
 * starts webgpu.
 *
 * - AddN: tfjs binds every input as its own storage buffer, and WebGPU caps
 *   storage buffers per shader stage (8 by default, on every adapter here and
 *   on NVIDIA's: tfjs asks for no more). With 8 or more inputs the pipeline
 *   is invalid and the result silently reads zero: CDGA's loss over K = 8
 *   groups was 0 on webgpu. Ours adds in chunks that fit.
 *
 * @example
 * ```ts ignore
 * import { registerWebGpuKernels } from "./webgpu_kernels.ts";
 * registerWebGpuKernels();
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";

type Info = tf.TensorInfo;

interface WebGpuBackend {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object, force?: boolean): boolean;
}

let original: tf.KernelFunc | undefined;

const chunkedAddN: tf.KernelFunc = (args) => {
  const backend = args.backend as WebGpuBackend;
  const addN = original!;
  // One binding is the output's.
  const most = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
  let terms = Object.values(args.inputs) as Info[];
  const made: Info[] = [];
  while (terms.length > most) {
    const next: Info[] = [];
    for (let i = 0; i < terms.length; i += most) {
      const chunk = terms.slice(i, i + most);
      if (chunk.length === 1) {
        next.push(chunk[0]);
        continue;
      }
      const sum = addN(
        { ...args, inputs: chunk as unknown as tf.NamedTensorInfoMap } as never,
      ) as Info;
      made.push(sum);
      next.push(sum);
    }
    terms = next;
  }
  const out = addN({ ...args, inputs: terms as unknown as tf.NamedTensorInfoMap } as never) as Info;
  for (const t of made) backend.disposeData(t.dataId);
  return out;
};

/**
 * Registers the repaired webgpu kernels (idempotent).
 *
 * @example
 * ```ts ignore
 * import { registerWebGpuKernels } from "./webgpu_kernels.ts";
 * registerWebGpuKernels();
 * ```
 */
export function registerWebGpuKernels(): void {
  const current = tf.getKernel("AddN", "webgpu");
  if (!current) throw new Error("webgpu backend: kernel AddN is not registered");
  if (current.kernelFunc === chunkedAddN) return;
  original = current.kernelFunc;
  tf.unregisterKernel("AddN", "webgpu");
  tf.registerKernel({ ...current, kernelFunc: chunkedAddN });
}
