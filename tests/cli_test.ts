import assert from "node:assert/strict";
import { join } from "node:path";
import { tf } from "../lib/tf.ts";
import { key } from "../lib/random.ts";
import { dispose, flatten } from "../lib/tree.ts";
import { initDeepLab } from "../model/deeplab.ts";
import {
  helpText,
  OPTION_SECTIONS,
  OPTIONS,
  optionsFromStored,
  parseOptions,
  RECIPES,
} from "../cli/options.ts";
import { methodDefaults, METHODS, resolveConfig } from "../methods/config.ts";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  restoreTree,
  saveCheckpoint,
} from "../io/checkpoint.ts";
import { loadSafetensors } from "../io/safetensors.ts";
import { on } from "./helpers.ts";
import { methodConfig } from "../cli/config.ts";
import { phaseLabel, phasesOf } from "../cli/phases.ts";
await on("wasm");

Deno.test("options: flags, a validated --config file, and --help for every option", async () => {
  const dir = await Deno.makeTempDir();
  const good = join(dir, "good.json"),
    unknown = join(dir, "unknown.json"),
    wrong = join(dir, "wrong.json");
  await Deno.writeTextFile(
    good,
    JSON.stringify({ steps: 7, method: "advEnt", classEquivalence: false }),
  );
  await Deno.writeTextFile(unknown, JSON.stringify({ stepz: 7 }));
  await Deno.writeTextFile(wrong, JSON.stringify({ groups: "eight" }));
  const o = await parseOptions(["--config", good, "--steps", "9"]);
  assert.equal(o.steps, 9, "flags win over the file");
  assert.equal(o.method, "advEnt");
  assert.equal(o.classEquivalence, false);
  assert.equal((await parseOptions(["--no-class-equivalence"])).classEquivalence, false);
  await assert.rejects(
    () => parseOptions(["--config", unknown]),
    /unknown.json: unknown key "stepz"/,
  );
  await assert.rejects(
    () => parseOptions(["--config", wrong]),
    /wrong.json: groups must be a number \(not in quotes\), got "eight"/,
  );
  await assert.rejects(
    () => parseOptions(["--method", "magic"]),
    /--method: method must be one of sourceOnly, adaptSegNet/,
  );
  await assert.rejects(() => parseOptions(["--steps", "0"]), /steps must be ≥ 1/);
  const quoted = join(dir, "quoted.json");
  await Deno.writeTextFile(quoted, JSON.stringify({ seed: "1" }));
  await assert.rejects(
    () => parseOptions(["--config", quoted]),
    /quoted.json: seed must be a number \(not in quotes\), got "1"/,
  );
  await assert.rejects(
    () => parseOptions(["--name", "../escape"]),
    /--name must be a folder name .*"..\/escape"/,
  );
  await assert.rejects(
    () => parseOptions(["--accept-changes"]),
    /--accept-changes only goes with --resume/,
  );
  await assert.rejects(() => parseOptions(["--stepz", "1"]), /flags: Unknown option '--stepz'/);
  const help = helpText("deno task train");
  for (const name of Object.keys(OPTIONS)) {
    assert.ok(
      help.includes(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`),
      `--help misses ${name}`,
    );
  }
  // Grouped by concern: each section's heading, then its flags, before the next heading.
  const headings = OPTION_SECTIONS.map((s) => help.indexOf(`\n${s.title}:\n`));
  assert.deepEqual(headings.toSorted((a, b) => a - b), headings, "sections in order");
  OPTION_SECTIONS.forEach((section, i) => {
    for (const name of Object.keys(section.options)) {
      const at = help.indexOf(`  --${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} `);
      assert.ok(at > headings[i] && (i + 1 === headings.length || at < headings[i + 1]), name);
    }
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("one set of defaults: deno task train resolves every method exactly as makeTrainer does", async () => {
  const o = await parseOptions([]);
  assert.deepEqual(RECIPES.short, {}, "the default recipe is the library's defaults");
  for (const method of METHODS) {
    const fromJob = resolveConfig(methodConfig(o, method, 11));
    const seg = fromJob.seg;
    // The job's G trains batch norm's affine parameters with batch statistics (from scratch).
    const fromLibrary = resolveConfig({ method, seg, optim: { trainNormAffine: true } });
    assert.deepEqual(fromJob, fromLibrary, method);
    // And the schedule length: the library's equals the job's warm-up + steps.
    assert.equal(methodDefaults(method).optim.steps, o.warmupSteps + o.steps);
  }
  // Every option the library owns is given by the job; changing one flag changes the library field.
  const moved = resolveConfig(methodConfig(await parseOptions(["--disc-width", "7"]), "cdga", 11));
  assert.equal(moved.disc.width, 7);
});

// --------------------------------------------------------------- checkpoints

Deno.test("recipes replace defaults, explicit flags win; phases name variants and the oracle", async () => {
  const published = await parseOptions(["--recipe", "published"]);
  assert.equal(published.segOptimizer, "sgd");
  assert.equal(published.lambdaAdv, 0.001);
  assert.equal(published.lambdaAdvEnt, 0.001);
  assert.equal(published.discLr, 1e-4);
  assert.equal(published.discResolution, "input");
  assert.equal((await parseOptions(["--recipe", "published", "--disc-lr", "0.5"])).discLr, 0.5);
  // The tuned defaults: AdaptSegNet's and AdvEnt's D at the input resolution, CDGA's group D on
  // G's output with AdaptSegNet's global term beside it; the pre-sweep recipe keeps the old ones.
  const short = await parseOptions([]);
  assert.equal(methodConfig(short, "advEnt", 11).discResolution, "input");
  assert.equal(methodConfig(short, "adaptSegNet", 11).discResolution, "input");
  assert.equal(methodConfig(short, "cdga", 11).discResolution, "output");
  assert.equal(methodConfig(short, "cdga", 11).global, "adaptSegNet");
  assert.equal(methodConfig(short, "adaptSegNet", 11).lambdas?.adv, 0.05);
  assert.equal(methodConfig(short, "cdga", 11).lambdas?.adv, 0.03);
  assert.deepEqual(
    [
      methodConfig(short, "cdga", 11).lambdas?.global,
      methodConfig(short, "cdga", 11).globalDiscResolution,
    ],
    [0.03, "input"],
  );
  // CDGA's grouping losses at 0.03; every recipe written before that change keeps 0.1.
  const groupingOf = async (args: string[]) => {
    const lambdas = methodConfig(await parseOptions(args), "cdga", 11).lambdas;
    return [lambdas?.sc, lambdas?.orth, lambdas?.bal];
  };
  assert.deepEqual(await groupingOf([]), [0.03, 0.03, 0.03]);
  for (const recipe of ["design-space", "equal-budget", "pre-sweep", "published", "v1"]) {
    assert.deepEqual(await groupingOf(["--recipe", recipe]), [0.1, 0.1, 0.1], recipe);
  }
  assert.deepEqual(await groupingOf(["--recipe", "design-space", "--lambda-orth", "0.2"]), [
    0.1,
    0.2,
    0.1,
  ]);
  // The equal-budget recipe keeps CDGA's global term as that sweep chose it.
  const equalBudget = methodConfig(await parseOptions(["--recipe", "equal-budget"]), "cdga", 11);
  assert.deepEqual([equalBudget.lambdas?.global, equalBudget.globalDiscResolution], [
    0.01,
    "output",
  ]);
  const equalBudgetAsn = methodConfig(
    await parseOptions(["--recipe", "equal-budget"]),
    "adaptSegNet",
    11,
  );
  assert.equal(equalBudgetAsn.lambdas?.adv, 0.03);
  const preSweep = await parseOptions(["--recipe", "pre-sweep"]);
  assert.equal(methodConfig(preSweep, "adaptSegNet", 11).discResolution, "output");
  assert.equal(methodConfig(preSweep, "advEnt", 11).lambdas?.advEnt, 0.03);
  assert.equal(methodConfig(preSweep, "cdga", 11).global, "none");
  assert.equal(methodConfig(preSweep, "cdga", 11).disc?.width, 16);
  // CDGA's global term: its own weight and D resolution, whichever baseline's term it is.
  const globalOf = async (args: string[]) => {
    const c = methodConfig(await parseOptions(args), "cdga", 11);
    return [c.global, c.lambdas?.global, c.globalDiscResolution];
  };
  assert.deepEqual(
    await globalOf([
      "--cdga-global",
      "advEnt",
      "--lambda-cdga-global",
      "0.2",
      "--cdga-global-disc-resolution",
      "input",
    ]),
    ["advEnt", 0.2, "input"],
  );
  assert.deepEqual(await globalOf(["--recipe", "published", "--cdga-global", "adaptSegNet"]), [
    "adaptSegNet",
    0.001,
    "input",
  ]);
  await assert.rejects(
    () => parseOptions(["--cdga-global-disc-resolution", "half"]),
    /cdgaGlobalDiscResolution must be one of input, output/,
  );
  // Stored version-2 options read as they ran: the global term had its baseline's weight.
  const stored = optionsFromStored({
    optionsVersion: 2,
    cdgaGlobal: "advEnt",
    lambdaAdvEnt: 0.05,
    adventDiscResolution: "input",
  }, "config.json");
  assert.deepEqual([stored.lambdaCdgaGlobal, stored.cdgaGlobalDiscResolution], [0.05, "input"]);
  const v1 = await parseOptions(["--recipe", "v1"]);
  assert.deepEqual([v1.warmupSteps, v1.steps, v1.groupDistribution], [300, 400, "pixel"]);
  await assert.rejects(() => parseOptions(["--recipe", "fast"]), /recipe must be one of/);
  const o = await parseOptions(["--method", "cdga", "--also", "adaptSegNet,cdga.class"]);
  assert.deepEqual(phasesOf(o).map((p) => p.name), [
    "warmup",
    "sourceOnly",
    "adaptSegNet",
    "cdga.class",
    "cdga",
    "oracle",
  ]);
  assert.deepEqual(phasesOf(o).find((p) => p.name === "cdga.class")?.overrides, {
    groupDistribution: "class",
  });
  assert.ok(!phasesOf(await parseOptions(["--no-oracle"])).some((p) => p.method === "oracle"));
  assert.throws(
    () => phasesOf({ ...o, also: "cdga.magic" }),
    /unknown variant "magic" of cdga \(one of pixel, class, GC\)/,
  );
  assert.throws(() => phasesOf({ ...o, also: "advEnt.class" }), /of advEnt \(it has none\)/);
  // Labels come from the methods' definitions; a name that is no method stays as it is.
  assert.deepEqual(
    ["cdga.GC", "advEnt", "oracle", "warmup"].map(phaseLabel),
    ["CDGA, grouping losses train G and C", "ADVENT (AdvEnt)", "target oracle", "warmup"],
  );
});

Deno.test("a checkpoint with a NaN under a valid checksum (forged: the writer refuses NaN) is refused on load", async () => {
  const w = tf.tensor1d([1, 2, 3]);
  const bytes = await encodeCheckpoint({
    config: {},
    position: { phase: "p", step: 1, done: false },
    tensors: { params: { w } },
  });
  w.dispose();
  // The tensor bytes sit just before the 32-byte digest: make the last float a NaN, re-sign.
  const forged = bytes.slice();
  const end = forged.length - 32;
  new DataView(forged.buffer).setFloat32(end - 4, NaN, true);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", forged.subarray(0, end)));
  forged.set(digest, end);
  await assert.rejects(
    () => decodeCheckpoint(forged, "forged.ckpt"),
    /forged.ckpt: 'params\/w' holds a non-finite value \(NaN\)/,
  );
  assert.deepEqual([...(await decodeCheckpoint(bytes)).values.get("params/w")!.data], [1, 2, 3]);
});

Deno.test("checkpoints round-trip bit for bit; truncated or corrupt files are errors naming them", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "x.ckpt");
  const tree = {
    params: { w: tf.randomNormal([3, 4], 0, 1, "float32", 1), n: tf.tensor1d([1, -2], "int32") },
    opt: [{ c: tf.scalar(5) }],
  };
  await saveCheckpoint(path, {
    config: { a: 1 },
    position: { phase: "p", step: 3, done: false },
    tensors: tree,
  });
  const loaded = await loadCheckpoint(path);
  assert.deepEqual(loaded.position, { phase: "p", step: 3, done: false });
  const back = restoreTree(loaded, "", tree, path);
  for (const [[p, a], [, b]] of flatten(tree).map((e, i) => [e, flatten(back)[i]])) {
    assert.deepEqual(
      new Uint8Array((await b.data()).buffer),
      new Uint8Array((await a.data()).buffer),
      p,
    );
    assert.equal(a.dtype, b.dtype);
  }
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(join(dir, "cut.ckpt"), bytes.subarray(0, bytes.length - 5));
  await assert.rejects(
    () => loadCheckpoint(join(dir, "cut.ckpt")),
    /cut.ckpt: truncated or padded checkpoint/,
  );
  await Deno.writeFile(join(dir, "head.ckpt"), bytes.subarray(0, 30));
  await assert.rejects(
    () => loadCheckpoint(join(dir, "head.ckpt")),
    /head.ckpt: truncated checkpoint \(the header/,
  );
  const flipped = bytes.slice();
  flipped[flipped.length - 3] ^= 0xff;
  await Deno.writeFile(join(dir, "bad.ckpt"), flipped);
  await assert.rejects(
    () => loadCheckpoint(join(dir, "bad.ckpt")),
    /bad.ckpt: corrupt checkpoint \(its header or tensor data does not match its checksum/,
  );
  // The header is covered too: an edited step is refused.
  const text = new TextDecoder("latin1").decode(bytes);
  const edited = Uint8Array.from(text.replace('"step":3', '"step":2'), (c) => c.charCodeAt(0));
  assert.equal(edited.length, bytes.length);
  await Deno.writeFile(join(dir, "edited.ckpt"), edited);
  await assert.rejects(
    () => loadCheckpoint(join(dir, "edited.ckpt")),
    /edited.ckpt: corrupt checkpoint \(its header or tensor data does not match its checksum/,
  );
  // Format 1 (checksum of the tensors in the header) is still read.
  const headerLength = new DataView(bytes.buffer).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  const body = bytes.subarray(12 + headerLength, bytes.length - 32);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body.slice()));
  const v1Header = new TextEncoder().encode(JSON.stringify({
    ...header,
    format: 1,
    sha256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
  }));
  const v1 = new Uint8Array(12 + v1Header.length + body.length);
  v1.set(bytes.subarray(0, 8));
  new DataView(v1.buffer).setUint32(8, v1Header.length, true);
  v1.set(v1Header, 12);
  v1.set(body, 12 + v1Header.length);
  await Deno.writeFile(join(dir, "v1.ckpt"), v1);
  assert.deepEqual((await loadCheckpoint(join(dir, "v1.ckpt"))).position.step, 3);
  // A tree holding a NaN is never written; the file already there stays.
  const poisoned = { w: tf.tensor1d([1, NaN, Infinity]) };
  await assert.rejects(
    () =>
      saveCheckpoint(path, {
        config: {},
        position: { phase: "p", step: 4, done: false },
        tensors: poisoned,
      }),
    /x.ckpt: not written: 'w' holds 2 non-finite value\(s\)/,
  );
  assert.equal((await loadCheckpoint(path)).position.step, 3);
  poisoned.w.dispose();
  await Deno.writeFile(
    join(dir, "other.ckpt"),
    new TextEncoder().encode("hello world, not a checkpoint"),
  );
  await assert.rejects(
    () => loadCheckpoint(join(dir, "other.ckpt")),
    /other.ckpt: not a checkpoint/,
  );
  assert.throws(
    () => restoreTree(loaded, "", { ...tree, extra: tf.scalar(0) }, path),
    /has no tensor 'extra'/,
  );
  dispose([tree, back] as never);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--init-from reads .safetensors by parameter path; bad files are errors naming the tensor", async () => {
  const dir = await Deno.makeTempDir();
  const config = { depth: 18 as const, width: 0.125, classes: 3 };
  const source = initDeepLab(key(1), config), template = initDeepLab(key(2), config);
  const entries = flatten(source);
  const header: Record<string, unknown> = {};
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [p, t] of entries) {
    const data = new Float32Array(await t.data());
    header[`seg/${p}`] = {
      dtype: "F32",
      shape: t.shape,
      data_offsets: [offset, offset + data.byteLength],
    };
    chunks.push(new Uint8Array(data.buffer));
    offset += data.byteLength;
  }
  const write = async (name: string, h: Record<string, unknown>, body: Uint8Array[]) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const size = new Uint8Array(8);
    new DataView(size.buffer).setBigUint64(0, BigInt(json.length), true);
    const path = join(dir, name);
    await Deno.writeFile(path, new Uint8Array([...size, ...json, ...body.flatMap((c) => [...c])]));
    return path;
  };
  const good = await write("good.safetensors", header, chunks);
  const loaded = await loadSafetensors(good, template);
  for (const [[p, a], [, b]] of entries.map((e, i) => [e, flatten(loaded)[i]])) {
    assert.deepEqual(await b.data(), await a.data(), p);
  }
  const { [`seg/${entries[0][0]}`]: _dropped, ...missing } = header;
  const noFirst = await write("missing.safetensors", missing, chunks);
  await assert.rejects(
    () => loadSafetensors(noFirst, template),
    new RegExp(`missing.safetensors: missing tensor '${entries[0][0]}'`),
  );
  const cut = await write("cut.safetensors", header, chunks.slice(0, 2));
  await assert.rejects(
    () => loadSafetensors(cut, template),
    /cut.safetensors: tensor .* lies outside the file/,
  );
  dispose([source, template, loaded]);
  await Deno.remove(dir, { recursive: true });
});

// ------------------------------------------------------------- the whole job
