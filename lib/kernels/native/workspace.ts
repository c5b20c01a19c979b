/**
 * The kernels' workspace: where a job's operands, packed panels, scratch
 * and results go, from an empty workspace at the start of each job. In the
 * kernels' own memory it grows the memory; in tfjs's heap
 * ({@linkcode SharedHeap}) it is one block from tfjs's `malloc`, and a job
 * that fills it runs again with a block twice as large.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Workspace } from "./workspace.ts";
 * const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
 * const space = new Workspace(memory, undefined, 0);
 * const sum = space.job(() => {
 *   const at = space.place(new Float32Array([1, 2, 3]));
 *   return space.view(at, 3).reduce((a, b) => a + b);
 * });
 * assert.equal(sum, 6);
 * ```
 *
 * @module
 */

/** Bytes of a WebAssembly page. */
export const PAGE = 65536;

/** The kernels' own memory (when not tfjs's) grows to 2 GiB at most. */
export const MAX_PAGES = 32768;

/**
 * tfjs's own wasm heap, for kernels that read and write tensors where they
 * lie: its (shared) memory and its allocator.
 */
export interface SharedHeap {
  readonly memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(at: number): void;
}

/** An operand: values to copy into the engine's memory, or a byte offset there. */
export type Operand = Float32Array | Uint8Array | { readonly at: number };

// Thrown by alloc when the workspace in a shared heap is full: the job is
// retried with a larger one.
const WORKSPACE_FULL = Symbol("workspace full");

/**
 * `n` rounded up to a multiple of `to`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { align } from "./workspace.ts";
 * assert.equal(align(65, 64), 128);
 * ```
 */
export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** A job's allocator over the kernels' memory or tfjs's heap (see the module doc). */
export class Workspace {
  readonly #memory: WebAssembly.Memory;
  readonly #heap: SharedHeap | undefined;
  #start = 0;
  #end = 0;
  // The allocation the workspace lies in (tfjs's heap only).
  #block = 0;
  #top = 0;

  /**
   * A workspace in `memory` from byte `start` on (the kernels' own memory),
   * or, given `heap`, a block of tfjs's heap (`start` unused).
   */
  constructor(memory: WebAssembly.Memory, heap: SharedHeap | undefined, start: number) {
    this.#memory = memory;
    this.#heap = heap;
    if (heap) this.#grow(1 << 20);
    else this.#start = start;
  }

  /** Runs one job from an empty workspace, with a larger one if it fills up. */
  job<T>(body: () => T): T {
    for (;;) {
      this.#top = this.#start;
      try {
        return body();
      } catch (error) {
        if (error !== WORKSPACE_FULL) throw error;
        this.#grow(2 * (this.#end - this.#start));
      }
    }
  }

  /** Reserves `floats` floats (64-byte aligned) and returns their byte offset. */
  alloc(floats: number): number {
    const at = this.#top;
    this.#top = align(at + 4 * floats, 64);
    if (this.#heap) {
      if (this.#top > this.#end) throw WORKSPACE_FULL;
      return at;
    }
    const needed = Math.ceil(this.#top / PAGE) - this.#memory.buffer.byteLength / PAGE;
    if (needed > 0) {
      if (this.#top > MAX_PAGES * PAGE) {
        throw new Error(
          `a kernel needs ${(this.#top / 2 ** 20).toFixed(0)} MiB of workspace, over the ` +
            `${MAX_PAGES * PAGE / 2 ** 30} GiB of the kernels' own memory`,
        );
      }
      this.#memory.grow(needed);
    }
    return at;
  }

  /** The offset of an operand, copying values in first. */
  place(operand: Operand): number {
    if (!(operand instanceof Float32Array || operand instanceof Uint8Array)) return operand.at;
    const at = this.alloc(operand.byteLength / 4);
    const bytes = new Uint8Array(operand.buffer, operand.byteOffset, operand.byteLength);
    new Uint8Array(this.#memory.buffer, at, operand.byteLength).set(bytes);
    return at;
  }

  /** `floats` zeros, reserved; their offset. */
  zeros(floats: number): number {
    const at = this.alloc(floats);
    this.view(at, floats).fill(0);
    return at;
  }

  /** The floats at `at`, as a view valid until the memory grows. */
  view(at: number, floats: number): Float32Array {
    return new Float32Array(this.#memory.buffer, at, floats);
  }

  #grow(bytes: number): void {
    const heap = this.#heap!;
    // free() takes what malloc() returned, not the aligned start.
    if (this.#block) heap.free(this.#block);
    const at = heap.malloc(bytes + 64);
    if (!at) throw new Error(`tfjs's wasm heap has no room for ${bytes} bytes of workspace`);
    this.#block = at;
    this.#start = align(at, 64);
    this.#end = at + bytes + 64;
  }
}
