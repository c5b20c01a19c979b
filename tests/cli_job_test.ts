import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { encodePng } from "../data/image_io.ts";
import { on, runDeno, spawnDeno, TINY_MODEL, TINY_SCENES } from "./helpers.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";
await on("wasm");

const TINY = [...TINY_MODEL, ...TINY_SCENES, "--test-samples", "6"];
/** The default run's phases: the warm-up, then source only, the strongest baseline, CDGA, the oracle. */
const DEFAULT_PHASES = ["warmup", "sourceOnly", "adaptSegNet", "cdga", "oracle"];

Deno.test("a run killed with SIGKILL and resumed ends bit-identical to an uninterrupted run", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-resume-" });
  const job = [
    ...TINY,
    "--warmup-steps",
    "6",
    "--steps",
    "6",
    "--checkpoint-every",
    "2",
    "--out",
    out,
  ];
  const whole = await runDeno(["train.ts", ...job, "--name", "whole"]);
  assert.equal(whole.code, 0, whole.err);
  assert.match(whole.out, /### Target: overall/);
  assert.match(whole.out, /\| source only \|/);
  assert.match(whole.out, /\| CDGA \|/);
  assert.match(whole.out, /\| AdaptSegNet \|/); // the strongest baseline beside a default run
  assert.match(whole.out, /\| target oracle \|/);
  assert.match(
    whole.out,
    /\| method \| target mIoU \| mnistm \| inverted \| lowcontrast \| held-out source mIoU \| gap closed \|/,
  );
  assert.match(whole.out, /### Held-out source/);
  // Interrupted: killed once a checkpoint of the second phase exists.
  const child = spawnDeno(["train.ts", ...job, "--name", "killed"]);
  const target = join(out, "killed", "checkpoints", "sourceOnly.ckpt");
  for (let i = 0; i < 600; i++) {
    try {
      await Deno.stat(target);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  await child.stdout.cancel();
  await child.stderr.cancel();
  // The kill must have landed mid-run: the last phase is not complete.
  const last = join(out, "killed", "checkpoints", "cdga.ckpt");
  const unfinished = await loadCheckpoint(last).then((c) => !c.position.done, () => true);
  assert.ok(unfinished, "the run had finished before the kill");
  const rerun = await runDeno(["train.ts", ...job, "--name", "killed"]);
  assert.match(rerun.err, /already holds a run: pass --resume/);
  const resumed = await runDeno(["train.ts", ...job, "--name", "killed", "--resume"]);
  assert.equal(resumed.code, 0, resumed.err);
  for (const phase of DEFAULT_PHASES) {
    const a = await loadCheckpoint(join(out, "whole", "checkpoints", `${phase}.ckpt`));
    const b = await loadCheckpoint(join(out, "killed", "checkpoints", `${phase}.ckpt`));
    assert.equal(a.position.step, 6);
    assert.deepEqual([...b.values.keys()], [...a.values.keys()]);
    for (const [p, v] of a.values) {
      assert.deepEqual(
        new Uint8Array(b.values.get(p)!.data.buffer),
        new Uint8Array(v.data.buffer),
        `${phase} ${p}`,
      );
    }
  }
  for (const file of ["config.json", "metrics.jsonl", "report.md", "report.json", "plot.svg"]) {
    await Deno.stat(join(out, "killed", file));
  }
  // The loss chart draws what each method's definition names (CDGA's global term among them).
  const plot = await Deno.readTextFile(join(out, "whole", "plot.svg"));
  for (const phase of DEFAULT_PHASES) {
    const method = phase === "warmup" ? "sourceOnly" : phase as keyof typeof METHOD_DEFINITIONS;
    for (const metric of ["seg", ...METHOD_DEFINITIONS[method].plotted]) {
      assert.ok(plot.includes(`>${phase} ${metric}</text>`), `plot.svg: ${phase} ${metric}`);
    }
  }
  const lines = (await Deno.readTextFile(join(out, "killed", "metrics.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(
    lines.length,
    6 * DEFAULT_PHASES.length,
    "one metrics line per step, none repeated by the resume",
  );
  // Every step logs memory; within a phase the live tensor count never moves.
  const uninterrupted = (await Deno.readTextFile(join(out, "whole", "metrics.jsonl"))).trim()
    .split("\n").map((l) => JSON.parse(l));
  for (const phase of DEFAULT_PHASES) {
    const logged = uninterrupted.filter((l) => l.phase === phase);
    assert.equal(logged.length, 6);
    assert.deepEqual(new Set(logged.map((l) => l.tensors)).size, 1, `${phase} tensors`);
    for (const l of logged) assert.ok(l.rssMb > 0 && l.peakRssMb >= l.rssMb, JSON.stringify(l));
  }
  // eval and predict on the result.
  const evalRun = await runDeno([
    "eval.ts",
    "--checkpoint",
    join(out, "whole", "checkpoints", "cdga.ckpt"),
    "--backend",
    "wasm",
  ]);
  assert.equal(evalRun.code, 0, evalRun.err);
  assert.match(evalRun.out, /### Target: overall[\s\S]*\| cdga \|/);
  const sourceRun = await runDeno([
    "eval.ts",
    "--checkpoint",
    join(out, "whole", "checkpoints", "warmup.ckpt"),
    "--domain",
    "source",
    "--backend",
    "wasm",
  ]);
  assert.equal(sourceRun.code, 0, sourceRun.err);
  assert.match(sourceRun.out, /warmup on digits eval source/);
  const images = join(out, "images");
  await Deno.mkdir(images);
  await Deno.writeFile(
    join(images, "a.png"),
    encodePng({ width: 40, height: 36, channels: 3, data: new Uint8Array(40 * 36 * 3).fill(90) }),
  );
  const predictRun = await runDeno([
    "predict.ts",
    "--checkpoint",
    join(out, "whole", "checkpoints", "cdga.ckpt"),
    "--input",
    images,
    "--output",
    join(out, "pred"),
    "--backend",
    "wasm",
  ]);
  assert.equal(predictRun.code, 0, predictRun.err);
  assert.deepEqual([...Deno.readDirSync(join(out, "pred"))].map((e) => e.name).sort(), [
    "a_label.png",
    "a_overlay.png",
    "a_pred.png",
  ]);
  await Deno.remove(out, { recursive: true });
});

Deno.test("a NaN loss stops the run with its step; the last good checkpoint is kept", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-nan-" });
  const run = await runDeno([
    "train.ts",
    ...TINY,
    "--warmup-steps",
    "0",
    "--baseline",
    "none",
    "--method",
    "sourceOnly",
    "--steps",
    "40",
    "--checkpoint-every",
    "1",
    "--seg-optimizer",
    "sgd",
    "--seg-lr",
    "1e30",
    "--out",
    out,
    "--name",
    "nan",
  ]);
  assert.equal(run.code, 1);
  const match =
    /sourceOnly step (\d+): (loss '\w+' is (NaN|Infinity|-Infinity)|the updated parameters or optimizer state hold non-finite values); stopped, nothing of this step kept\. The last good checkpoint \(step (\d+)\) is kept/
      .exec(run.err);
  assert.ok(match, run.err);
  const checkpoint = await loadCheckpoint(join(out, "nan", "checkpoints", "sourceOnly.ckpt"));
  assert.equal(checkpoint.position.step, Number(match[4]));
  assert.equal(Number(match[1]), Number(match[4]) + 1);
  for (const [path, { data }] of checkpoint.values) {
    assert.ok(data.every(Number.isFinite), `${path} holds a non-finite value`);
  }
  // Adam at 1e30 keeps every loss finite for a while: the parameters' guard stops it; with no
  // checkpoint written yet, the message says so instead of naming one.
  const adam = await runDeno([
    "train.ts",
    ...TINY,
    "--warmup-steps",
    "0",
    "--baseline",
    "none",
    "--method",
    "sourceOnly",
    "--steps",
    "20",
    "--seg-lr",
    "1e30",
    "--out",
    out,
    "--name",
    "adam",
  ]);
  assert.equal(adam.code, 1, adam.out);
  assert.match(
    adam.err,
    /sourceOnly step \d+: .*; stopped, nothing of this step kept\. No checkpoint of sourceOnly was written yet \(one every 50 steps\)/,
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("the smaller commands' --help and checks come from their one flag declaration", async () => {
  const commands: [string, string[], RegExp][] = [
    ["eval.ts", ["--checkpoint FILE", "--domain D", "--samples N", "--backend B"], /--samples/],
    ["predict.ts", ["--input DIR", "--tile N", "--overlap N", "--max-image-pixels N"], /--tile/],
    ["convert.ts", ["--from V", "--classes N", "--aspp-rates L", "--seed S"], /--classes/],
    ["export_folder.ts", ["--out DIR", "--glyphs G", "--canvas N", "--no-target-labels"], /--seed/],
  ];
  for (const [script, flags, bad] of commands) {
    const help = await runDeno([script, "--help"]);
    assert.equal(help.code, 0, help.err);
    for (const flag of flags) {
      assert.match(help.out, new RegExp(`\\n  ${flag} `), `${script}: ${flag}`);
    }
    // An unknown flag and a value of the wrong kind are refused, naming the flag.
    const unknown = await runDeno([script, "--no-such-flag", "1"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /no-such-flag.*see --help/);
    const flag = bad.source.slice(2);
    const wrong = await runDeno([script, `--${flag}`, "x"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, new RegExp(`--${flag} must be (an?|a positive|a non-negative) `));
  }
});

Deno.test("per-class target shift: a CDGA run's report counts distinct groups and scores them against the shift groups", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-per-class-" });
  const run = await runDeno([
    "train.ts",
    ...TINY,
    "--target-shift",
    "per-class",
    "--warmup-steps",
    "2",
    "--steps",
    "2",
    "--also",
    "",
    "--no-oracle",
    "--out",
    out,
    "--name",
    "pc",
  ]);
  assert.equal(run.code, 0, run.err);
  const report = await Deno.readTextFile(join(out, "pc", "report.md"));
  assert.match(report, /per-class shift/);
  assert.match(report, /Distinct groups \(.*\): target \d+ distinct of \d+ used \(duplicates: /);
  assert.match(
    report,
    /against the target's shift groups .*: target (-?\d\.\d\d|– \(one distinct group\)), source/,
  );
  const json = JSON.parse(await Deno.readTextFile(join(out, "pc", "report.json")));
  const text = JSON.stringify(json);
  assert.match(text, /"distinctness":\{"target":\{"used":\d+,"distinct":\d+,"duplicates":/);
  await Deno.remove(out, { recursive: true });
});
