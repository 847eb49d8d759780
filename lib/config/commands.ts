/**
 * The keys of SPEC "Several trees, dumps and hooks": `[[sources]]`, `[[dumps]]`, `before`,
 * `after` (and `hook_timeout`), their schema and the rules between them and the other keys
 * (prefixes distinct and non-overlapping, a dump's category must exist, names unique). Pure.
 */
import * as v from "valibot";
import { ConfigError } from "../core/errors.ts";
import type { Category } from "../core/types.ts";
import { str, strList, table, text, typeName } from "./schema.ts";

/** One tree to back up and the key prefix (under key_prefix) its files go to. */
export interface SourceTree {
  /** Absolute path of the tree. */
  path: string;
  /** "" for the single `source`; else the `[[sources]]` prefix, without slashes at its ends. */
  prefix: string;
  /** This tree's own excludes, added to the global ones. */
  exclude: string[];
}

/** A `[[dumps]]` entry: a command whose stdout becomes one object per run. */
export interface DumpConfig {
  name: string;
  command: string[];
  category: string;
  extension: string;
  timeoutMs: number;
  /** As written in the config ("2h"), for messages. */
  timeout: string;
}

export interface HooksConfig {
  before: string[][];
  after: string[][];
  timeoutMs: number;
  timeout: string;
}

/** Where the dumps go under key_prefix: `dumps/<name><extension>`. */
export const DUMPS_FOLDER = "dumps";
/** The folder of s3backup's own objects (the run manifest): no source may use it. */
const OWN_FOLDER = ".s3backup";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** "90s", "30m", "2h", "1h30m", "1d" in milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(t)) return undefined;
  let ms = 0;
  for (const [, n, , unit] of t.matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d)/g)) {
    ms += Number(n) * UNIT_MS[unit];
  }
  return ms > 0 ? Math.round(ms) : undefined;
}

export function duration() {
  return v.pipe(
    str(),
    v.check(
      (s) => parseDuration(s) !== undefined,
      (i) => `{key} = '${i.input}' is not a duration (e.g. "90s", "30m", "2h", "1h30m")`,
    ),
  );
}

/** An argv: a non-empty array of strings whose first (the program) is not empty. */
function argv() {
  return v.pipe(
    v.array(str(), (i) => `{key} must be an array of strings (argv), got ${typeName(i.input)}`),
    v.minLength(1, "{key} must not be empty (the program and its arguments)"),
    v.check(
      (a) => a.length === 0 || a[0].trim() !== "",
      "{key}: the program (first element) must not be empty",
    ),
  );
}

export function hookList() {
  return v.optional(
    v.array(
      argv(),
      (i) =>
        `{key} must be an array of commands, each an array of strings ` +
        `(e.g. [["/usr/local/sbin/snapshot-up"]]), got ${typeName(i.input)}`,
    ),
    [],
  );
}

const DUMP = table({
  name: text(),
  command: argv(),
  category: v.optional(text(), "database"),
  extension: v.optional(str(), ".sql"),
  timeout: v.optional(duration(), "6h"),
});

const SOURCE = table({
  path: text(),
  prefix: text(),
  exclude: v.optional(strList(), []),
});

export function dumpList() {
  return v.optional(
    v.array(DUMP, (i) => `{key} must be an array of tables ([[dumps]]), got ${typeName(i.input)}`),
    [],
  );
}

export function sourceList() {
  return v.optional(
    v.array(
      SOURCE,
      (i) => `{key} must be an array of tables ([[sources]]), got ${typeName(i.input)}`,
    ),
  );
}

type RawDump = v.InferOutput<typeof DUMP>;
type RawSource = v.InferOutput<typeof SOURCE>;

/** A prefix without slashes at its ends, or why it cannot be one. */
function cleanPrefix(prefix: string, where: string): string {
  const p = prefix.trim().replace(/^\/+|\/+$/g, "");
  const bad = p.split("/").find((seg) => seg === "" || seg === "." || seg === "..");
  if (p === "" || bad !== undefined || p.includes("\0")) {
    throw new ConfigError(`'${where}' = '${prefix}' must be a relative path without '.' or '..'`);
  }
  if (p.split("/")[0] === OWN_FOLDER) {
    throw new ConfigError(`'${where}' = '${prefix}': '${OWN_FOLDER}/' is s3backup's own folder`);
  }
  return p;
}

/** Whether two prefixes overlap: equal, or one a folder of the other ("a" and "a/b"). */
export function prefixesOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/**
 * The trees to back up: `source` alone (prefix ""), or the `[[sources]]` list, whose prefixes
 * must be distinct and not overlap each other nor the dumps' folder.
 */
export function sourcesOf(
  source: string | undefined,
  list: RawSource[] | undefined,
  resolvePath: (p: string) => string,
  hasDumps: boolean,
): SourceTree[] {
  if (source !== undefined && list !== undefined) {
    throw new ConfigError(`'source' and '[[sources]]' cannot both be set: use one or the other`);
  }
  if (source !== undefined) return [{ path: resolvePath(source), prefix: "", exclude: [] }];
  if (list === undefined || list.length === 0) {
    throw new ConfigError(
      `'source' is missing (the tree to back up; or several trees as [[sources]] tables)`,
    );
  }
  const trees = list.map((s, i) => ({
    path: resolvePath(s.path),
    prefix: cleanPrefix(s.prefix, `sources[${i}].prefix`),
    exclude: s.exclude,
  }));
  trees.forEach((t, i) => {
    for (let j = 0; j < i; j++) {
      if (prefixesOverlap(t.prefix, trees[j].prefix)) {
        throw new ConfigError(
          `'sources[${i}].prefix' = '${t.prefix}' overlaps 'sources[${j}].prefix' = ` +
            `'${trees[j].prefix}': each tree needs a prefix of its own`,
        );
      }
    }
    if (hasDumps && prefixesOverlap(t.prefix, DUMPS_FOLDER)) {
      throw new ConfigError(
        `'sources[${i}].prefix' = '${t.prefix}' overlaps '${DUMPS_FOLDER}/', where [[dumps]] go`,
      );
    }
  });
  return trees;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The dumps, each with a unique name, a category that exists and a usable extension. */
export function dumpsOf(list: RawDump[], categories: Category[]): DumpConfig[] {
  const seen = new Set<string>();
  return list.map((d, i) => {
    const where = `dumps[${i}]`;
    if (!NAME.test(d.name)) {
      throw new ConfigError(
        `'${where}.name' = '${d.name}' may use only letters, digits, '.', '-' and '_'`,
      );
    }
    if (seen.has(d.name)) throw new ConfigError(`'${where}.name' = '${d.name}' is used twice`);
    seen.add(d.name);
    if (!categories.some((c) => c.name === d.category)) {
      throw new ConfigError(
        `'${where}.category' = '${d.category}' names no category (use one of: ${
          categories.map((c) => c.name).join(", ")
        })`,
      );
    }
    const ext = d.extension.trim();
    if (ext !== "" && (!ext.startsWith(".") || ext.includes("/") || ext.includes("\0"))) {
      throw new ConfigError(
        `'${where}.extension' = '${d.extension}' must start with '.' and contain no '/'`,
      );
    }
    return {
      name: d.name,
      command: d.command,
      category: d.category,
      extension: ext,
      timeout: d.timeout,
      timeoutMs: parseDuration(d.timeout)!,
    };
  });
}

export function hooksOf(before: string[][], after: string[][], timeout: string): HooksConfig {
  return { before, after, timeout, timeoutMs: parseDuration(timeout)! };
}

/** The key of a dump under key_prefix's folder: `dumps/<name><extension>`. */
export function dumpRelPath(d: Pick<DumpConfig, "name" | "extension">): string {
  return `${DUMPS_FOLDER}/${d.name}${d.extension}`;
}
