/**
 * Runs that cannot be corrupted, by fault injection through child processes:
 * interrupts, concurrent writers, changed options on resume, a torn metrics
 * line, stale temporary files, failed starts, and messages in our terms
 * (`docs/reliability.md` tabulates them).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { OPTIONS_VERSION, parseOptions } from "../cli/options.ts";
import { resumeDifferences } from "../cli/run_folder.ts";
import { MetricsLog, scanMetricsLog } from "../cli/metrics_log.ts";
import { finished, runDeno, spawnDeno, TINY_MODEL, TINY_SCENES } from "./helpers.ts";

const TINY = [
  ...TINY_MODEL,
  ...TINY_SCENES,
  "--test-samples",
  "4",
  "--warmup-steps",
  "0",
  "--baseline",
  "none",
  "--no-oracle",
  "--method",
  "sourceOnly",
];

async function waitFor(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 1200; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const metricLines = async (path: string) =>
  (await Deno.readTextFile(path)).split("\n").filter(Boolean).length;

async function sameCheckpoints(a: string, b: string) {
  const x = await loadCheckpoint(a), y = await loadCheckpoint(b);
  assert.equal(x.position.step, y.position.step);
  for (const [p, v] of x.values) {
    assert.deepEqual(
      new Uint8Array(y.values.get(p)!.data.buffer),
      new Uint8Array(v.data.buffer),
      p,
    );
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`${signal} stops at the end of a step with a checkpoint; --resume ends bit-identical`, async () => {
    const out = await Deno.makeTempDir({ prefix: "uda-signal-" });
    const job = [...TINY, "--steps", "60", "--checkpoint-every", "1000", "--out", out];
    const whole = await runDeno(["train.ts", ...job, "--name", "whole"]);
    assert.equal(whole.code, 0, whole.err);
    const child = spawnDeno(["train.ts", ...job, "--name", "stopped"]);
    const metrics = join(out, "stopped", "metrics.jsonl");
    await waitFor(async () => (await metricLines(metrics)) >= 3, "three steps");
    child.kill(signal);
    const stopped = await finished(child);
    assert.equal(stopped.code, signal === "SIGINT" ? 130 : 143, stopped.err);
    const match = new RegExp(
      `${signal}: stopped after sourceOnly step (\\d+) of 60; checkpoint .*sourceOnly.ckpt\\. Continue with the same flags and --resume`,
    ).exec(stopped.err);
    assert.ok(match, stopped.err);
    const step = Number(match[1]);
    assert.ok(step < 60, "the signal landed mid-run");
    const checkpoint = join(out, "stopped", "checkpoints", "sourceOnly.ckpt");
    assert.equal((await loadCheckpoint(checkpoint)).position.step, step);
    assert.equal(await metricLines(metrics), step);
    const resumed = await runDeno(["train.ts", ...job, "--name", "stopped", "--resume"]);
    assert.equal(resumed.code, 0, resumed.err);
    await sameCheckpoints(join(out, "whole", "checkpoints", "sourceOnly.ckpt"), checkpoint);
    assert.equal(await metricLines(metrics), 60);
    await Deno.remove(out, { recursive: true });
  });
}

Deno.test("one writer per run folder: a second run of the same folder is refused while the first holds it", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-lock-" });
  const job = [...TINY, "--steps", "40", "--checkpoint-every", "1", "--out", out, "--name", "r"];
  const first = spawnDeno(["train.ts", ...job]);
  await waitFor(
    async () => (await Deno.stat(join(out, "r", "checkpoints", "sourceOnly.ckpt"))).isFile,
    "a checkpoint",
  );
  const second = await runDeno(["train.ts", ...job, "--resume"]);
  assert.equal(second.code, 1);
  assert.match(second.err, /r is in use by process \d+ .*one run writes a folder at a time/);
  const done = await finished(first);
  assert.equal(done.code, 0, done.err);
  const lines = (await Deno.readTextFile(join(out, "r", "metrics.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l).step);
  assert.deepEqual(lines, Array.from({ length: 40 }, (_, i) => i + 1));
  // A lock left by a dead process is stale: taken over.
  await Deno.writeTextFile(join(out, "r", "run.lock"), JSON.stringify({ pid: 2 ** 22 + 7 }));
  const again = await runDeno(["train.ts", ...job, "--resume"]);
  assert.equal(again.code, 0, again.err);
  await assert.rejects(() => Deno.stat(join(out, "r", "run.lock")), Deno.errors.NotFound);
  await Deno.remove(out, { recursive: true });
});

Deno.test("resume refuses options that change the result, before writing anything; a torn metrics line and stale temporaries are cleared", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-resume-opts-" });
  const job = [...TINY, "--steps", "4", "--checkpoint-every", "2", "--out", out, "--name", "r"];
  const made = await runDeno(["train.ts", ...job]);
  assert.equal(made.code, 0, made.err);
  const config = await Deno.readTextFile(join(out, "r", "config.json"));
  const changed = await runDeno([
    "train.ts",
    ...job,
    "--resume",
    "--seed",
    "7",
    "--seg-lr",
    "0.5",
    "--batch",
    "4",
  ]);
  assert.equal(changed.code, 1);
  assert.match(changed.err, /--resume with options that change the result/);
  assert.match(changed.err, /--seed: the run has 0, given 7/);
  assert.match(changed.err, /--seg-lr: the run has 0\.01, given 0\.5/);
  assert.match(changed.err, /--batch: the run has 2, given 4/);
  assert.match(changed.err, /--accept-changes/);
  assert.equal(await Deno.readTextFile(join(out, "r", "config.json")), config);
  // Steering options may change.
  assert.deepEqual(
    resumeDifferences({ threads: 1, evalEvery: 5 }, { threads: 2, evalEvery: 0 }),
    [],
  );

  // A metrics line cut by a kill, and a temporary file left by one.
  const metrics = join(out, "r", "metrics.jsonl");
  const full = await Deno.readTextFile(metrics);
  await Deno.writeTextFile(metrics, full + '{"phase":"sourceOnly","st');
  const stale = join(out, "r", "checkpoints", "sourceOnly.ckpt.tmp-0badc0de");
  await Deno.writeFile(stale, new Uint8Array(100));
  const resumed = await runDeno(["train.ts", ...job, "--resume"]);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /metrics.jsonl: dropped a last line cut short by a kill/);
  assert.match(resumed.out, /removed a stale temporary file sourceOnly.ckpt.tmp-0badc0de/);
  await assert.rejects(() => Deno.stat(stale), Deno.errors.NotFound);
  assert.equal(await Deno.readTextFile(metrics), full);
  // A bad line before the last one is an error naming the file and line.
  await Deno.writeTextFile(metrics, "{bad\n" + full);
  const broken = await runDeno(["train.ts", ...job, "--resume"]);
  assert.equal(broken.code, 1);
  assert.match(broken.err, /metrics.jsonl: line 1 is not JSON/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("the metrics log keeps a bounded sample in memory and rewrites the file as a stream", async () => {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  const log = new MetricsLog(path, 64);
  await log.reset();
  const steps = 5000;
  for (let step = 1; step <= steps; step++) {
    await log.append({
      phase: "a",
      step,
      seg: 1 / step,
      ...(step % 1000 === 0 ? { targetMIoU: 0.5 } : {}),
    });
  }
  for (let step = 1; step <= 10; step++) await log.append({ phase: "b", step, seg: step });
  const sampled = log.lines("a");
  // Bounded: at most 2 × cap samples, the evaluations and the recent lines; in step order.
  assert.ok(sampled.length <= 2 * 64 + 5 + 50, `${sampled.length} lines kept`);
  assert.deepEqual(
    sampled.map((l) => l.step),
    [...sampled.map((l) => l.step as number)].sort((x, y) => x - y),
  );
  for (const step of [1, 1000, 2000, 3000, 4000, 5000]) {
    assert.ok(sampled.some((l) => l.step === step));
  }
  assert.deepEqual(
    log.recent("a").map((l) => l.step),
    Array.from({ length: 50 }, (_, i) => steps - 49 + i),
  );
  assert.deepEqual(log.phases(), ["a", "b"]);
  // A resume keeps the lines up to each phase's checkpoint: the file and the sample agree.
  const keep = (line: Record<string, unknown>) =>
    (line.step as number) <= (line.phase === "a" ? 3000 : 0);
  const reread = new MetricsLog(path, 64);
  assert.deepEqual(await reread.load(keep), { torn: false });
  await reread.rewrite(keep);
  const left: unknown[] = [];
  await scanMetricsLog(path, (line) => left.push(line.step));
  assert.deepEqual(left, Array.from({ length: 3000 }, (_, i) => i + 1));
  assert.equal(reread.recent("a").at(-1)?.step, 3000);
  assert.deepEqual(reread.phases(), ["a"]);
  // A torn last line is dropped and reported; a bad line before it names the file and line.
  await Deno.writeTextFile(path, '{"a":1}\n{"a"');
  const seen: unknown[] = [];
  assert.deepEqual(await scanMetricsLog(path, (line) => seen.push(line)), { torn: true });
  assert.deepEqual(seen, [{ a: 1 }]);
  await Deno.writeTextFile(path, '{"a"\n{"a":1}\n');
  await assert.rejects(
    () => scanMetricsLog(path, () => {}),
    new RegExp(`${path}: line 1 is not JSON`),
  );
  await Deno.remove(path);
});

Deno.test("a start refused late leaves no folder behind; bad flags and paths get messages in our terms", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-late-" });
  const scale = await runDeno([
    "train.ts",
    ...TINY,
    "--digit-scale-max",
    "99",
    "--out",
    out,
    "--name",
    "s",
  ]);
  assert.equal(scale.code, 1);
  assert.doesNotMatch(scale.err, /Uncaught| {4}at /);
  await assert.rejects(() => Deno.stat(join(out, "s")), Deno.errors.NotFound);
  // A method setting that only the data's class count makes wrong: refused before any phase.
  const skip = await runDeno([
    "train.ts",
    ...TINY,
    "--warmup-steps",
    "2",
    "--also",
    "cdga",
    "--group-skip-classes",
    "11",
    "--out",
    out,
    "--name",
    "k",
  ]);
  assert.equal(skip.code, 1);
  assert.match(skip.err, /groupSkipClasses: "11" is not a class id \(0 … 10\)/);
  assert.doesNotMatch(skip.out, /step\/s/);
  await assert.rejects(() => Deno.stat(join(out, "k")), Deno.errors.NotFound);
  const init = await runDeno([
    "train.ts",
    ...TINY,
    "--init-from",
    join(out, "missing.safetensors"),
    "--out",
    out,
    "--name",
    "i",
  ]);
  assert.equal(init.code, 1);
  assert.match(init.err, /missing.safetensors/);
  await assert.rejects(() => Deno.stat(join(out, "i")), Deno.errors.NotFound);
  const rerun = await runDeno(["train.ts", ...TINY, "--steps", "2", "--out", out, "--name", "i"]);
  assert.equal(rerun.code, 0, rerun.err);
  // eval and predict: a negative count, and output paths that cannot be written, are refused
  // up front with the flag and the path named.
  const checkpoint = join(out, "i", "checkpoints", "cdga.ckpt");
  const negative = await runDeno(["eval.ts", "--checkpoint", checkpoint, "--samples", "-3"]);
  assert.equal(negative.code, 1);
  assert.match(negative.err, /--samples must be a positive integer, got -3/);
  const underFile = join(out, "i", "config.json", "out.json");
  const json = await runDeno(["eval.ts", "--checkpoint", checkpoint, "--json", underFile]);
  assert.equal(json.code, 1);
  assert.match(json.err, /--json .*config.json\/out.json: .*config.json is a file, not a folder/);
  await Deno.mkdir(join(out, "in"));
  await Deno.writeFile(join(out, "in", "a.png"), new Uint8Array(8));
  const device = await runDeno([
    "predict.ts",
    "--checkpoint",
    checkpoint,
    "--input",
    join(out, "in"),
    "--output",
    "/proc/uda-x",
  ]);
  assert.equal(device.code, 1);
  assert.match(device.err, /--output \/proc\/uda-x: .*choose an ordinary folder/);
  // A run.lock that is a folder is named, with what to do.
  await Deno.mkdir(join(out, "i", "run.lock"));
  const locked = await runDeno([
    "train.ts",
    ...TINY,
    "--steps",
    "2",
    "--out",
    out,
    "--name",
    "i",
    "--resume",
  ]);
  assert.equal(locked.code, 1);
  assert.match(locked.err, /i\/run.lock is a folder; .*Remove or rename that folder/);

  const empty = await runDeno(["train.ts", ...TINY, "--name", "", "--out", out]);
  assert.match(empty.err, /--name "": a run needs a folder name of its own/);
  const proc = await runDeno(["train.ts", ...TINY, "--out", "/proc/uda-seg-runs"]);
  assert.equal(proc.code, 1);
  assert.match(proc.err, /\/proc\/uda-seg-runs.*: cannot make the run folder there/);
  assert.doesNotMatch(proc.err, /allow-all/);
  await assert.rejects(() => parseOptions(["--steps", "-5"]), /--steps: steps must be ≥ 1, got -5/);
  const tile = await runDeno([
    "predict.ts",
    "--checkpoint",
    "c",
    "--input",
    "i",
    "--output",
    out,
    "--tile",
    "20",
  ]);
  assert.equal(tile.code, 1);
  assert.match(tile.err, /--tile must be 0 or a multiple of 8 of at least 16, got 20/);
  // A seed outside the compared range would otherwise run nothing and exit 0.
  const only = await runDeno(["compare.ts", "--only", "3", "--out", out]);
  assert.equal(only.code, 1);
  assert.match(only.err, /--only must be a seed from 0 to 2 \(--seeds 3\), got 3/);
  const config = join(out, "c.json");
  await Deno.writeTextFile(config, JSON.stringify({ "warmup-steps": 3 }));
  await assert.rejects(
    () => parseOptions(["--config", config]),
    /unknown key "warmup-steps" \(did you mean "warmupSteps"\?/,
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("a checkpoint of a method variant evaluates; stored options are read by version, unknown ones named", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-variant-" });
  const job = [
    ...TINY.filter((a, i, all) =>
      a !== "sourceOnly" && all[i - 1] !== "--method" && a !== "--method"
    ),
    "--method",
    "cdga",
    "--also",
    "cdga.pixel",
    "--steps",
    "2",
    "--out",
    out,
    "--name",
    "v",
  ];
  const made = await runDeno(["train.ts", ...job]);
  assert.equal(made.code, 0, made.err);
  const config = JSON.parse(await Deno.readTextFile(join(out, "v", "config.json")));
  assert.equal(config.optionsVersion, OPTIONS_VERSION);
  const checkpoint = join(out, "v", "checkpoints", "cdga.pixel.ckpt");
  const evaluated = await runDeno(["eval.ts", "--checkpoint", checkpoint, "--backend", "wasm"]);
  assert.equal(evaluated.code, 0, evaluated.err);
  assert.match(evaluated.out, /cdga\.pixel on /);
  await Deno.remove(out, { recursive: true });
});

Deno.test("a signal during the final evaluation stops at once (exit 130); --resume writes the report", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-eval-signal-" });
  // Many scored samples make the evaluation long enough to land a signal in it, and to tell
  // stopping at once from stopping after it.
  const job = [...TINY, "--steps", "2", "--test-samples", "3000", "--out", out, "--name", "r"];
  const child = spawnDeno(["train.ts", ...job]);
  const checkpoint = join(out, "r", "checkpoints", "sourceOnly.ckpt");
  await waitFor(async () => (await loadCheckpoint(checkpoint)).position.done === true, "training");
  const sent = performance.now();
  child.kill("SIGINT");
  const stopped = await finished(child);
  const seconds = (performance.now() - sent) / 1000;
  assert.equal(stopped.code, 130, stopped.err);
  assert.match(stopped.err, /SIGINT: stopped during the final evaluation; every phase is trained/);
  await assert.rejects(() => Deno.stat(join(out, "r", "report.json")), Deno.errors.NotFound);
  const resumeStarted = performance.now();
  const resumed = await runDeno(["train.ts", ...job, "--resume"]);
  const evaluationSeconds = (performance.now() - resumeStarted) / 1000;
  assert.equal(resumed.code, 0, resumed.err);
  // "At once": well before the evaluation the resume runs whole could have ended (a relative
  // bound, so that a loaded machine, which slows both alike, does not fail it).
  assert.ok(
    seconds < evaluationSeconds / 2,
    `stopped ${seconds.toFixed(1)} s after the signal; the whole evaluation takes ${
      evaluationSeconds.toFixed(1)
    } s`,
  );
  assert.ok((await Deno.stat(join(out, "r", "report.json"))).isFile);
  await Deno.remove(out, { recursive: true });
});
