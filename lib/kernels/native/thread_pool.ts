/**
 * The kernels' thread pool: workers (`node:worker_threads` under Deno, Web
 * Workers in a browser), each with its own
 * instance of the kernel module and its own stack in the one shared memory,
 * woken through a block of control words. The calling thread takes its
 * share of every job and waits for the others (polling briefly, then with
 * `Atomics.wait`), so a kernel call stays synchronous, as tfjs's kernels
 * must be.
 *
 * @example Two threads summing nothing (a job below the threading threshold runs on the caller)
 * ```ts
 * import assert from "node:assert/strict";
 * import { ThreadPool } from "./thread_pool.ts";
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
 * const pool = new ThreadPool(2, memory, 0);
 * const seen: number[][] = [];
 * pool.run("exp_blocks", (...args) => (seen.push(args), 0), [7], 4, { work: 10 });
 * assert.deepEqual([seen, pool.sharedJobs], [[[7, 0, 0, 4]], 0]);
 * ```
 *
 * @module
 */
import { driverIndex, kernelModule } from "./kernel_module.ts";

/** Bytes of each thread's stack. */
export const STACK = 65536;

/** The most threads a pool runs, the calling thread included. */
export const MAX_THREADS = 8;

// Control words shared with the workers.
const SEQ = 0,
  DONE = 1,
  FN = 2,
  SHARERS = 3,
  ITEMS = 4,
  NARGS = 5,
  SCRATCH = 6,
  SCRATCH_STRIDE = 7,
  FAILED = 8,
  // Items per chunk when threads take chunks as they go (0: fixed shares),
  // and the next chunk to take.
  CHUNK = 9,
  NEXT = 10,
  ARGS = 11;

// Polls of a control word before a thread sleeps on it with Atomics.wait:
// about 0.2 ms here. Waking a sleeping thread takes tens of microseconds
// more under load, and a step runs ~50 threaded jobs with short gaps (its
// single-threaded kernels) between them: polling made the reference step
// 7–20% faster in ten alternating runs against sleeping at once.
const SPINS = 25_000;

// The loop every kernel thread runs on the data it is given; the two hosts
// below differ only in how that data arrives.
const SERVE = `
function serve({ module, memory, control, id, stackTop, names }) {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  instance.exports.__stack_pointer.value = stackTop;
  const fns = names.map((name) => instance.exports[name]);
  const ctrl = new Int32Array(control);
  let seen = 0;
  for (;;) {
    for (let spin = 0; spin < ${SPINS} && Atomics.load(ctrl, ${SEQ}) === seen; spin++);
    Atomics.wait(ctrl, ${SEQ}, seen);
    seen = Atomics.load(ctrl, ${SEQ});
    try {
      const sharers = ctrl[${SHARERS}], items = ctrl[${ITEMS}], chunk = ctrl[${CHUNK}];
      const fn = fns[ctrl[${FN}]], scratch = ctrl[${SCRATCH}] + id * ctrl[${SCRATCH_STRIDE}];
      const args = Array.from(ctrl.subarray(${ARGS}, ${ARGS} + ctrl[${NARGS}]));
      if (chunk > 0) {
        for (let at; (at = Atomics.add(ctrl, ${NEXT}, 1) * chunk) < items;) {
          fn(...args, scratch, at, Math.min(items, at + chunk));
        }
      } else if (id < sharers) {
        const begin = Math.floor((id * items) / sharers), end = Math.floor(((id + 1) * items) / sharers);
        if (begin < end) fn(...args, scratch, begin, end);
      }
    } catch {
      Atomics.store(ctrl, ${FAILED}, 1);
    }
    Atomics.add(ctrl, ${DONE}, 1);
    Atomics.notify(ctrl, ${DONE});
  }
}
`;

// Under Deno: a node:worker_threads worker, which can be unref'd (an idle
// pool must not keep a finished program alive; Deno's web workers cannot
// be). node:worker_threads in Deno takes file: and data: URLs only, and this
// module may have been imported over https.
const NODE_WORKER_URL = new URL(
  `data:text/javascript;base64,${
    btoa(`import { workerData, parentPort } from "node:worker_threads";
${SERVE}
parentPort.postMessage("ready");
serve(workerData);`)
  }`,
);

// In a browser: a module Web Worker from a blob: URL, its data by message.
const WEB_WORKER_SOURCE = `${SERVE}
self.onmessage = ({ data }) => {
  self.onmessage = null;
  self.postMessage("ready");
  serve(data);
};`;

// Loaded only under Deno: a browser has no node:worker_threads, and the
// specifier must not reach a bundle's static imports.
const nodeWorkers: typeof import("node:worker_threads") | undefined = "Deno" in globalThis
  ? await import("node:worker_threads")
  : undefined;

/** What a kernel thread is started with. */
interface ThreadData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  id: number;
  stackTop: number;
  names: string[];
}

/** A started kernel thread: settles once it has instantiated the module and waits for jobs. */
type KernelThread = Promise<void>;

function startKernelThread(data: ThreadData): KernelThread {
  if (nodeWorkers) {
    const worker = new nodeWorkers.Worker(NODE_WORKER_URL, { workerData: data });
    // Held until it reports ready (so that awaiting that keeps the program
    // alive), then released: an idle pool must not keep a finished program alive.
    return new Promise((resolve, reject) => {
      worker.once("message", () => (worker.unref(), resolve()));
      worker.once("error", (error) => (worker.unref(), reject(error)));
    });
  }
  if (typeof Worker !== "function") {
    throw new Error("kernel threads need node:worker_threads (Deno) or Web Workers (a browser)");
  }
  const url = URL.createObjectURL(new Blob([WEB_WORKER_SOURCE], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  URL.revokeObjectURL(url);
  worker.postMessage(data);
  return new Promise((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`a kernel thread could not start: ${event.message}`));
    };
  });
}

// Chunks per thread when threads take work as they go.
const CHUNKS_PER_THREAD = 8;

/**
 * Below this many multiply-adds (a job's `work`) a job runs on the calling
 * thread alone: waking a worker costs tens of microseconds.
 */
export const THREADED_WORK = 1 << 21;

/** How a job is split: its cost, its per-thread scratch, and whether threads keep fixed shares. */
export interface JobOptions {
  /** The job's cost in multiply-adds (against {@linkcode THREADED_WORK}). */
  work: number;
  /** Byte offset of thread 0's scratch (0: none). */
  scratch?: number;
  /** Bytes between two threads' scratch. */
  stride?: number;
  /**
   * Fixed shares of the items, one per thread, in order (a driver whose
   * threads each reuse their input blocks over all their items); otherwise
   * threads take chunks as they finish the last, so that a core slowed by
   * another program gets less.
   */
  fixedShares?: boolean;
}

/**
 * Throws unless `threads` is a pool's size: an integer from 1 to {@linkcode MAX_THREADS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkThreads } from "./thread_pool.ts";
 * assert.throws(() => checkThreads(9), /kernel threads must be an integer 1–8, got 9/);
 * ```
 */
export function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new Error(`kernel threads must be an integer 1–${MAX_THREADS}, got ${threads}`);
  }
}

/** A pool of threads over one shared memory (see the module doc). */
export class ThreadPool {
  /** Threads a job is split over, the calling thread included. */
  readonly threads: number;
  readonly #memory: WebAssembly.Memory;
  readonly #control = new Int32Array(new SharedArrayBuffer(4 * 32));
  // Thread i's stack is [stacks + i·STACK, + STACK); thread 0's is the caller's.
  readonly #stacks: number;
  #workers: KernelThread[] = [];
  #sharedJobs = 0;

  /**
   * A pool of `threads` threads (1–8) over `memory`, their stacks from byte
   * `stacks` on. Starts nothing yet: workers start on the first job that
   * needs them.
   */
  constructor(threads: number, memory: WebAssembly.Memory, stacks: number) {
    checkThreads(threads);
    this.threads = threads;
    this.#memory = memory;
    this.#stacks = stacks;
  }

  /** Jobs split over more than one thread so far. */
  get sharedJobs(): number {
    return this.#sharedJobs;
  }

  /**
   * Runs `driver` over `items` work items: `onCaller` is the calling
   * thread's instance of it, called as the workers call theirs, with
   * `args`, the thread's scratch, and a range [begin, end) of items.
   */
  run(
    driver: string,
    onCaller: (...args: number[]) => number,
    args: number[],
    items: number,
    options: JobOptions,
  ): void {
    const { scratch = 0, stride = 0 } = options;
    const index = driverIndex().get(driver);
    if (index === undefined) throw new Error(`the kernel module exports no ${driver}`);
    const sharers = options.work < THREADED_WORK ? 1 : Math.min(this.threads, items);
    const chunk = sharers > 1 && !options.fixedShares
      ? Math.ceil(items / (CHUNKS_PER_THREAD * sharers))
      : 0;
    if (sharers > 1) this.#wake({ index, sharers, items, args, scratch, stride, chunk });
    const ctrl = this.#control;
    if (chunk > 0) {
      for (let at; (at = Atomics.add(ctrl, NEXT, 1) * chunk) < items;) {
        onCaller(...args, scratch, at, Math.min(items, at + chunk));
      }
    } else {
      const end = Math.floor(items / sharers);
      if (end > 0) onCaller(...args, scratch, 0, end);
    }
    if (sharers > 1) this.#awaitWorkers();
  }

  /** Hands a job to the workers. */
  #wake(job: {
    index: number;
    sharers: number;
    items: number;
    args: number[];
    scratch: number;
    stride: number;
    chunk: number;
  }): void {
    this.#startWorkers();
    this.#sharedJobs++;
    const ctrl = this.#control;
    ctrl[FN] = job.index;
    ctrl[SHARERS] = job.sharers;
    ctrl[ITEMS] = job.items;
    ctrl[NARGS] = job.args.length;
    ctrl[SCRATCH] = job.scratch;
    ctrl[SCRATCH_STRIDE] = job.stride;
    ctrl[CHUNK] = job.chunk;
    ctrl[NEXT] = 0;
    ctrl.set(job.args, ARGS);
    Atomics.store(ctrl, DONE, 0);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
  }

  /** Waits until every worker has done its part of the job; a failed part is an error. */
  #awaitWorkers(): void {
    const ctrl = this.#control;
    for (let spin = 0; spin < SPINS && Atomics.load(ctrl, DONE) < this.#workers.length; spin++);
    for (let done; (done = Atomics.load(ctrl, DONE)) < this.#workers.length;) {
      if (Atomics.wait(ctrl, DONE, done, 60_000) === "timed-out") {
        throw new Error("a kernel thread did not answer within 60 s");
      }
    }
    if (Atomics.exchange(ctrl, FAILED, 0)) throw new Error("a kernel thread failed");
  }

  /**
   * Starts the workers now, not on the first job that needs them, and
   * settles once every one of them waits for jobs. Where the calling thread
   * cannot run a job before its workers have started (a browser's worker
   * starts only when its creator's event loop turns), await this before the
   * first job.
   *
   * @example Two threads, started and waiting
   * ```ts
   * import assert from "node:assert/strict";
   * import { kernelModule } from "./kernel_module.ts";
   * import { ThreadPool } from "./thread_pool.ts";
   * const memory = new WebAssembly.Memory({ initial: 17, maximum: 32, shared: true });
   * const pool = new ThreadPool(2, memory, 65536);
   * await pool.start(); // settles once the worker has instantiated the module
   * assert.ok(kernelModule() instanceof WebAssembly.Module);
   * ```
   */
  async start(): Promise<void> {
    this.#startWorkers();
    await Promise.all(this.#workers);
  }

  #startWorkers(): void {
    if (this.#workers.length > 0) return;
    for (let id = 1; id < this.threads; id++) {
      this.#workers.push(startKernelThread({
        module: kernelModule(),
        memory: this.#memory,
        control: this.#control.buffer as SharedArrayBuffer,
        id,
        stackTop: this.#stacks + (id + 1) * STACK,
        names: [...driverIndex().keys()],
      }));
    }
  }
}
