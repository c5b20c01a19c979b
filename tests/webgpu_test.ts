/**
 * WebGPU agrees with the cpu reference at realistic sizes (1×32×32×21 with
 * 3×3 kernels: convolutions strided and dilated, depthwise, and the whole
 * reference network's loss and gradients). Runs wherever a WebGPU adapter
 * exists, a software one (Mesa's llvmpipe) included, in a child process (the
 * runner never loads a GPU driver); skipped with the reason printed where
 * none exists.
 */
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;

async function child(script: string) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", script],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

const probe = JSON.parse((await child("tests/fixtures/probe_webgpu.ts")).out);
if (!probe.available) console.log(`webgpu tests skipped: ${probe.description}`);

Deno.test({
  name:
    "webgpu matches cpu at 1×32×32×21: conv2d (stride 1, 2; dilation 2), depthwise, the reference network",
  ignore: !probe.available,
  fn: async () => {
    const { code, out, err } = await child("tests/fixtures/webgpu_agreement.ts");
    assert.equal(code, 0, err);
    for (
      const check of [
        "conv2d stride 1 dilation 1",
        "conv2d stride 2 dilation 1",
        "conv2d stride 1 dilation 2",
        "depthwise",
        "reference network",
      ]
    ) {
      assert.ok(out.includes(`ok ${check}\n`), `${check} did not pass:\n${out}\n${err}`);
    }
  },
});

Deno.test({
  name: "webgpu runs two CDGA steps (K = 8) as wasm does, and AddN over 12 inputs",
  ignore: !probe.available,
  fn: async () => {
    const { code, out, err } = await child("tests/fixtures/webgpu_cdga.ts");
    assert.equal(code, 0, err);
    assert.ok(out.includes("ok addN of 12\n"), `${out}\n${err}`);
    assert.match(out, /ok cdga step: \d+ metrics over 2 steps\n/);
  },
});
