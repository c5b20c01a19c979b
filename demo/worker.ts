/**
 * The demo page's worker: the library itself (`mod.ts`, and the run
 * machinery's own checkpoint and data code), answering the page's requests
 * (`protocol.ts`). Bundled for the browser by `deno task demo`.
 *
 * It predicts with `predict`, and adapts with `makeTrainer`'s `step`, from
 * a checkpoint the page names: the same functions `deno task predict` and
 * `deno task train` call, on the backend the page picked.
 *
 * @module
 */
import { decodeCheckpoint, disposeAll, useBackend } from "../mod.ts";
import { type RestoredSeg, segFromDecoded } from "../cli/restore.ts";
import { classesOf, type DataPlan, normalisationOf, openData } from "../data/plan.ts";
import { decodeImage, toRgb } from "../data/image_io.ts";
import type { ClassTable } from "../data/labels.ts";
import { runKeys } from "../cli/config.ts";
import { AdaptSession } from "./adapt.ts";
import { predictImage } from "./worker_predict.ts";
import type { Loaded, Predicted, Request, Response, RgbImage, Started } from "./protocol.ts";

/** The worker's global scope, as much of it as this file uses. */
interface Scope {
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as Scope;

/** The checkpoint the page loaded, its data and the session adapting it. */
interface State {
  checkpoint?: { url: string; bytes: Uint8Array; restored: RestoredSeg };
  data?: Promise<DataPlan>;
  session?: AdaptSession;
}
const state: State = {};

/** Where a page's tfjs `.wasm` files are served (`server.ts`). */
const WASM_FILES = new URL("./tfjs-wasm/", import.meta.url).href;

async function start(request: Extract<Request, { kind: "start" }>): Promise<Started> {
  const began = performance.now();
  const info = await useBackend(request.backend, {
    wasmFiles: WASM_FILES,
    ...(request.threads ? { threads: request.threads } : {}),
  });
  return { backend: info.name, detail: info.detail, ms: performance.now() - began };
}

async function load(url: string): Promise<Loaded> {
  const began = performance.now();
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  // The class table: the checkpoint's own, or (older checkpoints) its data set's, read once.
  let table: ClassTable | undefined;
  const restored = await segFromDecoded(await decodeCheckpoint(bytes, url), url, async (o, c) => {
    table = c ?? await classesOf(o);
    return table.names.length;
  });
  if (state.checkpoint) disposeAll(state.checkpoint.restored.seg);
  state.session?.dispose();
  state.session = undefined;
  state.checkpoint = { url, bytes, restored };
  const { options } = restored;
  const scenes = options.dataset === "digits";
  // The benchmark's scenes are a pure function of a key: the page draws its own.
  state.data = scenes ? openData(options, runKeys(options.seed).data) : undefined;
  state.data?.catch(() => {}); // awaited (and reported) where used
  return {
    phase: restored.phase,
    dataset: options.dataset,
    classes: [...table!.names],
    palette: table!.palette.map((c) => [c[0], c[1], c[2]]),
    scenes,
    ms: performance.now() - began,
  };
}

function loaded(): RestoredSeg {
  if (!state.checkpoint) throw new Error("no checkpoint loaded yet");
  return state.session?.restoredSeg() ?? state.checkpoint.restored;
}

async function predictRequest(
  request: Extract<Request, { kind: "predict" }>,
): Promise<Predicted> {
  const { seg, config, options } = loaded();
  let image: RgbImage;
  if ("bytes" in request.image) {
    const raw = decodeImage(request.image.bytes, request.image.name);
    image = { width: raw.width, height: raw.height, rgb: toRgb(raw, request.image.name) };
  } else {
    image = request.image;
  }
  return { image, ...await predictImage(seg, config, normalisationOf(options), image) };
}

async function sample(index: number): Promise<Predicted> {
  if (!state.data) throw new Error("this checkpoint's data set has no scenes the page can draw");
  const data = await state.data;
  const scene = await data.test.get(index % data.test.length);
  const { seg, config, options } = loaded();
  const image = { width: scene.width, height: scene.height, rgb: scene.image };
  const predicted = await predictImage(seg, config, normalisationOf(options), image);
  return { image, ...predicted, ...(scene.label ? { truth: scene.label } : {}) };
}

async function adapt(request: Extract<Request, { kind: "adapt" }>): Promise<unknown> {
  if (!state.checkpoint || !state.data) {
    throw new Error("live adaptation needs a checkpoint of the digits or letters benchmark");
  }
  const { bytes, url } = state.checkpoint;
  if (state.session?.method !== request.method) {
    state.session?.dispose();
    state.session = await AdaptSession.open(await decodeCheckpoint(bytes, url), url, {
      method: request.method,
      data: await state.data,
    });
  }
  return await state.session.run(request, (progress) => scope.postMessage(progress));
}

async function answer(request: Request): Promise<unknown> {
  switch (request.kind) {
    case "start":
      return await start(request);
    case "load":
      return await load(request.url);
    case "sample":
      return await sample(request.index);
    case "predict":
      return await predictRequest(request);
    case "adapt":
      return await adapt(request);
    case "stop":
      state.session?.stop();
      return null;
    case "download":
      if (!state.session) throw new Error("nothing adapted yet");
      return await state.session.checkpointBytes();
  }
}

// Requests are answered one at a time, in order, except `stop`, which must
// reach a running adaptation.
let queue: Promise<unknown> = Promise.resolve();
scope.onmessage = ({ data: request }) => {
  const reply = async () => {
    let response: Response;
    try {
      response = { id: request.id, ok: true, result: await answer(request) };
    } catch (error) {
      response = { id: request.id, ok: false, error: (error as Error).message ?? String(error) };
    }
    scope.postMessage(response);
  };
  if (request.kind === "stop") reply();
  else queue = queue.then(reply);
};
