/**
 * The PyTorch ports of `bench/torch_steps.py` compute what our steps compute:
 * from our exported weights and batch, equal parameter counts and first-step
 * losses within 1e-4, for both the default CDGA step and the DeepLab
 * MobileNetV2 step (small shapes). Needs Python with torch (`apt-get install
 * python3-torch`); elsewhere the test says why it skips.
 */
import assert from "node:assert/strict";
import { runDeno, TINY_SCENES } from "./helpers.ts";

const PYTHON = Deno.env.get("UDA_PYTHON") ?? "/usr/bin/python3";
const root = new URL("../", import.meta.url).pathname;

async function torchPresent(): Promise<boolean> {
  try {
    const probe = await new Deno.Command(PYTHON, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success;
  } catch {
    return false;
  }
}

const torch = await torchPresent();
if (!torch) {
  console.log(`ports_test: skipped, ${PYTHON} cannot import torch (apt-get install python3-torch)`);
}

const STEPS: [string, string[]][] = [
  ["cdga", ["--width", "0.125", "--batch", "2", ...TINY_SCENES]],
  [
    "deeplab-mobilenetv2",
    [
      "--backbone",
      "mobilenetv2",
      "--norm",
      "frozen",
      "--method",
      "sourceOnly",
      "--batch",
      "2",
      ...TINY_SCENES,
    ],
  ],
];

for (const [port, flags] of STEPS) {
  Deno.test({
    name: `the PyTorch port '${port}' has our parameter counts and first-step losses (≤ 1e-4)`,
    ignore: !torch,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: `uda-port-${port}-` });
      try {
        const exported = await runDeno([`${root}bench/step_export.ts`, dir, ...flags]);
        assert.equal(exported.code, 0, exported.err);
        const ours = JSON.parse(exported.out.trim().split("\n").pop()!);
        const run = await new Deno.Command(PYTHON, {
          args: [
            `${root}bench/torch_steps.py`,
            "--step",
            port,
            "--export",
            dir,
            "--steps",
            "1",
            "--warmup",
            "0",
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(run.success, new TextDecoder().decode(run.stderr));
        const theirs = JSON.parse(new TextDecoder().decode(run.stdout).trim().split("\n").pop()!);
        assert.deepEqual(theirs.counts, ours.counts);
        const names = Object.keys(theirs.firstStep).filter((name) => name in ours.metrics);
        assert.ok(names.includes("seg") && names.includes("total"), names.join());
        if (port === "cdga") {
          for (const name of ["adv", "sc", "orth", "bal", "disc"]) {
            assert.ok(names.includes(name), name);
          }
        }
        for (const name of names) {
          const gap = Math.abs(theirs.firstStep[name] - ours.metrics[name]);
          assert.ok(
            gap <= 1e-4,
            `${name}: ours ${ours.metrics[name]}, port ${theirs.firstStep[name]}`,
          );
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
