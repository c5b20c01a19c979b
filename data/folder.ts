/**
 * A user's own data: the generic folder data set, in named splits.
 *
 * {@linkcode FOLDER_LAYOUT} is the layout, as `--help` prints it. A split
 * folder holds `images/*.png`, optionally `labels/*.png` of the same names
 * (one channel of class ids), optionally `domains.csv` (or `styles.csv`:
 * `id,domain` per image, for per-sub-domain tables) and optionally
 * `classes.json`. A domain folder (`--source-root`, `--target-root`) is one
 * split folder, or holds split folders `train/`, optionally `val/` and `eval/`
 * (or `test/`). A data-set root (`--data-root`) holds the domain folders
 * `source/` and `target/`, and may hold the one `classes.json` of all splits.
 *
 * @example
 * ```ts ignore
 * const domain = await resolveDomain("/data/mine/target", ["/data/mine"], "target");
 * const evalSplit = await folder(domain.splits.eval!, { labels: true });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { DataError } from "./image_io.ts";
import { type ClassTable, tableFromJson } from "./labels.ts";
import { type Dataset, pairByName, pairedDataset } from "./datasets.ts";

/** The layout of folder data sets, for `--help` and for errors that expect it. */
export const FOLDER_LAYOUT = `\
  DATA/                     --data-root DATA (or --source-root DATA/source --target-root DATA/target)
    classes.json            {"names": [...], optional "ids", "palette", "ignore"}; or one per domain or split
    source/train/           images/*.png and labels/*.png (same names)
    source/val/             optional, labelled; else a seeded share of source/train is held out (--holdout)
    target/train/           images/*.png; labels/ are not read by adaptation (the oracle uses them if present)
    target/val/             optional, labelled: intermediate evaluations and the validation column
    target/eval/            labelled (or target/test/): the reported split; without it, target/val is
                            reported, and without both a seeded share of labelled target/train is held out
  Any split may hold domains.csv (or styles.csv), lines "id,domain" (id: image name, with or without
  .png), for per-sub-domain tables. A domain folder may also be a single split (images/, labels/).`;

/** The split folders a domain folder may hold. */
export const SPLIT_NAMES = ["train", "val", "eval"] as const;

/** A split's name. */
export type SplitName = typeof SPLIT_NAMES[number];

/** One split folder, as found on disk. */
export interface FolderSplit {
  /** The split folder. */
  root: string;
  /** Whether it has a `labels/` folder. */
  labelled: boolean;
  /** Its sub-domain list (`domains.csv` or `styles.csv`), where there is one. */
  domainsPath?: string;
  /** The class list that applies (its own, its domain's or the data set's), where there is one. */
  classesPath?: string;
}

/** A domain folder: its splits. */
export interface FolderDomain {
  root: string;
  /** Whether the folder is one split (`images/` directly under it) or holds split folders. */
  layout: "single" | "splits";
  splits: Partial<Record<SplitName, FolderSplit>>;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function describeSplit(
  root: string,
  classSearch: readonly string[],
  what: string,
  needClasses: boolean,
): Promise<FolderSplit> {
  if (!(await isDirectory(join(root, "images")))) {
    throw new DataError(
      join(root, "images"),
      `the ${what} split has no image folder; expected this layout:\n${FOLDER_LAYOUT}`,
    );
  }
  let classesPath: string | undefined;
  for (const dir of [root, ...classSearch]) {
    if (await isFile(join(dir, "classes.json"))) {
      classesPath = join(dir, "classes.json");
      break;
    }
  }
  if (!classesPath && needClasses) {
    throw new DataError(
      join(root, "classes.json"),
      `no class list for the ${what} split (looked in ${
        [root, ...classSearch].join(", ")
      }); expected this layout:\n${FOLDER_LAYOUT}`,
    );
  }
  let domainsPath: string | undefined;
  const found: string[] = [];
  for (const name of ["domains.csv", "styles.csv"]) {
    if (await isFile(join(root, name))) found.push(join(root, name));
  }
  if (found.length > 1) {
    throw new DataError(root, `both domains.csv and styles.csv: keep one sub-domain list`);
  }
  if (found.length === 1) domainsPath = found[0];
  return {
    root,
    labelled: await isDirectory(join(root, "labels")),
    ...(classesPath ? { classesPath } : {}),
    ...(domainsPath ? { domainsPath } : {}),
  };
}

/**
 * Finds a domain folder's splits: `images/` directly under it (one split,
 * `train`), or split folders `train/`, `val/`, `eval/` (or `test/`). A
 * folder that is neither is an error that prints the expected layout.
 * `classSearch` are the folders above it where `classes.json` may be; the
 * source's training split must find one (a split without one uses the
 * source's).
 *
 * @example
 * ```ts ignore
 * const source = await resolveDomain("/data/mine/source", ["/data/mine"], "source");
 * console.log(Object.keys(source.splits)); // ["train", "val"]
 * ```
 */
export async function resolveDomain(
  root: string,
  classSearch: readonly string[],
  what: "source" | "target",
): Promise<FolderDomain> {
  if (!(await isDirectory(root))) {
    throw new DataError(
      root,
      `the ${what} folder does not exist or is not a folder; expected this layout:\n${FOLDER_LAYOUT}`,
    );
  }
  if (await isDirectory(join(root, "images"))) {
    return {
      root,
      layout: "single",
      splits: { train: await describeSplit(root, classSearch, what, what === "source") },
    };
  }
  if (!(await isDirectory(join(root, "train")))) {
    throw new DataError(
      root,
      `neither images/ nor a train/ split folder under the ${what} folder; expected this layout:\n${FOLDER_LAYOUT}`,
    );
  }
  const search = [root, ...classSearch];
  const splits: Partial<Record<SplitName, FolderSplit>> = {
    train: await describeSplit(join(root, "train"), search, `${what}/train`, what === "source"),
  };
  if (await isDirectory(join(root, "val"))) {
    splits.val = await describeSplit(join(root, "val"), search, `${what}/val`, false);
  }
  const present: string[] = [];
  for (const d of ["eval", "test"]) if (await isDirectory(join(root, d))) present.push(d);
  if (present.length > 1) {
    throw new DataError(
      root,
      `both eval/ and test/ under the ${what} folder: name the reported split once`,
    );
  }
  if (present.length === 1) {
    splits.eval = await describeSplit(
      join(root, present[0]),
      search,
      `${what}/${present[0]}`,
      false,
    );
  }
  return { root, layout: "splits", splits };
}

/**
 * Describes one split folder given on its own (`--target-eval-root`).
 *
 * @example
 * ```ts ignore
 * const evalSplit = await resolveSplit("/data/eval", ["/data"], "target/eval");
 * ```
 */
export function resolveSplit(
  root: string,
  classSearch: readonly string[],
  what: string,
): Promise<FolderSplit> {
  return describeSplit(root, classSearch, what, false);
}

/**
 * Parses a sub-domain list: lines `id,domain` (an optional header whose
 * first field is `id`, `image`, `name` or `file`; CRLF or LF line ends; a
 * byte-order mark; blank lines and `#` comments skipped; fields may be
 * quoted). Ids are image names with or without `.png`. A malformed line, an
 * empty field or a repeated id is a {@linkcode DataError} naming the file and
 * the line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDomains } from "./folder.ts";
 * const domains = parseDomains("id,domain\r\na.png,rain\r\nb,fog\r\n", "domains.csv");
 * assert.deepEqual([domains.get("a"), domains.get("b")], ["rain", "fog"]);
 * ```
 */
export function parseDomains(text: string, path: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  let seenFirst = false;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(",").map((f) => f.trim().replace(/^"(.*)"$/, "$1").trim());
    if (!seenFirst) {
      seenFirst = true;
      if (["id", "image", "name", "file"].includes(fields[0].toLowerCase())) return;
    }
    if (fields.length !== 2 || fields[0] === "" || fields[1] === "") {
      throw new DataError(
        path,
        `line ${i + 1}: expected "id,domain", got ${JSON.stringify(raw)}`,
      );
    }
    const id = fields[0].replace(/\.png$/i, "");
    if (out.has(id)) throw new DataError(path, `line ${i + 1}: image ${fields[0]} is listed twice`);
    out.set(id, fields[1]);
  });
  if (out.size === 0) throw new DataError(path, "the sub-domain list names no image");
  return out;
}

/** Options of {@linkcode folder}. */
export interface FolderOptions {
  /** Read the labels (default true); false for unlabelled adaptation images. */
  labels?: boolean;
  /** Why labels are needed, for the error when the split has none. */
  labelsFor?: string;
  /** The class list, where the caller has read it already. */
  classes?: ClassTable;
  /** A description for logs and reports (default: the folder). */
  description?: string;
  /** Called with each file's path before it is read. */
  onRead?: (path: string) => void;
  /** The most pixels an image may declare (default `MAX_IMAGE_PIXELS`). */
  maxPixels?: number;
}

/**
 * Reads a class list file, naming it in any error.
 *
 * @example
 * ```ts ignore
 * const table = await readClasses("/data/mine/classes.json");
 * ```
 */
export async function readClasses(path: string): Promise<ClassTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new DataError(path, `cannot read the class list (${(error as Error).message})`);
  }
  return tableFromJson(text, path);
}

/**
 * One split folder as a data set: its images, their labels (unless
 * `labels: false`), their sub-domains from `domains.csv` or `styles.csv`
 * (every image must be listed, and every listed id must be an image), and
 * its class list (`options.classes`, or the split's). `split` may be a path (a single split folder with its own
 * `classes.json`) or a {@linkcode FolderSplit}.
 *
 * @example
 * ```ts ignore
 * const mine = await folder("/data/my-set");
 * const target = await folder(domain.splits.train!, { labels: false });
 * ```
 */
export async function folder(
  split: string | FolderSplit,
  options: FolderOptions = {},
): Promise<Dataset> {
  const where = typeof split === "string"
    ? await describeSplit(split, [], "folder", options.classes === undefined)
    : split;
  let classes = options.classes;
  if (!classes) {
    if (!where.classesPath) throw new DataError(join(where.root, "classes.json"), "no class list");
    classes = await readClasses(where.classesPath);
  }
  const withLabels = options.labels ?? true;
  if (withLabels && !where.labelled) {
    throw new DataError(
      join(where.root, "labels"),
      `this split needs labels${
        options.labelsFor ? ` (${options.labelsFor})` : ""
      } but has no labels/ folder`,
    );
  }
  const pairs = await pairByName(
    join(where.root, "images"),
    withLabels ? join(where.root, "labels") : undefined,
  );
  if (where.domainsPath) {
    let text: string;
    try {
      text = await Deno.readTextFile(where.domainsPath);
    } catch (error) {
      throw new DataError(
        where.domainsPath,
        `cannot read the sub-domain list (${(error as Error).message})`,
      );
    }
    const domains = parseDomains(text, where.domainsPath);
    const ids = new Set<string>();
    const unlisted: string[] = [];
    for (const pair of pairs) {
      const id = pair.name.replace(/\.png$/i, "");
      ids.add(id);
      const domain = domains.get(id);
      if (domain === undefined) unlisted.push(pair.name);
      else pair.style = domain;
    }
    if (unlisted.length > 0) {
      throw new DataError(
        where.domainsPath,
        `no sub-domain for ${unlisted.length} image(s) of ${join(where.root, "images")}: ${
          unlisted.slice(0, 5).join(", ")
        }${unlisted.length > 5 ? ", …" : ""}`,
      );
    }
    const stray = [...domains.keys()].filter((id) => !ids.has(id));
    if (stray.length > 0) {
      throw new DataError(
        where.domainsPath,
        `lists ${stray.length} id(s) with no image in ${join(where.root, "images")}: ${
          stray.slice(0, 5).join(", ")
        }${stray.length > 5 ? ", …" : ""}`,
      );
    }
  }
  return pairedDataset(options.description ?? `folder ${where.root}`, pairs, classes, {
    onRead: options.onRead,
    maxPixels: options.maxPixels,
  });
}
