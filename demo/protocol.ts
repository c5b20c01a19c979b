/**
 * The messages between the demo page (`page.ts`, the browser's main thread)
 * and the library running in its worker (`worker.ts`). The library runs in a
 * dedicated worker because our wasm kernels wait for their threads with
 * `Atomics.wait`, which a page's main thread may not call, and so that the
 * page stays responsive while a step runs.
 *
 * Every request carries an `id`; the worker answers it once, with `ok` and
 * a result or an error message. While it adapts, the worker also sends
 * {@linkcode Progress} messages (no `id`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Request } from "./protocol.ts";
 * const start: Request = { id: 1, kind: "start", backend: "cpu" };
 * assert.equal(start.kind, "start");
 * ```
 *
 * @module
 */

/** The backends the page offers (the library's, less `auto`: the page shows which one it runs). */
export type PageBackend = "webgpu" | "wasm" | "cpu";

/** An image as the worker takes and returns it: RGB bytes, row-major. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** What the page asks of the worker. */
export type Request =
  | { id: number; kind: "start"; backend: PageBackend; threads?: number }
  | { id: number; kind: "load"; url: string }
  | { id: number; kind: "sample"; index: number }
  | { id: number; kind: "predict"; image: RgbImage | { bytes: Uint8Array; name: string } }
  | {
    id: number;
    kind: "adapt";
    method: "cdga" | "adaptSegNet";
    steps: number;
    /** Target images to adapt to (the user's); none: the benchmark's own target scenes. */
    targets: RgbImage[];
    /** Progress every this many steps (with a fresh prediction of `image`). */
    every: number;
    image?: RgbImage;
  }
  | { id: number; kind: "stop" }
  | { id: number; kind: "download" };

/** The answer to a request. */
export type Response =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

/** What `start` answers. */
export interface Started {
  backend: PageBackend;
  detail: string;
  ms: number;
}

/** What `load` answers: the checkpoint's phase and its classes. */
export interface Loaded {
  phase: string;
  dataset: string;
  classes: string[];
  /** RGB per class. */
  palette: [number, number, number][];
  /** Whether the page can draw the benchmark's own scenes (digits or letters). */
  scenes: boolean;
  ms: number;
}

/** What `predict` and `sample` answer. */
export interface Predicted {
  image: RgbImage;
  /** The class of every pixel, row-major. */
  labels: Uint8Array;
  /** G's stride-8 logits [h, w, C], row-major. */
  logits: Float32Array;
  logitsShape: [number, number, number];
  /** Ground truth, for the benchmark's scenes. */
  truth?: Uint8Array;
  ms: number;
}

/** Sent while adapting: the step's losses, D's accuracy and group usage. */
export interface Progress {
  kind: "progress";
  step: number;
  steps: number;
  metrics: Record<string, number | number[]>;
  /** Milliseconds of the last step. */
  ms: number;
  prediction?: Predicted;
}
