import assert from "node:assert/strict";
import { runDeno } from "./helpers.ts";

// A throwaway project with a deno.json of its own (and none of our import
// map) imports our mod.ts by URL and runs a tiny training step: this is how
// the library is used from a URL.
async function trainThroughUrl(modUrl: string, permissions: string[], backendOptions = "{}") {
  const dir = await Deno.makeTempDir({ prefix: "uda-client-" });
  try {
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ imports: { "fast-check": "npm:fast-check@3.0.0" } }),
    );
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { adam, applyUpdates, random, replace, tf, tidy, tree, useBackend, valueAndGrad } from "${modUrl}";
const backend = await useBackend("wasm", ${backendOptions});
const [k1, k2] = random.split(random.key(0));
// Big enough (4.7M multiply-adds) for our convolution kernels to share it out.
let params = { conv: random.normal(k1, [3, 3, 16, 32], { stddev: 0.1 }), bias: tf.zeros([32]) };
const x = random.normal(k2, [1, 32, 32, 16]);
const opt = adam({ learningRate: 0.05 });
let state = opt.init(params);
const loss = (p: typeof params) => ({
  loss: tf.mean(tf.square(tf.add(tf.conv2d(x as never, p.conv as never, 1, "same", "NHWC", 2), p.bias))),
});
const losses: number[] = [];
for (let i = 0; i < 3; i++) {
  const [next, nextState, value] = tidy(() => {
    const { value, grads } = valueAndGrad(loss)(params);
    const [updates, s] = opt.update(grads, state, params);
    return [applyUpdates(params, updates), s, value] as const;
  });
  losses.push((await value.data())[0]);
  [params, state] = replace([params, state, value], [next, nextState]);
}
tree.dispose([params, state]);
console.log(JSON.stringify({ losses, backend: backend.detail }));
`,
    );
    const { code, out, err } = await runDeno(["run", ...permissions, "--no-lock", "main.ts"], {
      cwd: dir,
      raw: true,
    });
    assert.equal(code, 0, err);
    const { losses, backend } = JSON.parse(out) as {
      losses: number[];
      backend: string;
    };
    assert.equal(losses.length, 3);
    assert.ok(losses[2] < losses[0], `loss should fall: ${losses}`);
    return backend;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// The documented permissions: read on Deno's npm cache (tfjs's .wasm files), nothing else.
const npmCache = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
      .output())
      .stdout,
  ),
).npmCache as string;
const readCache = `--allow-read=${npmCache}`;

Deno.test("a separate project imports mod.ts by file URL and trains a step", async () => {
  await trainThroughUrl(new URL("../mod.ts", import.meta.url).href, [readCache]);
});

// Served over http, as from a code host: nothing may rely on our files being
// on disk (the thread pools' workers start from data: URLs).
/** Serves this repository over http on a fresh port (a new URL: never a cached module). */
async function overHttp<T>(use: (host: string) => Promise<T>): Promise<T> {
  const root = new URL("..", import.meta.url);
  const types: Record<string, string> = { ts: "application/typescript", json: "application/json" };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(`.${new URL(request.url).pathname}`, root);
    try {
      const body = await Deno.readFile(path);
      const type = types[path.pathname.split(".").pop()!] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    return await use(`127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

function trainOverHttp(backendOptions: string): Promise<string> {
  return overHttp((host) =>
    trainThroughUrl(
      `http://${host}/mod.ts`,
      [`--allow-import=${host}`, readCache],
      backendOptions,
    )
  );
}

Deno.test("the README's library example runs as written, over http, with the documented flags; a consumer's deno check --all passes", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const block = /<!-- library-example -->\s*```ts\n([\s\S]*?)```\s*<!-- \/library-example -->/
    .exec(readme);
  assert.ok(block, "the README holds the marked library example");
  const dir = await Deno.makeTempDir({ prefix: "uda-readme-" });
  try {
    await overHttp(async (host) => {
      await Deno.writeTextFile(
        `${dir}/main.ts`,
        block[1].replace("https://…/mod.ts", `http://${host}/mod.ts`),
      );
      // The README's advice for a full type check: tfjs's own declarations need skipLibCheck.
      await Deno.writeTextFile(
        `${dir}/deno.json`,
        JSON.stringify({ compilerOptions: { skipLibCheck: true } }),
      );
      const run = (args: string[]) => runDeno(args, { cwd: dir, raw: true });
      const ran = await run([
        "run",
        `--allow-import=${host}`,
        readCache,
        "--no-lock",
        "main.ts",
      ]);
      assert.equal(ran.code, 0, ran.err);
      const lines = ran.out.trim().split("\n");
      assert.equal(lines.length, 3, ran.out);
      const counts = lines.map((line, i) => {
        const m = new RegExp(`^step ${i}: L_seg ([\\d.e-]+), L_adv ([\\d.e-]+), (\\d+) tensors$`)
          .exec(line);
        assert.ok(m, line);
        assert.ok(Number.isFinite(Number(m[1])) && Number.isFinite(Number(m[2])), line);
        return Number(m[3]);
      });
      assert.equal(new Set(counts).size, 1, `the tensor count stays flat: ${counts}`);
      const checked = await run([
        "check",
        "--all",
        `--allow-import=${host}`,
        "--no-lock",
        "main.ts",
      ]);
      assert.equal(checked.code, 0, checked.err);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const cores = Math.min(8, navigator.hardwareConcurrency);
const threads = `${cores} thread${cores === 1 ? "" : "s"}`;

Deno.test("a separate project imports mod.ts over http and trains on our convolution threads", async () => {
  const backend = await trainOverHttp("{}");
  assert.match(
    backend,
    new RegExp(`^our kernels on ${threads}, XNNPACK, SIMD, 1 thread$`),
  );
});

Deno.test("a separate project imports mod.ts over http and trains on XNNPACK's thread pool", async () => {
  const backend = await trainOverHttp("{ nativeKernels: false }");
  assert.match(backend, new RegExp(`^XNNPACK, SIMD, ${threads}$`));
});

Deno.test("the examples/ programs run over http with the permissions their headers give, and type-check without a cast", async () => {
  const examples = new URL("../examples/", import.meta.url);
  const dir = await Deno.makeTempDir({ prefix: "uda-examples-" });
  try {
    await overHttp(async (host) => {
      await Deno.writeTextFile(
        `${dir}/deno.json`,
        JSON.stringify({ compilerOptions: { skipLibCheck: true } }),
      );
      for (const entry of Deno.readDirSync(examples)) {
        const source = await Deno.readTextFile(new URL(entry.name, examples));
        assert.ok(!/ as unknown as /.test(source), `${entry.name} casts`);
        const permissions = /`deno run ([^`]*?) examples\//.exec(source)?.[1].split(" ") ?? [];
        await Deno.writeTextFile(
          `${dir}/${entry.name}`,
          source.replace(`"../mod.ts"`, `"http://${host}/mod.ts"`),
        );
        const run = (args: string[]) => runDeno(args, { cwd: dir, raw: true });
        const ran = await run([
          "run",
          `--allow-import=${host}`,
          ...permissions,
          "--no-lock",
          entry.name,
        ]);
        assert.equal(ran.code, 0, `${entry.name}: ${ran.err}`);
        assert.ok(ran.out.trim().length > 0, `${entry.name} printed nothing`);
        const checked = await run(["check", `--allow-import=${host}`, "--no-lock", entry.name]);
        assert.equal(checked.code, 0, `${entry.name}: ${checked.err}`);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
