/**
 * The recipe "add a method" of `docs/architecture.md`, carried out: a copy
 * of the repository gains one method file (MaxSquares, with a setting of its
 * own) and its line in `methods/registry.ts`, nothing else; then its flag is
 * in `--help`, it trains, its metric is in the plot and its phase in the
 * report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO, runDeno, TINY_MODEL, TINY_SCENES } from "./helpers.ts";

/** The whole new method: maximum squares (Chen et al., ICCV 2019) on the target. */
const MAX_SQUARES = `import { tf } from "../lib/tf.ts";
import { type MethodDefinition, ownOptions } from "./method.ts";

const OPTIONS = {
  lambdaMaxSquares: { kind: "number", default: 0.05, min: 0, help: "λ_ms, the maximum squares weight" },
} as const;

/** G minimises L_seg − λ_ms · ½ mean Σ_c P_t²: confident target predictions. */
export const maxSquares: MethodDefinition = {
  label: "MaxSquares",
  plotted: ["maxSquares"],
  options: OPTIONS,
  reads: { source: true, target: true },
  supervision: "source",
  initParts: () => ({}),
  generator({ config, target }) {
    const { lambdaMaxSquares } = ownOptions(config, OPTIONS);
    const probs = tf.softmax(target!.logits);
    const squares = tf.mul(tf.mean(tf.sum(tf.square(probs), -1)), -0.5);
    return { loss: tf.mul(squares, lambdaMaxSquares), metrics: { maxSquares: squares } };
  },
};
`;

/** The repository's files, without its run folders, git data and installed packages (linked). */
async function copyRepository(to: string): Promise<void> {
  const skip = new Set([".git", "runs", "node_modules", ".device", ".gl"]);
  for await (const entry of Deno.readDir(REPO)) {
    if (skip.has(entry.name)) continue;
    const copied = await new Deno.Command("cp", {
      args: ["-R", join(REPO, entry.name), join(to, entry.name)],
    }).output();
    assert.equal(copied.code, 0, new TextDecoder().decode(copied.stderr));
  }
  await Deno.symlink(join(REPO, "node_modules"), join(to, "node_modules"));
}

Deno.test("a method is one new file plus its registry line: flag, training, plot and report follow", async () => {
  const repo = await Deno.makeTempDir({ prefix: "uda-add-method-" });
  await copyRepository(repo);
  await Deno.writeTextFile(join(repo, "methods", "max_squares.ts"), MAX_SQUARES);
  const registry = join(repo, "methods", "registry.ts");
  const before = await Deno.readTextFile(registry);
  const after = before
    .replace(
      'import { oracle } from "./oracle.ts";\n',
      'import { oracle } from "./oracle.ts";\nimport { maxSquares } from "./max_squares.ts";\n',
    )
    .replace("  oracle,\n}", "  oracle,\n  maxSquares,\n}");
  // The import that names the file and the registry's entry: nothing else changes.
  assert.equal(after.split("\n").length, before.split("\n").length + 2, "the registry edit");
  await Deno.writeTextFile(registry, after);

  // It type-checks as it stands: the method's name joins the `Method` type from the registry.
  const checked = await runDeno(["check", "train.ts", "methods/max_squares.ts"], {
    cwd: repo,
    raw: true,
  });
  assert.equal(checked.code, 0, checked.err);

  const help = await runDeno(["train.ts", "--help"], { cwd: repo });
  assert.equal(help.code, 0, help.err);
  assert.match(help.out, /MaxSquares's own settings:/);
  assert.match(
    help.out,
    /--lambda-max-squares N\s+λ_ms, the maximum squares weight \(default 0.05\)/,
  );
  assert.match(help.out, /--method S[\s\S]*maxSquares/);

  const out = join(repo, "runs");
  const job = [
    ...TINY_MODEL,
    ...TINY_SCENES,
    "--test-samples",
    "4",
    "--warmup-steps",
    "2",
    "--steps",
    "2",
    "--method",
    "maxSquares",
    "--no-oracle",
    "--lambda-max-squares",
    "0.2",
    "--out",
    out,
    "--name",
    "ms",
  ];
  const run = await runDeno(["train.ts", ...job], { cwd: repo });
  assert.equal(run.code, 0, run.err);
  assert.match(run.out, /\| MaxSquares \|/);
  const stored = JSON.parse(await Deno.readTextFile(join(out, "ms", "config.json")));
  assert.equal(stored.lambdaMaxSquares, 0.2);
  const plot = await Deno.readTextFile(join(out, "ms", "plot.svg"));
  assert.ok(plot.includes(">maxSquares maxSquares</text>"), "plot.svg draws the method's metric");
  const report = await Deno.readTextFile(join(out, "ms", "report.md"));
  assert.match(report, /\| MaxSquares \|/);
  const bad = await runDeno(["train.ts", ...job, "--lambda-max-squares", "-1"], { cwd: repo });
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--lambda-max-squares: lambdaMaxSquares must be ≥ 0, got -1/);
  await Deno.remove(repo, { recursive: true });
});
