/// <reference lib="dom" />
/**
 * The demo page's main thread: the controls, the pictures and the charts.
 * The library runs in `worker.ts` (see `protocol.ts` for why); this file
 * only sends it requests and draws what comes back. Bundled for the
 * browser by `deno task demo`.
 *
 * The page exposes `window.demo` (the loaded state and a `request`
 * function) for the browser tests.
 *
 * @module
 */
import type {
  Loaded,
  PageBackend,
  Predicted,
  Progress,
  Request,
  Response,
  RgbImage,
  Started,
} from "./protocol.ts";

type Distribute<T> = T extends unknown ? Omit<T, "id"> : never;
type Ask = Distribute<Request>;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
const progressListeners: ((p: Progress) => void)[] = [];
let nextId = 1;
worker.onmessage = ({ data }: MessageEvent<Response | Progress>) => {
  if ("kind" in data) {
    for (const listener of progressListeners) listener(data);
    return;
  }
  const waiting = pending.get(data.id);
  pending.delete(data.id);
  if (data.ok) waiting?.resolve(data.result);
  else waiting?.reject(new Error(data.error));
};
worker.onerror = (event) => showError(`worker: ${event.message}`);

/** Sends a request to the worker and resolves with its answer. */
function request<T>(ask: Ask): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker.postMessage({ ...ask, id });
  });
}

const state: {
  started?: Started;
  loaded?: Loaded;
  prediction?: Predicted;
  progress: Progress[];
  userImages: RgbImage[];
  lastFile?: { bytes: Uint8Array; name: string };
  sample: number;
} = { progress: [], userImages: [], sample: 0 };

function showError(message: string) {
  $("error").textContent = message;
}

/** The browser's WebGPU adapter: none, a software one (SwiftShader and the like), or hardware. */
async function webGpuAdapter(): Promise<"none" | "software" | "hardware"> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  const adapter = gpu && await gpu.requestAdapter().catch(() => null);
  if (!adapter) return "none";
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const text = `${info.vendor} ${info.architecture} ${info.description}`;
  return info.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(text)
    ? "software"
    : "hardware";
}

/**
 * The backend the page runs: `?backend=` where the browser offers it,
 * else WebGPU on a hardware adapter and threaded wasm otherwise (a software
 * adapter is slower than wasm, as the library's `auto` also decides).
 */
async function chooseBackend(): Promise<PageBackend> {
  const select = $<HTMLSelectElement>("backend");
  const adapter = await webGpuAdapter();
  const offered: PageBackend[] = [
    ...(adapter !== "none" ? ["webgpu" as const] : []),
    "wasm",
    "cpu",
  ];
  const label = { webgpu: `webgpu (${adapter})`, wasm: "wasm (threaded, our kernels)", cpu: "cpu" };
  for (const name of offered) select.add(new Option(label[name], name));
  const asked = params.get("backend") as PageBackend | null;
  const chosen = asked && offered.includes(asked)
    ? asked
    : adapter === "hardware"
    ? "webgpu"
    : "wasm";
  select.value = chosen;
  select.onchange = () => {
    params.set("backend", select.value);
    location.search = params.toString();
  };
  return chosen;
}

function paint(
  canvas: HTMLCanvasElement,
  width: number,
  height: number,
  rgbAt: (i: number) => number[],
) {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d")!;
  const pixels = context.createImageData(width, height);
  for (let i = 0; i < width * height; i++) pixels.data.set([...rgbAt(i), 255], 4 * i);
  context.putImageData(pixels, 0, 0);
}

function show(prediction: Predicted) {
  state.prediction = prediction;
  const { image, labels, truth } = prediction;
  const palette = state.loaded!.palette;
  const pixel = (i: number) => [image.rgb[3 * i], image.rgb[3 * i + 1], image.rgb[3 * i + 2]];
  paint($("image"), image.width, image.height, pixel);
  paint($("overlay"), image.width, image.height, (i) => {
    const c = palette[labels[i]] ?? [0, 0, 0];
    return pixel(i).map((v, k) => Math.round(0.5 * v + 0.5 * c[k]));
  });
  paint(
    $("truth"),
    image.width,
    image.height,
    (i) => truth ? palette[truth[i]] ?? [255, 255, 255] : [238, 238, 238],
  );
  $("predict-ms").textContent = `prediction ${
    prediction.ms.toFixed(1)
  } ms (${image.width}×${image.height})`;
}

function legend(loaded: Loaded) {
  $("legend").replaceChildren(...loaded.classes.map((name, i) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.style.background = `rgb(${loaded.palette[i].join(",")})`;
    item.append(swatch, name);
    return item;
  }));
}

const SERIES = [["seg", "#1f77b4"], ["adv", "#d62728"], ["disc", "#2ca02c"], [
  "discAccuracy",
  "#9467bd",
]] as const;

function svgElement(name: string, attributes: Record<string, string | number>): SVGElement {
  const element = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, String(v));
  return element;
}

function chart(progress: Progress[]) {
  const svg = document.querySelector<SVGSVGElement>("#chart")!;
  const [width, height, pad] = [520, 200, 24];
  const values = SERIES.flatMap(([key]) =>
    progress.map((p) => p.metrics[key]).filter((v) => typeof v === "number") as number[]
  );
  const top = Math.max(1, ...values);
  const last = progress.at(-1)?.step ?? 1, first = progress[0]?.step ?? 0;
  const x = (step: number) =>
    pad + ((step - first) / Math.max(1, last - first)) * (width - 2 * pad);
  const y = (v: number) => height - pad - (v / top) * (height - 2 * pad);
  const children: SVGElement[] = [
    svgElement("rect", {
      x: pad,
      y: pad,
      width: width - 2 * pad,
      height: height - 2 * pad,
      fill: "none",
      stroke: "#ccc",
    }),
  ];
  SERIES.forEach(([key, colour], i) => {
    const points = progress.filter((p) => typeof p.metrics[key] === "number").map((p) =>
      `${x(p.step)},${y(p.metrics[key] as number)}`
    );
    if (points.length > 0) {
      children.push(
        svgElement("polyline", {
          points: points.join(" "),
          fill: "none",
          stroke: colour,
          "stroke-width": 1.5,
        }),
      );
    }
    const label = svgElement("text", { x: pad + 4 + 90 * i, y: 14, fill: colour });
    label.textContent = key;
    children.push(label);
  });
  const axis = svgElement("text", { x: width - pad, y: height - 6, "text-anchor": "end" });
  axis.textContent = `step ${last}; top ${top.toFixed(2)}`;
  svg.replaceChildren(...children, axis);
  const usage = progress.at(-1)?.metrics.groupUsage;
  const groups = document.querySelector<SVGSVGElement>("#groups")!;
  if (Array.isArray(usage)) {
    const bar = (280 - 20) / usage.length;
    groups.replaceChildren(
      ...usage.flatMap((u, k) => {
        const h = (u / Math.max(...usage)) * 160;
        const text = svgElement("text", {
          x: 10 + k * bar + bar / 2,
          y: 195,
          "text-anchor": "middle",
        });
        text.textContent = `g${k}`;
        return [
          svgElement("rect", {
            x: 10 + k * bar + 2,
            y: 180 - h,
            width: bar - 4,
            height: h,
            fill: "#8c564b",
          }),
          text,
        ];
      }),
      Object.assign(svgElement("text", { x: 10, y: 12 }), { textContent: "group usage" }),
    );
  }
}

/** A JPEG (or any format the browser reads), decoded by the browser, its long side at most 512 px. */
async function browserDecoded(file: File): Promise<RgbImage> {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 512 / Math.max(bitmap.width, bitmap.height));
  const [width, height] = [Math.round(bitmap.width * scale), Math.round(bitmap.height * scale)];
  const context = new OffscreenCanvas(width, height).getContext("2d")!;
  context.drawImage(bitmap, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  return { width, height, rgb };
}

async function predictFile(file: File) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  state.lastFile = { bytes, name: file.name };
  // PNGs go to the library's own decoder, as `deno task predict` reads them (same pixels, same labels).
  const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const prediction = await request<Predicted>({
    kind: "predict",
    image: png ? { bytes, name: file.name } : await browserDecoded(file),
  });
  show(prediction);
  state.userImages.push(prediction.image);
  const thumbnail = document.createElement("img");
  thumbnail.src = URL.createObjectURL(file);
  $("targets").append(thumbnail);
}

async function adapt() {
  const steps = Number($<HTMLInputElement>("steps").value);
  const every = Number($<HTMLInputElement>("every").value);
  const mine = $<HTMLInputElement>("use-targets").checked;
  $<HTMLButtonElement>("stop").disabled = false;
  $<HTMLButtonElement>("adapt").disabled = true;
  try {
    await request<number>({
      kind: "adapt",
      method: $<HTMLSelectElement>("method").value as "cdga" | "adaptSegNet",
      steps,
      every,
      targets: mine ? state.userImages : [],
      ...(state.prediction ? { image: state.prediction.image } : {}),
    });
  } finally {
    $<HTMLButtonElement>("stop").disabled = true;
    $<HTMLButtonElement>("adapt").disabled = false;
  }
}

async function download() {
  const bytes = await request<Uint8Array>({ kind: "download" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  link.download = `${$<HTMLSelectElement>("method").value}-adapted.ckpt`;
  link.click();
}

function wire() {
  const guard = (action: () => Promise<unknown>) => () =>
    action().catch((e) => showError((e as Error).message));
  $("next-sample").onclick = guard(async () =>
    show(await request<Predicted>({ kind: "sample", index: ++state.sample }))
  );
  $<HTMLInputElement>("file").onchange = guard(async () => {
    const file = $<HTMLInputElement>("file").files?.[0];
    if (file) await predictFile(file);
  });
  const drop = $("drop");
  drop.ondragover = (e) => (e.preventDefault(), drop.classList.add("over"));
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer?.files[0];
    if (file) guard(() => predictFile(file))();
  };
  $("adapt").onclick = guard(adapt);
  $("stop").onclick = guard(() => request({ kind: "stop" }));
  $("download").onclick = guard(download);
  progressListeners.push((p) => {
    state.progress.push(p);
    $<HTMLButtonElement>("download").disabled = false;
    chart(state.progress);
    $("step-ms").textContent = `step ${p.step}: ${p.ms.toFixed(0)} ms`;
    // The refreshed prediction is of the image shown: its ground truth stays.
    const truth = state.prediction?.truth;
    if (p.prediction) show({ ...p.prediction, ...(truth ? { truth } : {}) });
  });
}

async function main() {
  wire();
  const backend = await chooseBackend();
  const threads = params.has("threads") ? Number(params.get("threads")) : undefined;
  state.started = await request<Started>({
    kind: "start",
    backend,
    ...(threads ? { threads } : {}),
  });
  $("backend-status").textContent = `running on ${state.started.backend}: ${state.started.detail}`;
  const checkpoint = params.get("checkpoint") ?? "./checkpoint.ckpt";
  state.loaded = await request<Loaded>({
    kind: "load",
    url: new URL(checkpoint, location.href).href,
  });
  const { phase, dataset, scenes } = state.loaded;
  $("checkpoint-status").textContent =
    `checkpoint: ${phase} on ${dataset}, ${state.loaded.classes.length} classes`;
  legend(state.loaded);
  $<HTMLButtonElement>("adapt").disabled = !scenes;
  $<HTMLButtonElement>("next-sample").disabled = !scenes;
  if (scenes) show(await request<Predicted>({ kind: "sample", index: 0 }));
}

const ready = main().catch((e) => {
  showError((e as Error).message);
  throw e;
});

Object.assign(globalThis, {
  demo: {
    ready,
    state,
    request,
    onProgress: (f: (p: Progress) => void) => progressListeners.push(f),
  },
});
