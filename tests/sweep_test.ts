import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { aggregateSweep, parseGrid, sweepTable } from "../cli/sweep.ts";
import { warmupDifferences } from "../cli/warmup_from.ts";
import { pairedInterval, summarise, tQuantile95 } from "../eval/statistics.ts";
import { classShares, groupAgreement } from "../eval/group_diagnostics.ts";
import { runDeno, TINY_MODEL, TINY_SCENES } from "./helpers.ts";

const TINY = [...TINY_MODEL, ...TINY_SCENES, "--test-samples", "6"];

Deno.test("statistics: the paired t-interval holds the mean, flips with the pair, and is a point for a constant shift", () => {
  const values = fc.array(fc.double({ min: -50, max: 50, noNaN: true }), {
    minLength: 2,
    maxLength: 8,
  });
  fc.assert(fc.property(values, values, (a, b) => {
    const n = Math.min(a.length, b.length);
    const d = pairedInterval(a.slice(0, n), b.slice(0, n));
    const r = pairedInterval(b.slice(0, n), a.slice(0, n));
    assert.ok(d.low <= d.mean + 1e-9 && d.mean <= d.high + 1e-9);
    assert.ok(Math.abs(d.mean + r.mean) < 1e-9 && Math.abs(d.low + r.high) < 1e-6);
    // A constant shift has no spread: the interval is that point.
    const shifted = pairedInterval(a.slice(0, n).map((v) => v + 3), a.slice(0, n));
    assert.ok(Math.abs(shifted.low - 3) < 1e-6 && Math.abs(shifted.high - 3) < 1e-6);
  }));
  assert.deepEqual(tQuantile95(2), 4.303);
  assert.deepEqual(summarise([5]).sd, 0);
  assert.throws(() => pairedInterval([1, 2], [1]), /differ in count/);
});

Deno.test("group diagnostics: shares sum to one per present class; agreement is 0 for the same grouping, ≤ 2, symmetric", () => {
  const mass = (k: number, c: number) =>
    fc.array(
      fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: c, maxLength: c }),
      {
        minLength: k,
        maxLength: k,
      },
    );
  fc.assert(fc.property(mass(3, 4), mass(3, 4), (a, b) => {
    const shares = classShares(a);
    for (let c = 0; c < 4; c++) {
      const total = a.reduce((s, r) => s + r[c], 0);
      const sum = shares.reduce((s, r) => s + r[c], 0);
      assert.ok(total > 0 ? Math.abs(sum - 1) < 1e-9 : sum === 0);
    }
    const ma = { classMass: a, pixels: 1, styleMass: {} };
    const mb = { classMass: b, pixels: 1, styleMass: {} };
    for (const v of groupAgreement(ma, ma)) assert.ok(v < 1e-9);
    const ab = groupAgreement(ma, mb), ba = groupAgreement(mb, ma);
    ab.forEach((v, k) => {
      assert.ok(v >= 0 && v <= 2 + 1e-9);
      assert.ok(Math.abs(v - ba[k]) < 1e-9);
    });
    // Scaling a domain's pixels (more images of the same make-up) changes nothing.
    const scaled = { classMass: b.map((r) => r.map((v) => 7 * v)), pixels: 7, styleMass: {} };
    groupAgreement(ma, scaled).forEach((v, k) => assert.ok(Math.abs(v - ab[k]) < 1e-9));
  }));
});

Deno.test("sweep grids: options by name, reserved and unknown ones refused; aggregation pairs with source only", () => {
  const grid = parseGrid({
    configurations: {
      a: { method: "adaptSegNet", flags: { lambdaAdv: 0.03, classEquivalence: false } },
      b: { method: "cdga" },
    },
    benchmarks: { small: { canvas: 32 } },
  }, "g.json");
  assert.deepEqual(grid.configurations[0].args, [
    "--method",
    "adaptSegNet",
    "--lambda-adv",
    "0.03",
    "--no-class-equivalence",
  ]);
  assert.deepEqual(grid.benchmarks, [{ name: "small", args: ["--canvas", "32"] }]);
  assert.throws(
    () =>
      parseGrid({ configurations: { a: { method: "cdga", flags: { lamdaAdv: 1 } } } }, "g.json"),
    /g.json: configuration "a": unknown option "lamdaAdv"/,
  );
  assert.throws(
    () => parseGrid({ configurations: { a: { method: "cdga", flags: { seed: 1 } } } }, "g.json"),
    /seed is set by the sweep itself/,
  );
  assert.throws(
    () => parseGrid({ configurations: { a: { method: "oracle" } } }, "g.json"),
    /bounds runs/,
  );
  assert.throws(() => parseGrid({ configurations: {} }, "g.json"), /no configurations/);
  assert.deepEqual(grid.args, []);
  const pinned = parseGrid({
    flags: { recipe: "pre-sweep", discWidth: 32 },
    configurations: { a: { method: "cdga" } },
  }, "g.json");
  assert.deepEqual(pinned.args, ["--recipe", "pre-sweep", "--disc-width", "32"]);
  assert.throws(
    () => parseGrid({ flags: { out: "x" }, configurations: { a: { method: "cdga" } } }, "g.json"),
    /g.json: flags: out is set by the sweep itself/,
  );
  assert.throws(
    () => parseGrid({ flags: [1], configurations: { a: { method: "cdga" } } }, "g.json"),
    /g.json: flags must be an object of options/,
  );
  const results = aggregateSweep(
    [
      { configuration: "a", method: "cdga", benchmark: "x", seed: 0, value: 20 },
      { configuration: "a", method: "cdga", benchmark: "x", seed: 1, value: 22 },
      { configuration: "a", method: "cdga", benchmark: "y", seed: 0, value: 30 },
    ],
    [
      { benchmark: "x", seed: 0, sourceOnly: 10 },
      { benchmark: "x", seed: 1, sourceOnly: 14 },
      { benchmark: "y", seed: 0, sourceOnly: 20 },
    ],
    ["x", "y"],
  );
  assert.deepEqual(results[0].perBenchmark.x.gain, [10, 8]);
  assert.deepEqual(results[0].score, 25.5);
  assert.match(sweepTable(results, [], ["x", "y"]), /\| a +\| cdga +\| +21\.0 ± 1\.4/);
  assert.deepEqual(warmupDifferences({ seed: 0, lambdaAdv: 1 }, { seed: 0, lambdaAdv: 2 }), []);
});

Deno.test("deno task sweep: a shared warm-up per seed, validation only, resumable, refuses a changed configuration", async () => {
  const out = await Deno.makeTempDir({ prefix: "uda-sweep-" });
  const grid = join(out, "grid.json");
  const write = (lambda: number) =>
    Deno.writeTextFile(
      grid,
      JSON.stringify({
        configurations: {
          asn: { method: "adaptSegNet", flags: { lambdaAdv: lambda } },
          cdga: { method: "cdga" },
        },
        benchmarks: { tiny: { glyphs: "digits" } },
      }),
    );
  await write(0.01);
  const args = [
    "sweep.ts",
    "--grid",
    grid,
    "--seeds",
    "0",
    "--out",
    join(out, "sweep"),
    ...TINY,
    "--warmup-steps",
    "4",
    "--steps",
    "2",
  ];
  const first = await runDeno(args);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /sweep \[1\/2\] asn on tiny, seed 0: validation mIoU/);
  assert.match(first.out, /warmup: from .*bounds-tiny-seed0\/checkpoints\/warmup\.ckpt/);
  const table = await Deno.readTextFile(join(out, "sweep", "sweep.md"));
  for (const row of ["source only", "target oracle", "asn", "cdga"]) {
    assert.match(table, new RegExp(`\\| ${row} +\\|`));
  }
  // Written as deno fmt writes them (the project's line width), so they can be committed as is.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--check", "--line-width=100", "sweep.md", "sweep.json"],
    cwd: join(out, "sweep"),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    fmt.code,
    0,
    new TextDecoder().decode(fmt.stderr) + new TextDecoder().decode(fmt.stdout),
  );
  // Only the validation split is scored, and the runs share one warm-up.
  const report = JSON.parse(
    await Deno.readTextFile(join(out, "sweep", "cdga-tiny-seed0", "report.json")),
  );
  assert.match(report.scored.target, /digits val target/);
  assert.ok(report.results.cdga.groups.agreement.length === 2, "group diagnostics missing");
  const checkpoints = [...Deno.readDirSync(join(out, "sweep", "cdga-tiny-seed0", "checkpoints"))];
  assert.deepEqual(checkpoints.map((e) => e.name), ["cdga.ckpt"]);
  // A second run trains nothing and gives the same table.
  const again = await runDeno(args);
  assert.equal(again.code, 0, again.err);
  assert.doesNotMatch(again.out, /run folder:/);
  assert.equal(await Deno.readTextFile(join(out, "sweep", "sweep.md")), table);
  // --resume, as an interruption's message advises, starts a configuration that never began.
  await Deno.remove(join(out, "sweep", "cdga-tiny-seed0"), { recursive: true });
  const resumed = await runDeno([...args, "--resume"]);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /run folder: .*cdga-tiny-seed0/);
  assert.equal(await Deno.readTextFile(join(out, "sweep", "sweep.md")), table);
  // A configuration whose flags changed since it ran is refused by name.
  await write(0.02);
  const changed = await runDeno(args);
  assert.equal(changed.code, 1);
  assert.match(changed.err, /asn-tiny-seed0 was run with other options[\s\S]*--lambda-adv/);
  // A run started from a warm-up it cannot use is refused, naming why.
  const trainFrom = (checkpoint: string, ...extra: string[]) =>
    runDeno([
      "train.ts",
      ...TINY,
      "--warmup-steps",
      "4",
      "--steps",
      "2",
      ...extra,
      "--warmup-from",
      checkpoint,
      "--out",
      out,
      "--name",
      "other",
    ]);
  const warm = join(out, "sweep", "bounds-tiny-seed0", "checkpoints", "warmup.ckpt");
  const other = await trainFrom(warm, "--seed", "1");
  assert.equal(other.code, 1);
  assert.match(
    other.err,
    /warmup\.ckpt: .*other options[\s\S]*--seed: the warm-up has 0, this run 1/,
  );
  const notWarm = await trainFrom(
    join(out, "sweep", "cdga-tiny-seed0", "checkpoints", "cdga.ckpt"),
  );
  assert.equal(notWarm.code, 1);
  assert.match(notWarm.err, /needs a finished warm-up; this checkpoint is cdga/);
  await Deno.remove(out, { recursive: true });
});
