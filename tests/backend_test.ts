import assert from "node:assert/strict";
import { BACKEND_CHOICES, useBackend } from "../lib/backend.ts";
import { gradientsInstalled } from "../lib/gradients.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

async function deno(args: string[], cwd?: string) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("an unknown backend is an error naming the choices", async () => {
  await assert.rejects(
    () => useBackend("tpu" as "cpu"),
    new RegExp(`unknown backend "tpu": choose one of ${BACKEND_CHOICES.join(", ")}`),
  );
});

Deno.test("wasm without read permission: the error says so, nothing switches", async () => {
  const { out } = await deno(["run", "--allow-env", fixture("start_backend.ts"), "wasm"]);
  assert.match(out, /error: the wasm backend could not start: it needs read permission/);
});

async function wasmThreadsRun(threads: number, ...extra: string[]) {
  const { code, out, err } = await deno([
    "run",
    "--allow-read",
    "--allow-env",
    fixture("wasm_threads.ts"),
    String(threads),
    ...extra,
  ]);
  assert.equal(code, 0, err);
  return JSON.parse(out) as { detail: string; losses: number[]; w2: number[] };
}

Deno.test("our convolution threads: 2 give the same numbers as 1, and the process ends on its own", async () => {
  const [one, two] = [await wasmThreadsRun(1), await wasmThreadsRun(2)];
  assert.match(one.detail, /^our kernels on 1 thread, XNNPACK, SIMD, 1 thread$/);
  assert.match(two.detail, /^our kernels on 2 threads, XNNPACK, SIMD, 1 thread$/);
  assert.deepEqual(two.losses, one.losses);
  // Threads split output tiles: no sum is reordered, so bit for bit.
  assert.deepEqual(two.w2, one.w2);
});

Deno.test("threaded wasm (XNNPACK's convolutions): a pool of 2, the same numbers as 1 thread, and the process ends on its own", async () => {
  const [one, two] = [
    await wasmThreadsRun(1, "xnnpack"),
    await wasmThreadsRun(2, "xnnpack"),
  ];
  assert.match(one.detail, /^XNNPACK, SIMD, 1 thread$/);
  assert.match(two.detail, /^XNNPACK, SIMD, 2 threads$/);
  assert.deepEqual(two.losses, one.losses);
  // XNNPACK splits work by output tiles: no sum is reordered, so bit for bit.
  assert.deepEqual(two.w2, one.w2);
});

Deno.test("wasm threads outside 1–8 are an error naming the range", async () => {
  for (const threads of [0, 9]) {
    const { code, err } = await deno([
      "run",
      "--allow-read",
      "--allow-env",
      fixture("wasm_threads.ts"),
      String(threads),
    ]);
    assert.notEqual(code, 0);
    assert.match(err, new RegExp(`wasm threads must be an integer from 1 to 8, got ${threads}`));
  }
});

// The GPU is only ever touched in child processes (a software driver's
// teardown must not be able to take the test runner down).
const probe = JSON.parse(
  (await deno(["run", "--allow-read", "--allow-env", fixture("probe_webgpu.ts")])).out,
);

Deno.test("auto picks webgpu only on a hardware adapter, else wasm", async () => {
  const { out } = await deno([
    "run",
    "--allow-read",
    "--allow-env",
    fixture("start_backend.ts"),
    "auto",
  ]);
  assert.equal(out.trim(), `started ${probe.available && !probe.software ? "webgpu" : "wasm"}`);
});

Deno.test("webgpu starts where an adapter exists, else the error says why", async () => {
  const { out } = await deno([
    "run",
    "--allow-read",
    "--allow-env",
    fixture("start_backend.ts"),
    "webgpu",
  ]);
  if (probe.available) assert.equal(out.trim(), "started webgpu");
  else assert.match(out, /error: the webgpu backend could not start: /);
});

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`a normal ${backend} run prints nothing on stderr (no tfjs-node banner)`, async () => {
    const { code, out, err } = await deno([
      "run",
      "--allow-read",
      "--allow-env",
      fixture("quiet_step.ts"),
      backend,
    ]);
    assert.equal(code, 0, err);
    assert.equal(err, "");
    const result = JSON.parse(out);
    assert.equal(result.backend, backend);
    assert.ok(result.losses.every(Number.isFinite));
  });
}

Deno.test({
  name: "a normal webgpu run prints nothing on stderr",
  ignore: !probe.available,
  fn: async () => {
    const { code, out, err } = await deno([
      "run",
      "--allow-read",
      "--allow-env",
      fixture("quiet_step.ts"),
      "webgpu",
    ]);
    assert.equal(code, 0, err);
    assert.equal(err, "");
    assert.equal(JSON.parse(out).backend, "webgpu");
  },
});

Deno.test("importing mod.ts changes nothing of tfjs; useBackend installs the gradients", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      new URL("./fixtures/import_only.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const seen = JSON.parse(new TextDecoder().decode(stdout));
  assert.deepEqual(seen, { installed: false, prodMode: false, conv: true });
  await useBackend("cpu");
  assert.equal(gradientsInstalled(), true);
});
