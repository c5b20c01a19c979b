/**
 * Choosing and starting a tfjs backend, with the kernels this library adds.
 *
 * - `wasm`: XNNPACK in WebAssembly with SIMD and a thread pool (tfjs's
 *   threaded build, which tfjs never starts in Deno on its own: see
 *   `threaded_wasm/threads.ts`); the fastest CPU backend here once our gradient kernels
 *   are registered (tfjs ships it without the convolution gradients). Needs
 *   read permission on tfjs's `.wasm` files (in Deno's npm cache, or
 *   node_modules: `--allow-read=<that folder>` is enough).
 * - `webgpu`: tfjs-backend-webgpu on Deno's `navigator.gpu`.
 * - `cpu`: plain JavaScript; the reference the others are tested against.
 * - `auto`: webgpu when a hardware GPU adapter exists, else wasm. A software
 *   adapter (Mesa's llvmpipe or lavapipe, SwiftShader) is never chosen
 *   automatically: it is slower than wasm.
 *
 * A backend that cannot start is an error that says why; nothing switches
 * silently to another backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { useBackend } from "../mod.ts";
 * const info = await useBackend("wasm");
 * assert.deepEqual(info.name, "wasm");
 * ```
 *
 * @module
 */
import { tf } from "./tf.ts";
import { installGradients } from "./gradients.ts";
import { registerWasmKernels, useOurKernels } from "./kernels/wasm_registry.ts";
import {
  checkWasmThreads,
  startThreadedWasm,
  threadedWasmMemory,
} from "./threaded_wasm/threads.ts";
import { nativeKernelsSupported } from "./kernels/native/engine.ts";
import { activeEngine } from "./kernels/native_adapters.ts";
import { registerWebGpuKernels } from "./kernels/webgpu_kernels.ts";

/** A backend a user can ask for. */
export type BackendChoice = "auto" | "webgpu" | "wasm" | "cpu";

/**
 * The backends {@linkcode useBackend} can start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BACKEND_CHOICES } from "../mod.ts";
 * assert.deepEqual(BACKEND_CHOICES, ["auto", "webgpu", "wasm", "cpu"]);
 * ```
 */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "webgpu", "wasm", "cpu"];

/** What {@linkcode useBackend} started. */
export interface BackendInfo {
  /** The tfjs backend now active. */
  readonly name: "webgpu" | "wasm" | "cpu";
  /** Human-readable detail: the GPU adapter, or the wasm build. */
  readonly detail: string;
}

/** What {@linkcode probeWebGpu} found. */
export interface WebGpuProbe {
  /** An adapter exists. */
  readonly available: boolean;
  /** The adapter is a software rasteriser (or the API marks it a fallback). */
  readonly software: boolean;
  /** The adapter's description, or why there is none. */
  readonly description: string;
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|software|basic render/i;

/**
 * Looks for a WebGPU adapter without starting a backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeWebGpu } from "../mod.ts";
 * const probe = await probeWebGpu();
 * // Where there is no adapter, `description` says why; a software one is marked.
 * assert.equal(typeof probe.available, "boolean");
 * assert.ok(probe.description.length > 0);
 * assert.ok(probe.available || !probe.software);
 * ```
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) {
    return { available: false, software: false, description: "navigator.gpu is not defined" };
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (error) {
    return {
      available: false,
      software: false,
      description: `requestAdapter failed: ${(error as Error).message}`,
    };
  }
  if (!adapter) {
    return { available: false, software: false, description: "no WebGPU adapter found" };
  }
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.device, info.description]
    .filter((s) => s && s !== "0").join(" ") || "unnamed adapter";
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return {
    available: true,
    software: fallback || SOFTWARE_ADAPTER.test(description),
    description,
  };
}

/** How {@linkcode useBackend} starts a backend. */
export interface BackendOptions {
  /**
   * Threads for the wasm backend (1–8): those of our kernels, or of
   * XNNPACK's pool when they are off. Default: the machine's logical
   * cores, at most 8. tfjs starts the wasm backend once per process; later
   * calls keep its first thread count.
   */
  readonly threads?: number;
  /**
   * The wasm backend's convolutions, their gradients and its slowest
   * elementwise kernels on our kernels (fused multiply-add convolutions on
   * their own thread pool; `kernels/families/`), with tfjs's
   * single-threaded build for the rest. False: tfjs's kernels, XNNPACK's
   * convolutions on its thread pool, gradients built from them. Default true.
   */
  readonly nativeKernels?: boolean;
  /**
   * Where a browser fetches tfjs's `.wasm` files from: a URL prefix ending
   * in `/` (`tfjs-backend-wasm`'s `setWasmPaths`). Default: tfjs's own
   * resolution, beside its script. Deno reads them from the npm cache or
   * node_modules and ignores this.
   */
  readonly wasmFiles?: string;
}

// Deno, or a browser (or a browser's worker): what differs is how tfjs's
// threaded build starts and where a missing permission can be named.
const IN_DENO = "Deno" in globalThis;

/**
 * The wasm thread count used when none is asked for: logical cores, at most 8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultWasmThreads } from "../mod.ts";
 * assert.deepEqual(defaultWasmThreads() >= 1, true);
 * ```
 */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));
}

let wasmThreads = 0;

/**
 * Starts our kernels on `threads` threads, in tfjs's heap where it is shared
 * memory; returns why they could not start (tfjs's own kernels then run), or undefined. */
function startOurKernels(threads: number): string | undefined {
  const wasm = (tf.backend() as unknown as { wasm: EmscriptenHeap }).wasm;
  // Under Deno the heap is caught as tfjs hands it to its threads; a browser's
  // build exposes it.
  const exposed = wasm.wasmMemory?.buffer instanceof SharedArrayBuffer
    ? wasm.wasmMemory
    : undefined;
  const memory = threadedWasmMemory() ?? exposed;
  const heap = memory && {
    memory,
    malloc: (bytes: number) => wasm._malloc(bytes),
    free: (at: number) => wasm._free(at),
  };
  try {
    useOurKernels(threads, heap);
    return undefined;
  } catch (error) {
    useOurKernels(0);
    return (error as Error).message ?? String(error);
  }
}

/**
 * Starts our kernels and, in a browser, their threads before the first job:
 * a worker there starts only once its creator's event loop turns, which a
 * kernel waiting synchronously for it would never let happen.
 */
async function startOurKernelThreads(threads: number): Promise<string | undefined> {
  const failure = startOurKernels(threads);
  if (failure !== undefined || IN_DENO) return failure;
  try {
    await activeEngine()?.startThreads();
    return undefined;
  } catch (error) {
    useOurKernels(0);
    return (error as Error).message ?? String(error);
  }
}

interface EmscriptenHeap {
  wasmMemory?: WebAssembly.Memory;
  _malloc(bytes: number): number;
  _free(at: number): void;
}

async function startWasm(options: BackendOptions): Promise<BackendInfo> {
  const threads = options.threads ?? defaultWasmThreads();
  checkWasmThreads(threads);
  const wasmBackend = await import("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
  if (!IN_DENO && options.wasmFiles) wasmBackend.setWasmPaths(options.wasmFiles);
  registerWasmKernels();
  const ours = options.nativeKernels !== false && nativeKernelsSupported();
  // With our kernels on their own threads, XNNPACK keeps one: its pool's
  // threads spin after every operation, taking the cores ours run on (the
  // default CDGA step ran 10–25% slower with both pools). tfjs still starts
  // its threaded build then, whose heap is shared memory: our kernels work in
  // it without copying tensors in and out.
  const xnnpackThreads = ours ? 1 : threads;
  let started = false;
  let failure = "";
  const threaded = wasmThreads === 0 && (ours || threads > 1);
  try {
    if (!threaded) {
      started = await tf.setBackend("wasm");
      if (wasmThreads === 0) wasmThreads = 1;
    } else if (!IN_DENO) {
      // A browser starts the threaded build itself where the page is
      // cross-origin isolated (shared memory), the SIMD build elsewhere.
      wasmBackend.setThreadsCount(xnnpackThreads);
      started = await tf.setBackend("wasm");
      wasmThreads = wasmBackend.getThreadsCount();
    } else {
      wasmThreads = await startThreadedWasm(xnnpackThreads);
      started = true;
    }
  } catch (error) {
    failure = (error as Error).message ?? String(error);
  }
  if (!started || tf.getBackend() !== "wasm") {
    // tfjs reads its .wasm files from Deno's npm cache (or node_modules): without read
    // permission there, say which permission is missing rather than tfjs's abort.
    const read = IN_DENO ? await Deno.permissions.query({ name: "read" }) : undefined;
    if (read && read.state !== "granted") {
      throw new Error(
        "the wasm backend could not start: it needs read permission on tfjs's .wasm files, " +
          "in Deno's npm cache (`deno info` names it: --allow-read=<npm cache>) or node_modules",
      );
    }
    throw new Error(
      `the wasm backend could not start${
        threaded ? ` (tfjs's threaded build, ${xnnpackThreads} XNNPACK thread(s))` : ""
      }: ${failure || "tfjs could not initialise it"}${
        threaded ? " (--tfjs-kernels --threads 1 starts its single-threaded build)" : ""
      }`,
    );
  }
  const ourFailure = ours ? await startOurKernelThreads(threads) : undefined;
  const native = ours && ourFailure === undefined;
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const plural = (n: number) => `${n} ${n === 1 ? "thread" : "threads"}`;
  return {
    name: "wasm",
    detail: (native ? `our kernels on ${plural(threads)}, ` : "") +
      (ourFailure ? `our kernels could not start (${ourFailure}): tfjs's kernels, ` : "") +
      `XNNPACK, ${simd ? "SIMD" : "no SIMD"}, ${plural(wasmThreads)}`,
  };
}

async function startWebGpu(probe: WebGpuProbe): Promise<BackendInfo> {
  if (!probe.available) {
    throw new Error(`the webgpu backend could not start: ${probe.description}`);
  }
  await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
  registerWebGpuKernels();
  let started = false;
  let failure = "";
  try {
    started = await tf.setBackend("webgpu");
  } catch (error) {
    failure = (error as Error).message ?? String(error);
  }
  if (!started || tf.getBackend() !== "webgpu") {
    throw new Error(
      `the webgpu backend could not start on ${probe.description}: ${
        failure || "tfjs could not initialise it"
      }`,
    );
  }
  return {
    name: "webgpu",
    detail: `${probe.description}${probe.software ? " (software)" : ""}`,
  };
}

/**
 * Starts a backend and makes it tfjs's active one. Errors name the reason a
 * backend cannot start (permission, no adapter, unknown name).
 *
 * @example
 * ```ts
 * import { useBackend } from "../mod.ts";
 * await useBackend("cpu");
 * ```
 */
export async function useBackend(
  choice: BackendChoice = "auto",
  options: BackendOptions = {},
): Promise<BackendInfo> {
  // The one place this library changes tfjs for the whole program: its gradients, and
  // production mode (no "install tfjs-node" banner from the cpu backend).
  installGradients();
  tf.enableProdMode();
  switch (choice) {
    case "cpu":
      if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend could not start");
      return { name: "cpu", detail: "plain JavaScript" };
    case "wasm":
      return await startWasm(options);
    case "webgpu":
      return await startWebGpu(await probeWebGpu());
    case "auto": {
      const probe = await probeWebGpu();
      return probe.available && !probe.software
        ? await startWebGpu(probe)
        : await startWasm(options);
    }
    default:
      throw new Error(
        `unknown backend ${JSON.stringify(choice)}: choose one of ${BACKEND_CHOICES.join(", ")}`,
      );
  }
}
