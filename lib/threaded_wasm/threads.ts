/**
 * Starts tfjs's multi-threaded wasm build (XNNPACK with a pthread pool) under
 * Deno.
 *
 * tfjs never picks that build in Deno, for three reasons this module works
 * around while tfjs initialises the backend, and undoes afterwards:
 *
 * 1. tfjs reports no thread support when it believes it runs in Node; the
 *    `WASM_HAS_MULTITHREAD_SUPPORT` flag is set to true.
 * 2. Emscripten starts its pthreads with `new Worker(blobUrl)` from
 *    `node:worker_threads`, whose Deno implementation rejects `blob:` URLs.
 *    The module's `Worker` is swapped for a stand-in that starts
 *    `pthread_worker.ts`'s code (from a data: URL) instead, only once Emscripten runs a thread
 *    on it (it preallocates 8), and never keeps a finished process alive.
 * 3. tfjs's C++ caps its pool at half the logical cores
 *    (`emscripten_num_logical_cores() / 2`, assuming two hyperthreads per
 *    core): on a 2-vCPU machine, one thread. `os.cpus()`, which that count
 *    reads, reports twice the threads asked for while the module starts.
 *
 * Only XNNPACK operators (convolutions, matrix products, some elementwise
 * operators) use the pool; tfjs's own kernels stay on the calling thread.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { tf } from "../tf.ts";
 * import { startThreadedWasm } from "./threads.ts";
 * const threads = await startThreadedWasm(2);
 * assert.deepEqual([tf.getBackend(), threads], ["wasm", 2]);
 * ```
 *
 * @module
 */
import { tf } from "../tf.ts";
import { PTHREAD_WORKER_SOURCE } from "./pthread_worker.ts";

type NodeWorkerClass = typeof import("node:worker_threads").Worker;

// A data: URL: node:worker_threads in Deno takes file: and data: URLs only,
// and this module may have been imported from https.
const PTHREAD_WORKER = new URL(
  `data:text/javascript;base64,${btoa(PTHREAD_WORKER_SOURCE)}`,
);

interface PthreadPool {
  /** The class Emscripten starts its pthreads with. */
  Worker: NodeWorkerClass;
  /**
   * From now on no worker holds the process open: the main thread waits on
   * its pool synchronously, so an idle pool must not keep a finished program
   * alive. Before this (while Emscripten waits for its workers to load) they
   * must, or the event loop would count itself done with a promise pending.
   */
  release(): void;
}

type Message = { cmd?: string; urlOrBlob?: unknown; wasmMemory?: WebAssembly.Memory } | null;

// The threaded build's memory, as Emscripten hands it to its workers.
let threadedMemory: WebAssembly.Memory | undefined;

/**
 * The (shared) memory of tfjs's threaded wasm build once
 * {@linkcode startThreadedWasm} has started it; `undefined` before, or with
 * the single-threaded build.
 *
 * @example
 * ```ts ignore
 * import { threadedWasmMemory } from "./threads.ts";
 * console.log(threadedWasmMemory()?.buffer instanceof SharedArrayBuffer);
 * ```
 */
export function threadedWasmMemory(): WebAssembly.Memory | undefined {
  return threadedMemory;
}
type Transfer = Parameters<InstanceType<NodeWorkerClass>["postMessage"]>[1];
type Listener = (value: unknown) => void;

/**
 * What Emscripten gets for each of the 8 pthreads it preallocates: a worker
 * that starts a real one (an isolate of ~12 MB) only when Emscripten first
 * runs a thread on it. XNNPACK's pool of n threads runs n − 1 of them; the
 * others never start. Until then it answers Emscripten's "load" itself.
 *
 * It implements the part of node's Worker that Emscripten uses: `on`,
 * `postMessage`, `ref`, `unref`, `terminate`.
 */
function pthreadPool(NodeWorker: NodeWorkerClass): PthreadPool {
  const started: InstanceType<NodeWorkerClass>[] = [];
  let released = false;
  class LazyPthreadWorker {
    #listeners = new Map<string, Listener[]>();
    #load: Message = null;
    #real: InstanceType<NodeWorkerClass> | undefined;
    // Emscripten's own "loaded" came from us; the real worker's is swallowed.
    #answeredLoad = false;
    #hold: ReturnType<typeof setTimeout> | undefined;

    constructor(_blobUrl: string | URL) {}

    on(event: string, listener: Listener): this {
      this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
      return this;
    }

    #emit(event: string, value: unknown) {
      for (const listener of this.#listeners.get(event) ?? []) listener(value);
    }

    postMessage(message: unknown, transfer?: Transfer): void {
      const load = message as Message;
      if (load?.cmd === "load" && load.wasmMemory) threadedMemory = load.wasmMemory;
      if (load?.cmd === "load" && !this.#real) {
        // The Blob of glue code is not needed (the worker imports the glue).
        this.#load = { ...load, urlOrBlob: "" };
        // Answered on a later turn, as a real worker would; the timer keeps
        // the event loop alive meanwhile.
        this.#hold = setTimeout(() => {
          this.#answeredLoad = true;
          this.#emit("message", { cmd: "loaded" });
        }, 0);
        return;
      }
      this.#start().postMessage(message, transfer);
    }

    #start(): InstanceType<NodeWorkerClass> {
      if (this.#real) return this.#real;
      const real = new NodeWorker(PTHREAD_WORKER);
      started.push(real);
      if (released) real.unref();
      real.on("message", (data: Message) => {
        if (data?.cmd === "loaded" && this.#answeredLoad) return;
        this.#emit("message", data);
      });
      real.on("error", (error: unknown) => this.#emit("error", error));
      // The worker handles messages in order and buffers any that arrive
      // before its module is ready: no need to wait for it here (the main
      // thread may be blocked in pthread_create, its event loop stopped).
      if (this.#load) real.postMessage(this.#load);
      this.#real = real;
      return real;
    }

    ref(): void {
      if (!released) this.#real?.ref();
    }

    unref(): void {
      this.#real?.unref();
    }

    terminate(): Promise<number> {
      clearTimeout(this.#hold);
      return this.#real ? this.#real.terminate() : Promise.resolve(0);
    }
  }
  return {
    Worker: LazyPthreadWorker as unknown as NodeWorkerClass,
    release() {
      released = true;
      for (const worker of started) worker.unref();
    },
  };
}

/**
 * Throws unless `threads` is a pool size tfjs's build supports (1–8: its
 * C++ caps the pool at the 8 workers Emscripten preallocates).
 *
 * @example
 * ```ts ignore
 * import { checkWasmThreads } from "./threads.ts";
 * checkWasmThreads(2);
 * ```
 */
export function checkWasmThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > 8) {
    throw new Error(`wasm threads must be an integer from 1 to 8, got ${threads}`);
  }
}

/**
 * Makes `wasm` tfjs's backend with a pool of `threads` threads and returns the
 * number XNNPACK reports. Must run before anything else starts the wasm
 * backend (tfjs initialises it once per process).
 *
 * @example
 * ```ts ignore
 * import { startThreadedWasm } from "./threads.ts";
 * await startThreadedWasm(navigator.hardwareConcurrency);
 * ```
 */
export async function startThreadedWasm(threads: number): Promise<number> {
  checkWasmThreads(threads);
  // Imported here, not at the top: a browser has neither, and tfjs starts
  // its threaded build there on its own (`lib/backend.ts`).
  const { default: workerThreads } = await import("node:worker_threads");
  const { default: os } = await import("node:os");
  const wasm = await import("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasm.setThreadsCount(threads);
  const mutableThreads = workerThreads as { Worker: NodeWorkerClass };
  const mutableOs = os as { cpus: typeof os.cpus };
  const NodeWorker = mutableThreads.Worker;
  const cpus = mutableOs.cpus;
  // The glue assigns node's Worker to the global `Worker`, Deno's web Worker.
  const webWorker = globalThis.Worker;
  const pool = pthreadPool(NodeWorker);
  mutableThreads.Worker = pool.Worker;
  // Only the length is read; the real list would need --allow-sys.
  const cpu = { model: "", speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } };
  mutableOs.cpus = () => Array.from({ length: 2 * threads }, () => cpu);
  try {
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs could not initialise it");
  } finally {
    pool.release();
    mutableThreads.Worker = NodeWorker;
    mutableOs.cpus = cpus;
    globalThis.Worker = webWorker;
  }
  return wasm.getThreadsCount();
}
