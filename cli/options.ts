/**
 * The training job's options: one schema gives the command-line flags, the
 * keys of `--config file.json`, their validation and `--help`. An unknown key
 * or a value of the wrong type is an error that names it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOptions } from "./options.ts";
 * const options = await parseOptions(["--steps", "100", "--method", "adaptSegNet"]);
 * assert.deepEqual([options.steps, options.method], [100, "adaptSegNet"]);
 * ```
 *
 * @module
 */
import { commandHelp, type FlagSpec } from "./command.ts";
import { parseCommandArgs } from "./arguments.ts";
import { FOLDER_LAYOUT } from "../data/folder.ts";
import {
  OPTION_SECTIONS,
  OPTION_SPECS,
  OPTIONS,
  type OptionSpec,
  RECIPE_NAMES,
} from "./option_specs.ts";
import {
  checkOption as check,
  kebabCase as kebab,
  type OptionValue,
  type ValueOfSpec,
} from "../lib/option_spec.ts";
import type { Method } from "../methods/config.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";

export { OPTION_SECTIONS, OPTION_SPECS, OPTIONS, RECIPE_NAMES };

/** CDGA's grouping-loss weights before they moved to 0.03: every recipe older than that keeps them. */
const GROUPING_LOSSES_AT_0_1 = { lambdaSc: 0.1, lambdaOrth: 0.1, lambdaBal: 0.1 } as const;

/**
 * Named recipes: values that replace the defaults of the options they name
 * (a flag or config key given explicitly still wins). The defaults are the
 * library's (`methods/config.ts`, `methodDefaults`): the short schedule with
 * each method's adversarial settings chosen by the equal-budget sweep and
 * the design-space rounds after it; that is `short`. `design-space` is the
 * short recipe before CDGA's grouping losses moved from 0.1 to 0.03
 * (λ_sc = λ_orth = λ_bal; every older recipe keeps 0.1). `equal-budget` is the
 * short recipe as the equal-budget sweep left it (AdaptSegNet's λ_adv 0.03,
 * CDGA's global term at λ_global 0.01 on G's output). `pre-sweep` is the short recipe as it stood
 * before the sweep (the values the sweep's grids were written against). `published` is
 * AdaptSegNet's protocol (SGD 2.5e-4 with the head ×10, λ_adv 0.001, D's
 * Adam at 1e-4, D 64 wide on the input resolution), tuned for 250,000 steps
 * from ImageNet weights. `v1` is this project's defaults before the
 * adaptation work (300 + 400 steps, Adam 3e-4, λ_adv 0.001, D at 1e-4,
 * pixel-weighted CDGA groups). Typed: a key that is not an option, or a
 * value of the wrong type, does not compile.
 */
export const RECIPES = {
  short: {},
  "design-space": GROUPING_LOSSES_AT_0_1,
  "equal-budget": {
    ...GROUPING_LOSSES_AT_0_1,
    lambdaAdv: 0.03,
    lambdaCdgaGlobal: 0.01,
    cdgaGlobalDiscResolution: "output",
  },
  "pre-sweep": {
    ...GROUPING_LOSSES_AT_0_1,
    segOptimizer: "adam",
    segLr: 1e-3,
    headMultiplier: 1,
    lambdaAdv: 0.01,
    lambdaAdvCdga: 0.01,
    lambdaAdvEnt: 0.03,
    lambdaEnt: 0.01,
    lambdaCdgaGlobal: 0.01,
    discLr: 1e-3,
    discWidth: 16,
    discResolution: "output",
    cdgaDiscResolution: "output",
    adventDiscResolution: "input",
    cdgaGlobal: "none",
    cdgaGlobalDiscResolution: "output",
    groupDistribution: "class",
  },
  published: {
    ...GROUPING_LOSSES_AT_0_1,
    segOptimizer: "sgd",
    segLr: 2.5e-4,
    headMultiplier: 10,
    lambdaAdv: 0.001,
    lambdaAdvCdga: 0.001,
    lambdaAdvEnt: 0.001,
    lambdaEnt: 0.001,
    lambdaCdgaGlobal: 0.001,
    discLr: 1e-4,
    discWidth: 64,
    discResolution: "input",
    cdgaDiscResolution: "input",
    adventDiscResolution: "input",
    cdgaGlobal: "none",
    cdgaGlobalDiscResolution: "input",
  },
  v1: {
    ...GROUPING_LOSSES_AT_0_1,
    warmupSteps: 300,
    steps: 400,
    segOptimizer: "adam",
    segLr: 3e-4,
    headMultiplier: 1,
    lambdaAdv: 0.001,
    lambdaAdvCdga: 0.001,
    lambdaAdvEnt: 0.001,
    lambdaEnt: 0.001,
    lambdaCdgaGlobal: 0.001,
    discLr: 1e-4,
    adventDiscResolution: "output",
    discWidth: 16,
    discResolution: "output",
    cdgaDiscResolution: "output",
    cdgaGlobal: "none",
    cdgaGlobalDiscResolution: "output",
    groupDistribution: "pixel",
  },
} as const satisfies Record<typeof RECIPE_NAMES[number], Partial<Options>>;

type Specs = typeof OPTIONS;

/**
 * The resolved options. Each method's own settings (its definition's
 * `options`) are there too, under their names, outside this type: a method
 * reads them from its configuration (`methodOptionValues` hands them on).
 */
export type Options = {
  -readonly [K in keyof Specs]:
    | ValueOfSpec<Specs[K]>
    | (Specs[K]["default"] extends undefined ? undefined : never);
};

/**
 * The values of `method`'s own settings in parsed options, by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { methodOptionValues, parseOptions } from "./options.ts";
 * assert.deepEqual(methodOptionValues(await parseOptions([]), "adaptSegNet"), {});
 * ```
 */
export function methodOptionValues(options: Options, method: Method): Record<string, OptionValue> {
  const all: Readonly<Record<string, unknown>> = options;
  const out: Record<string, OptionValue> = {};
  for (const name of Object.keys(METHOD_DEFINITIONS[method].options ?? {})) {
    out[name] = all[name] as OptionValue;
  }
  return out;
}

/**
 * The help text: every flag with its default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpText } from "./options.ts";
 * assert.deepEqual(helpText("deno task train").includes("--steps"), true);
 * ```
 */
export function helpText(usage: string): string {
  const flags: Record<string, FlagSpec> = {};
  for (const { title, options } of OPTION_SECTIONS) {
    for (const [name, spec] of Object.entries(options)) {
      flags[kebab(name)] = flagOf(name, spec, title);
    }
  }
  return commandHelp({
    usage: `${usage} [flags]`,
    flags,
    notes: `Folder data sets (--dataset folder):\n\n${FOLDER_LAYOUT}`,
  });
}

/** An option as a flag of the help, under its section's title. */
function flagOf(name: string, spec: OptionSpec, section: string): FlagSpec {
  const on = spec.kind === "boolean" && spec.default === true;
  return {
    section,
    kind: spec.kind,
    value: spec.kind === "boolean" ? undefined : spec.kind === "string" ? "S" : "N",
    help: on ? `${spec.help} (on by default; --no-${kebab(name)} turns it off)` : spec.help,
    default: spec.kind === "boolean" ? undefined : spec.default,
    choices: spec.choices,
  };
}

/** The options given as flags (camelCase names), values as written. */
function readFlags(args: string[], specs: Record<string, OptionSpec>): Record<string, unknown> {
  const parseSpec: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    parseSpec[kebab(name)] = { type: spec.kind === "boolean" ? "boolean" : "string" };
    if (spec.kind === "boolean") parseSpec[`no-${kebab(name)}`] = { type: "boolean" };
  }
  // `--steps -5`: a value that starts with "-" goes with its flag, for our own checks to judge it.
  let parsed;
  try {
    parsed = parseCommandArgs(args, parseSpec);
  } catch (error) {
    throw new Error(`flags: ${(error as Error).message}`);
  }
  const fromFlags: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = parsed.values[kebab(name)];
    if (value !== undefined) fromFlags[name] = value;
    if (spec.kind === "boolean" && parsed.values[`no-${kebab(name)}`]) fromFlags[name] = false;
  }
  return fromFlags;
}

/** The options of a `--config` JSON file, each checked against its spec. */
async function readConfigFile(
  configPath: string,
  specs: Record<string, OptionSpec>,
): Promise<Record<string, unknown>> {
  const fromFile: Record<string, unknown> = {};
  let text: string, json: unknown;
  try {
    text = await Deno.readTextFile(configPath);
  } catch (error) {
    throw new Error(`${configPath}: cannot read the config (${(error as Error).message})`);
  }
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${configPath}: the config is not valid JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${configPath}: the config must be a JSON object`);
  }
  for (const [key, value] of Object.entries(json)) {
    const spec = specs[key];
    if (!spec || spec.flagOnly) {
      const camel = key.replace(/^-+/, "").replace(
        /-([a-z])/g,
        (_, c: string) => c.toUpperCase(),
      );
      const hint = spec?.flagOnly
        ? " (a command-line flag only)"
        : specs[camel] && !specs[camel].flagOnly
        ? ` (did you mean ${JSON.stringify(camel)}? config keys are written in camelCase)`
        : "";
      throw new Error(`${configPath}: unknown key ${JSON.stringify(key)}${hint}`);
    }
    fromFile[key] = check(key, spec, value, configPath, true);
  }
  return fromFile;
}

/** The checks that involve more than one option, or a value's form beyond its type. */
function checkTogether(options: Record<string, unknown>): void {
  const name = options.name;
  if (typeof name === "string" && name !== "" && !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) {
    throw new Error(
      `--name must be a folder name (letters, digits, . _ + -, no path), got ${
        JSON.stringify(options.name)
      }`,
    );
  }
  if (options.acceptChanges && !options.resume) {
    throw new Error(
      "--accept-changes only goes with --resume (it lets a resumed run change options)",
    );
  }
  const rates = String(options.asppRates).split(",").map((r) => Number(r.trim()));
  if (rates.length === 0 || !rates.every((r) => Number.isInteger(r) && r >= 1)) {
    throw new Error(
      `--aspp-rates must be positive integers separated by commas, got ${
        JSON.stringify(options.asppRates)
      }`,
    );
  }
}

/**
 * Parses flags (and `--config` JSON, which flags override) into validated
 * options.
 *
 * @example
 * ```ts
 * import { parseOptions } from "./options.ts";
 * try { await parseOptions(["--steps", "-3"]); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export async function parseOptions(args: string[]): Promise<Options> {
  const specs = OPTION_SPECS;
  const fromFlags = readFlags(args, specs);
  const configPath = fromFlags.config as string | undefined;
  const fromFile = configPath ? await readConfigFile(configPath, specs) : {};
  const options: Record<string, unknown> = {};
  const recipeName = check(
    "recipe",
    specs.recipe,
    fromFlags.recipe ?? fromFile.recipe ?? specs.recipe.default,
    fromFlags.recipe !== undefined ? "--recipe" : "config",
  ) as keyof typeof RECIPES;
  const recipe: Record<string, unknown> = RECIPES[recipeName];
  for (const [name, spec] of Object.entries(specs)) {
    const raw = fromFlags[name] ?? fromFile[name] ?? recipe[name] ?? spec.default;
    options[name] = raw === undefined
      ? undefined
      : check(name, spec, raw, fromFlags[name] !== undefined ? `--${kebab(name)}` : "config");
  }
  checkTogether(options);
  return options as Options;
}

/**
 * The version of the options as `config.json` and checkpoints store them.
 * 2: CDGA's adversarial weight and D resolution became options of their own
 * (`lambdaAdvCdga`, `cdgaDiscResolution`; version 1 runs used `lambdaAdv` and
 * `discResolution`), and `cdgaGlobal`, `groupSignal`, `pseudoLabelThreshold`
 * were added. 3: CDGA's global term got its own weight and D resolution
 * (`lambdaCdgaGlobal`, `cdgaGlobalDiscResolution`; version 2 runs used their
 * baseline's), and every option's default became the library's.
 */
export const OPTIONS_VERSION = 3;

/**
 * Stored options brought to the present version: a version 1 run's CDGA
 * read AdaptSegNet's weight and D resolution, and had none of the later
 * extensions; a version 2 run's global term read its baseline's weight and
 * D resolution; those are filled in as the run had them. Other keys pass
 * through untouched (they are validated where they are read).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upgradeStoredOptions } from "./options.ts";
 * const v3 = upgradeStoredOptions({ lambdaAdv: 0.01, discResolution: "output" });
 * assert.deepEqual([v3.optionsVersion, v3.lambdaAdvCdga, v3.cdgaDiscResolution], [3, 0.01, "output"]);
 * const global = upgradeStoredOptions({ optionsVersion: 2, cdgaGlobal: "advEnt", lambdaAdvEnt: 0.03, adventDiscResolution: "input" });
 * assert.deepEqual([global.lambdaCdgaGlobal, global.cdgaGlobalDiscResolution], [0.03, "input"]);
 * ```
 */
export function upgradeStoredOptions(stored: Record<string, unknown>): Record<string, unknown> {
  let options = stored;
  if ((options.optionsVersion ?? 1) === 1) {
    options = {
      ...options,
      optionsVersion: 2,
      lambdaAdvCdga: options.lambdaAdvCdga ?? options.lambdaAdv,
      cdgaDiscResolution: options.cdgaDiscResolution ?? options.discResolution,
      cdgaGlobal: options.cdgaGlobal ?? "none",
      groupSignal: options.groupSignal ?? "probs",
      pseudoLabelThreshold: options.pseudoLabelThreshold ?? 0,
    };
  }
  if (options.optionsVersion === 2) {
    const fromAdvEnt = options.cdgaGlobal === "advEnt";
    options = {
      ...options,
      optionsVersion: 3,
      lambdaCdgaGlobal: options.lambdaCdgaGlobal ??
        (fromAdvEnt ? options.lambdaAdvEnt : options.lambdaAdv),
      cdgaGlobalDiscResolution: options.cdgaGlobalDiscResolution ??
        (fromAdvEnt ? options.adventDiscResolution : options.discResolution),
    };
  }
  return options;
}

/**
 * Options renamed since they were first stored: old name → new name (empty
 * so far). A rename adds an entry here, so that old runs still read.
 */
const RENAMED: Readonly<Record<string, string>> = {};

/**
 * A run's options from their stored form (a checkpoint's or `config.json`):
 * renamed options mapped, every value validated, options added since the
 * run filled with their defaults. An unknown option, or a version newer than
 * this code, is an error naming `where`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { optionsFromStored } from "./options.ts";
 * const o = optionsFromStored({ optionsVersion: 1, dataset: "digits", steps: 10 }, "run/config.json");
 * assert.deepEqual([o.steps, o.method], [10, "cdga"]);
 * assert.throws(() => optionsFromStored({ stepz: 1 }, "x"), /x: stored option "stepz" is unknown/);
 * ```
 */
export function optionsFromStored(original: Record<string, unknown>, where: string): Options {
  const stored = upgradeStoredOptions(original);
  const version = stored.optionsVersion ?? 1;
  if (typeof version !== "number" || !(version >= 1 && version <= OPTIONS_VERSION)) {
    throw new Error(
      `${where}: options version ${
        JSON.stringify(version)
      }; this version of uda-seg reads 1 to ${OPTIONS_VERSION}`,
    );
  }
  const specs = OPTION_SPECS;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) {
    if (key === "optionsVersion" || key === "classes") continue;
    const name = RENAMED[key] ?? key;
    const spec = specs[name];
    if (!spec) {
      throw new Error(
        `${where}: stored option ${JSON.stringify(key)} is unknown to this version of uda-seg`,
      );
    }
    out[name] = value === undefined || value === null ? undefined : check(name, spec, value, where);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (!(name in out)) out[name] = spec.default;
  }
  return out as Options;
}
