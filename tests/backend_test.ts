import assert from "node:assert/strict";
import { BACKEND_CHOICES, probeWebGpu, useBackend } from "../lib/backend.ts";
import { tf } from "../lib/tf.ts";

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

Deno.test("auto picks webgpu only on a hardware adapter, else wasm", async () => {
  const probe = await probeWebGpu();
  const info = await useBackend("auto");
  assert.equal(info.name, probe.available && !probe.software ? "webgpu" : "wasm");
  assert.equal(tf.getBackend(), info.name);
});

Deno.test("webgpu without an adapter is an error naming why", async () => {
  const probe = await probeWebGpu();
  if (probe.available) {
    const { out } = await deno([
      "run",
      "--allow-read",
      "--allow-env",
      fixture("start_backend.ts"),
      "webgpu",
    ]);
    assert.equal(out.trim(), "started webgpu");
    return;
  }
  await assert.rejects(() => useBackend("webgpu"), /the webgpu backend could not start: /);
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
  ignore: !(await probeWebGpu()).available,
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
