/**
 * A user's own data through every task: a small folder data set made here
 * (named splits, one class list at the root, unlabelled target training
 * images, a labelled target evaluation split with two sub-domains in a CRLF
 * `domains.csv`) goes through `train`, `eval`, `predict` and `compare`, and
 * the files each split reads are recorded: no evaluation reads a training
 * image.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { key } from "../lib/random.ts";
import { openData } from "../data/plan.ts";
import { parseOptions } from "../cli/options.ts";
import { runTraining } from "../cli/job.ts";
import { exists } from "../cli/run_folder.ts";
import { on, runDeno } from "./helpers.ts";
import { CLASSES, makeDataRoot, names, TINY } from "./folder_fixtures.ts";

await on("wasm");

Deno.test("a folder data set with named splits: train, eval, predict and compare; no evaluation reads a training image", async () => {
  const data = await makeDataRoot();
  const out = await Deno.makeTempDir({ prefix: "uda-folder-runs-" });
  const reads: { role: string; path: string }[] = [];
  const logged: string[] = [];
  const options = await parseOptions([...TINY, "--data-root", data, "--out", out, "--name", "run"]);
  const runDir = await runTraining(options, (l) => logged.push(l), {
    observe: (role, path) => reads.push({ role, path }),
  });

  // Which files each split read: evaluation roles never touch a training file.
  const training = new Set(
    reads.filter((r) => r.role === "source/train" || r.role === "target/train").map((r) => r.path),
  );
  const evaluation = reads.filter((r) => !["source/train", "target/train"].includes(r.role));
  assert.ok(training.size > 0 && evaluation.length > 0);
  for (const r of evaluation) assert.ok(!training.has(r.path), `${r.role} read ${r.path}`);
  for (const r of reads.filter((r) => r.role === "target/train")) {
    assert.match(r.path, /target\/train\/images\//, "adaptation reads target images, not labels");
  }
  for (const r of reads.filter((r) => r.role === "target/eval")) {
    assert.match(r.path, /target\/eval\/(images|labels)\//);
  }
  const evalRead = new Set(reads.filter((r) => r.role === "target/eval").map((r) => r.path));
  for (const n of names("e", 6)) {
    assert.ok(evalRead.has(join(data, "target/eval/images", `${n}.png`)), `${n} scored`);
  }

  // The run folder records the files of every split; the held-out source share is disjoint.
  const splits = JSON.parse(await Deno.readTextFile(join(runDir, "splits.json")));
  assert.deepEqual(Object.keys(splits).sort(), [
    "source/train",
    "source/val",
    "target/eval",
    "target/train",
    "target/val",
  ]);
  assert.equal(splits["target/eval"].files.length, 6);
  assert.equal(splits["target/val"].files.length, 4);
  assert.equal(splits["target/train"].files.length, 8);
  assert.equal(splits["source/val"].count, 1, "10% of 10 source images held out");
  assert.equal(splits["source/train"].count, 9);
  const sourceVal = new Set(splits["source/val"].files);
  for (const f of splits["source/train"].files) assert.ok(!sourceVal.has(f), f);
  assert.match(splits["source/val"].description, /held out of .*source\/train \(split seed 0\)/);

  // Per-sub-domain tables, honest wording, prediction names without a doubled extension.
  const report = await Deno.readTextFile(join(runDir, "report.md"));
  assert.match(report, /### Target: fog/);
  assert.match(report, /### Target: rain/);
  assert.match(report, /held-out target split \(target\/eval \(.*target\/eval\), 6 images\)/);
  assert.match(report, /validation: target\/val/);
  assert.match(report, /### Held-out source/);
  const json = JSON.parse(await Deno.readTextFile(join(runDir, "report.json")));
  assert.deepEqual(Object.keys(json.tables).sort(), ["fog", "overall", "rain"]);
  assert.match(json.scored.target, /^target\/eval/);
  assert.ok(json.summary.every((r: { source: number | null }) => typeof r.source === "number"));
  assert.ok(logged.some((l) => l.startsWith("oracle: skipped")), "target/train has no labels");
  const predictions = [...Deno.readDirSync(join(runDir, "predictions"))].map((e) => e.name);
  assert.ok(predictions.length > 0);
  for (const p of predictions) assert.match(p, /^(rain|fog)_e\d{3}\.svg$/);
  assert.equal(predictions.length, 4, "two panels per sub-domain");
  const panel = await Deno.readTextFile(join(runDir, "predictions", predictions[0]));
  for (const title of ["image", "ground truth", "source only", "CDGA", "background"]) {
    assert.ok(panel.includes(`>${title}</text>`), `the panel shows ${title}`);
  }
  assert.match(
    report,
    /!\[predictions\/(rain|fog)_e\d{3}\.svg\]\(predictions\/(rain|fog)_e\d{3}\.svg\)/,
  );

  // eval: the reported split with its sub-domains, and the held-out source split.
  const checkpoint = join(runDir, "checkpoints", "cdga.ckpt");
  const target = await runDeno(["eval.ts", "--checkpoint", checkpoint, "--backend", "wasm"]);
  assert.equal(target.code, 0, target.err);
  assert.match(target.out, /cdga on target\/eval .*, 6 images/);
  assert.match(
    target.out,
    /### Target: rain[\s\S]*### Target: fog|### Target: fog[\s\S]*### Target: rain/,
  );
  const source = await runDeno([
    "eval.ts",
    "--checkpoint",
    checkpoint,
    "--domain",
    "source",
    "--backend",
    "wasm",
  ]);
  assert.equal(source.code, 0, source.err);
  assert.match(source.out, /on source\/val: 1 of 10 images held out/);
  assert.match(source.out, /### Source: overall/);

  // predict: the class list comes from the data-set root.
  const predictOut = join(out, "predicted");
  const predicted = await runDeno([
    "predict.ts",
    "--checkpoint",
    checkpoint,
    "--input",
    join(data, "target/eval/images"),
    "--output",
    predictOut,
    "--labels",
    join(data, "target/eval/labels"),
    "--backend",
    "wasm",
  ]);
  assert.equal(predicted.code, 0, predicted.err);
  assert.ok((await Deno.stat(join(predictOut, "e000_label.png"))).isFile);
  assert.match(
    await Deno.readTextFile(join(predictOut, "e000_panel.svg")),
    />ground truth<\/text>[\s\S]*>cdga<\/text>/,
  );

  // compare: the same flags, in the same spellings (a value after a space), as train.
  const compareOut = join(out, "compare");
  const compared = await runDeno([
    "compare.ts",
    "--seeds",
    "1",
    "--methods",
    "adaptSegNet",
    ...TINY,
    "--data-root",
    data,
    "--out",
    compareOut,
  ]);
  assert.equal(compared.code, 0, compared.err);
  const summary = await Deno.readTextFile(join(compareOut, "summary.md"));
  assert.match(summary, /held-out target split \(target\/eval \(.*\), 6 images\)/);
  assert.match(summary, /\| rain \| fog \||\| fog \| rain \|/);
  assert.doesNotMatch(summary, /digits/);
  // A resume that accepts changed options: the seed's run picks up its checkpoints and reports again.
  await Deno.remove(join(compareOut, "seed0", "report.json"));
  await Deno.remove(join(compareOut, "summary.md"));
  const resumed = await runDeno([
    "compare.ts",
    "--seeds",
    "1",
    "--methods",
    "adaptSegNet",
    "--resume",
    "--accept-changes",
    ...TINY,
    "--data-root",
    data,
    "--out",
    compareOut,
  ]);
  assert.equal(resumed.code, 0, resumed.err);
  assert.ok(await exists(join(compareOut, "seed0", "report.json")));
  assert.match(await Deno.readTextFile(join(compareOut, "summary.md")), /held-out target split/);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(data, { recursive: true });
});

Deno.test("per-root flags: a labelled flat target root gives a held-out share that adaptation never reads", async () => {
  const data = await makeDataRoot();
  // Flat roots: source/train alone (its own classes.json), target/val as a labelled flat target.
  await Deno.writeTextFile(join(data, "source/train/classes.json"), CLASSES);
  await Deno.writeTextFile(join(data, "target/val/classes.json"), CLASSES);
  const base = {
    ...await parseOptions([
      ...TINY,
      "--source-root",
      join(data, "source/train"),
      "--target-root",
      join(data, "target/val"),
      "--holdout",
      "0.25",
    ]),
  };
  const reads: { role: string; path: string }[] = [];
  const plan = await openData(base, key(0), (role, path) => reads.push({ role, path }));
  assert.equal(plan.test.length, 1, "25% of 4 target images");
  assert.equal(plan.target.length, 3);
  assert.equal(plan.targetLabelled?.length, 3, "the oracle trains on the kept share only");
  const held = new Set(plan.splits["target/eval"].files);
  for (const f of plan.splits["target/train"].files!) assert.ok(!held.has(f), f);
  for (let i = 0; i < plan.target.length; i++) await plan.target.get(i);
  for (let i = 0; i < plan.test.length; i++) await plan.test.get(i);
  const trained = new Set(reads.filter((r) => r.role === "target/train").map((r) => r.path));
  for (const r of reads.filter((r) => r.role === "target/eval")) assert.ok(!trained.has(r.path));
  // The same split seed gives the same share whatever the training seed.
  const again = await openData({ ...base, seed: 5 } as typeof base, key(5));
  assert.deepEqual(again.splits["target/eval"].files, plan.splits["target/eval"].files);
  // --test-samples scores a seeded subset, recorded.
  const fewer = await openData({
    ...base,
    dataRoot: data,
    sourceRoot: undefined,
    targetRoot: undefined,
    testSamples: 4,
  }, key(0));
  assert.equal(fewer.test.length, 4);
  assert.equal(fewer.splits["target/eval"].count, 4);
  assert.match(fewer.test.description, /4 of its 6 samples \(split seed 0\)/);
  // A separate evaluation folder for a flat, unlabelled target.
  const separate = await openData(
    {
      ...base,
      targetRoot: join(data, "target/train"),
      targetEvalRoot: join(data, "target/eval"),
    },
    key(0),
  );
  assert.equal(separate.test.length, 6);
  assert.equal(separate.target.length, 8);
  assert.equal(separate.targetLabelled, undefined);
  await Deno.remove(data, { recursive: true });
});
