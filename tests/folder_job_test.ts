/**
 * A user's own data when something is wrong: layout errors that name the
 * file and the layout expected, a corrupt training image, data that moved
 * before `predict`, and what `--resume` checks before it continues a run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { key } from "../lib/random.ts";
import { parseDomains } from "../data/folder.ts";
import { openData } from "../data/plan.ts";
import { parseOptions } from "../cli/options.ts";
import { on, runDeno } from "./helpers.ts";
import { makeDataRoot, TINY } from "./folder_fixtures.ts";

await on("wasm");

Deno.test("folder data: errors name the file and the layout they expected", async () => {
  const data = await makeDataRoot();
  const base = await parseOptions([...TINY, "--data-root", data]);
  const plan = (changes: Record<string, unknown>) =>
    openData({ ...base, ...changes } as typeof base, key(0));
  // Unlabelled target without an evaluation split: which split needs labels, and why.
  await assert.rejects(
    () =>
      plan({
        dataRoot: undefined,
        sourceRoot: join(data, "source"),
        targetRoot: join(data, "target/train"),
      }),
    /target\/train: no labelled target split to evaluate on: adaptation images need no labels/,
  );
  // A folder of neither layout.
  await Deno.mkdir(join(data, "odd/stuff"), { recursive: true });
  await assert.rejects(
    () =>
      plan({
        dataRoot: undefined,
        sourceRoot: join(data, "odd"),
        targetRoot: join(data, "target"),
      }),
    /odd: neither images\/ nor a train\/ split folder under the source folder; expected this layout:[\s\S]*source\/train\//,
  );
  await assert.rejects(
    () => plan({ dataRoot: join(data, "nowhere") }),
    /nowhere\/source: the source folder does not exist/,
  );
  await assert.rejects(
    () => plan({ sourceRoot: join(data, "source") }),
    /--data-root names source\/ and target\/ itself/,
  );
  await assert.rejects(
    () => plan({ dataset: "digits" }),
    /--data-root applies to --dataset folder/,
  );
  await assert.rejects(
    () =>
      plan({
        evaluateOn: "val",
        dataRoot: undefined,
        sourceRoot: join(data, "source"),
        targetRoot: join(data, "target/eval"),
      }),
    /has no val\/ split/,
  );
  // A split whose class list differs from the source's.
  await Deno.writeTextFile(
    join(data, "target/val/classes.json"),
    JSON.stringify({ names: ["a", "b", "c"] }),
  );
  await assert.rejects(
    () => plan({}),
    /target\/val\/classes.json: the class list differs from the source's/,
  );
  await Deno.remove(join(data, "target/val/classes.json"));
  // A sub-domain list that misses an image, or lists one that is not there.
  const csv = join(data, "target/eval/domains.csv");
  const full = await Deno.readTextFile(csv);
  await Deno.writeTextFile(csv, full.split("\r\n").slice(0, 3).join("\r\n"));
  await assert.rejects(() => plan({}), /domains.csv: no sub-domain for 4 image\(s\) of .*e002.png/);
  await Deno.writeTextFile(csv, full + "ghost,rain\r\n");
  await assert.rejects(() => plan({}), /domains.csv: lists 1 id\(s\) with no image in .*: ghost/);
  assert.throws(
    () => parseDomains("id,domain\na,rain\na,fog\n", "d.csv"),
    /d.csv: line 3: image a is listed twice/,
  );
  assert.throws(() => parseDomains("a;rain\n", "d.csv"), /d.csv: line 1: expected "id,domain"/);
  await Deno.remove(data, { recursive: true });
});

Deno.test("a corrupt training image reaches the job as a clean error naming it; predict works after the data moved and names the files it skips", async () => {
  const data = await makeDataRoot();
  const out = await Deno.makeTempDir({ prefix: "uda-folder-bad-" });
  await Deno.writeFile(join(data, "target/train/images/t005.png"), new Uint8Array(64).fill(7));
  const bad = await runDeno([
    "train.ts",
    ...TINY,
    "--data-root",
    data,
    "--out",
    out,
    "--name",
    "b",
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^train: .*target\/train\/images\/t005.png: not a PNG file/m);
  assert.doesNotMatch(bad.err, /Uncaught| {4}at /);
  // The warm-up (source only) finished before the target stream met the file: its checkpoint stays.
  assert.ok((await Deno.stat(join(out, "b", "checkpoints", "warmup.ckpt"))).isFile);

  // The class list and palette travel in the checkpoint: predict needs no data set.
  const moved = `${data}-moved`;
  await Deno.rename(data, moved);
  const input = join(out, "input");
  await Deno.mkdir(input);
  await Deno.copyFile(join(moved, "target/eval/images/e000.png"), join(input, "a.png"));
  await Deno.writeFile(join(input, "b.png"), new Uint8Array(10));
  await Deno.copyFile(join(moved, "target/eval/images/e001.png"), join(input, "c.png"));
  const checkpoint = join(out, "b", "checkpoints", "warmup.ckpt");
  const predicted = await runDeno([
    "predict.ts",
    "--checkpoint",
    checkpoint,
    "--input",
    input,
    "--output",
    join(out, "pred"),
    "--backend",
    "wasm",
  ]);
  assert.equal(predicted.code, 1);
  assert.match(predicted.err, /skipped .*b.png: not a PNG file/);
  assert.match(predicted.err, /1 file\(s\) skipped .*b\.png; every other image was predicted/);
  const written = [...Deno.readDirSync(join(out, "pred"))].map((e) => e.name).sort();
  assert.deepEqual(written, [
    "a_label.png",
    "a_overlay.png",
    "a_pred.png",
    "c_label.png",
    "c_overlay.png",
    "c_pred.png",
  ]);
  const onFile = await runDeno([
    "predict.ts",
    "--checkpoint",
    checkpoint,
    "--input",
    input,
    "--output",
    join(input, "a.png"),
  ]);
  assert.equal(onFile.code, 1);
  assert.match(onFile.err, /--output .*a.png: a file of that name exists; give a folder/);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(moved, { recursive: true });
});

Deno.test("resume checks what it resumes: changed data, a checkpoint from another run or phase, a lost metrics log, a lost config.json", async () => {
  const data = await makeDataRoot();
  const out = await Deno.makeTempDir({ prefix: "uda-folder-resume-" });
  const light = [...TINY, "--method", "sourceOnly", "--baseline", "none", "--no-oracle"];
  const job = [...light, "--data-root", data, "--out", out];
  for (const seed of ["0", "1"]) {
    const made = await runDeno(["train.ts", ...job, "--seed", seed, "--name", `s${seed}`]);
    assert.equal(made.code, 0, made.err);
  }
  const run = join(out, "s0");
  const resume = (...extra: string[]) =>
    runDeno(["train.ts", ...job, "--seed", "0", "--name", "s0", "--resume", ...extra]);
  const splits = await Deno.readTextFile(join(run, "splits.json"));
  assert.match(splits, /"sizes": \[/);

  // An image removed from source/train, another one replaced: refused, naming both, nothing written.
  await Deno.remove(join(data, "source/train/images/s003.png"));
  await Deno.remove(join(data, "source/train/labels/s003.png"));
  const replaced = join(data, "target/val/images/v001.png");
  await Deno.writeFile(replaced, await Deno.readFile(join(data, "source/train/images/s000.png")));
  assert.notEqual(
    (await Deno.stat(replaced)).size,
    (await Deno.stat(join(data, "target/val/images/v000.png"))).size,
  );
  const changed = await resume();
  assert.equal(changed.code, 1);
  assert.match(changed.err, /--resume on data that changed since the run started/);
  // The held-out source share is recomputed over the new list: the issue's silent failure.
  assert.match(changed.err, /source\/train: 1 file removed/);
  assert.match(changed.err, /source\/val: .*images\/s003.png/);
  assert.match(changed.err, /target\/val: 1 file changed size \(images\/v001.png\)/);
  assert.match(changed.err, /--accept-changes/);
  assert.equal(await Deno.readTextFile(join(run, "splits.json")), splits);
  const scored = await runDeno([
    "eval.ts",
    "--checkpoint",
    join(run, "checkpoints", "sourceOnly.ckpt"),
  ]);
  assert.equal(scored.code, 0, scored.err);
  assert.match(
    scored.err,
    /eval: warning: the data differ from the run's .*splits.json:\n {2}source\/train/,
  );
  const accepted = await resume("--accept-changes");
  assert.equal(accepted.code, 0, accepted.err);
  assert.match(accepted.out, /resume: accepted changed split source\/train/);
  assert.notEqual(await Deno.readTextFile(join(run, "splits.json")), splits);
  assert.equal((await resume()).code, 0, "the recorded splits are now the data's");

  // Seed 1's checkpoint in seed 0's folder: refused by its header, not trusted by its name.
  const ckpt = join(run, "checkpoints", "sourceOnly.ckpt");
  const own = await Deno.readFile(ckpt);
  const metrics = join(run, "metrics.jsonl");
  const log = await Deno.readTextFile(metrics);
  await Deno.copyFile(join(out, "s1", "checkpoints", "sourceOnly.ckpt"), ckpt);
  const foreign = await resume();
  assert.equal(foreign.code, 1);
  assert.match(foreign.err, /sourceOnly.ckpt: does not belong to this run's sourceOnly phase/);
  assert.match(foreign.err, /--seed: the run has 0, the checkpoint 1/);
  // The warm-up's checkpoint copied over the method's.
  await Deno.copyFile(join(run, "checkpoints", "warmup.ckpt"), ckpt);
  const swapped = await resume();
  assert.equal(swapped.code, 1);
  assert.match(swapped.err, /it holds phase "warmup", not "sourceOnly"/);
  assert.equal(await Deno.readTextFile(metrics), log, "a refused resume writes nothing");
  await Deno.writeFile(ckpt, own);

  // The metrics log deleted: refused (its steps cannot be rebuilt) unless accepted.
  await Deno.remove(metrics);
  const lost = await resume();
  assert.equal(lost.code, 1);
  assert.match(lost.err, /metrics.jsonl holds 0 of the 1 steps of warmup/);
  await Deno.writeTextFile(metrics, log);

  // config.json deleted or corrupt: rebuilt from the checkpoints, and said so.
  const config = await Deno.readTextFile(join(run, "config.json"));
  await Deno.writeTextFile(join(run, "config.json"), "{ torn");
  const rebuilt = await resume();
  assert.equal(rebuilt.code, 0, rebuilt.err);
  assert.match(rebuilt.out, /config.json was missing or unreadable: rebuilt from the checkpoints/);
  assert.deepEqual(
    JSON.parse(await Deno.readTextFile(join(run, "config.json"))),
    JSON.parse(config),
  );
  await Deno.remove(out, { recursive: true });
  await Deno.remove(data, { recursive: true });
});
