/**
 * One pthread of tfjs-backend-wasm's threaded build, run as a
 * node:worker_threads worker under Deno (see `threads.ts`).
 *
 * Emscripten's own worker script cannot run here: tfjs hands it over as a
 * blob: URL, which Deno's node:worker_threads rejects, and it then loads the
 * module's glue code from a Blob. This worker speaks the same protocol with
 * the main thread (messages "load", "run", "cancel", "processProxyingQueue"
 * in; "loaded", "callHandler" and the glue's own messages out) and takes the
 * glue from the npm package by import.
 *
 * The worker starts from a data: URL made of this source: Deno's
 * node:worker_threads takes only file: and data: URLs, and this library may
 * itself be imported from https.
 *
 * @example
 * ```ts ignore
 * import { PTHREAD_WORKER_SOURCE } from "./pthread_worker.ts";
 * const url = `data:text/javascript;base64,${btoa(PTHREAD_WORKER_SOURCE)}`;
 * ```
 *
 * @module
 */

/** The worker's JavaScript source (an ES module). */
export const PTHREAD_WORKER_SOURCE = `import { parentPort } from "node:worker_threads";
import createModule from "npm:@tensorflow/tfjs-backend-wasm@4.22.0/wasm-out/tfjs-backend-wasm-threaded-simd.js";

let module = {};
let runtimeReady = false;
const queuesBeforeReady = [];
// Messages that arrive after "load" but before the module is ready wait here
// (the main thread posts "run" right behind "load" without waiting).
let loading = false;
const beforeLoaded = [];

// The glue calls these two as globals from inside a pthread.
globalThis.postMessage = (message, transfer) => parentPort.postMessage(message, transfer);
globalThis.startWorker = (instance) => {
  module = instance;
  loading = false;
  parentPort.postMessage({ cmd: "loaded" });
  for (const data of beforeLoaded.splice(0)) handle(data);
};

function load(data) {
  module = {
    ENVIRONMENT_IS_PTHREAD: true,
    wasmModule: data.wasmModule,
    wasmMemory: data.wasmMemory,
    buffer: data.wasmMemory.buffer,
    // The module was compiled once on the main thread; only instantiate it.
    instantiateWasm(imports, receiveInstance) {
      const instance = new WebAssembly.Instance(module.wasmModule, imports);
      receiveInstance(instance);
      module.wasmModule = null;
      return instance.exports;
    },
  };
  for (const handler of data.handlers) {
    module[handler] = (...args) => parentPort.postMessage({ cmd: "callHandler", handler, args });
  }
  createModule(module);
}

function run(data) {
  module.__emscripten_thread_init(data.pthread_ptr, 0, 0, 1);
  module.establishStackSpace();
  module.PThread.receiveObjectTransfer(data);
  module.PThread.threadInitTLS();
  if (!runtimeReady) {
    for (const queue of queuesBeforeReady) module.executeNotifiedProxyingQueue(queue);
    queuesBeforeReady.length = 0;
    runtimeReady = true;
  }
  try {
    module.invokeEntryPoint(data.start_routine, data.arg);
  } catch (error) {
    // "unwind" is how Emscripten leaves a thread's entry point normally.
    if (error === "unwind") return;
    if (!(error instanceof module.ExitStatus)) throw error;
    if (!module.keepRuntimeAlive()) module.__emscripten_thread_exit(error.status);
  }
}

function handle(data) {
  if (loading && data.cmd !== "load") {
    beforeLoaded.push(data);
    return;
  }
  try {
    switch (data.cmd) {
      case "load":
        loading = true;
        load(data);
        break;
      case "run":
        run(data);
        break;
      case "cancel":
        if (module._pthread_self()) module.__emscripten_thread_exit(-1);
        break;
      case "processProxyingQueue":
        if (runtimeReady) module.executeNotifiedProxyingQueue(data.queue);
        else queuesBeforeReady.push(data.queue);
        break;
    }
  } catch (error) {
    module.__emscripten_thread_crashed?.();
    throw error;
  }
}

parentPort.on("message", handle);
`;
