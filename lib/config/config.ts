/**
 * The s3backup.toml contract (SPEC.md): the document's schema (keys, types, ranges, defaults),
 * the rules between keys, and the resolved Config every command runs with. Pure: locating and
 * reading the file is load.ts; the original script's environment variables are env.ts.
 */
import * as v from "valibot";
import { parse as parseToml } from "smol-toml";
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigError } from "../core/errors.ts";
import type { Category } from "../core/types.ts";
import {
  bool,
  formatIssue,
  httpUrl,
  int,
  oneOf,
  optionalTable,
  str,
  strList,
  table,
  text,
  typeName,
} from "./schema.ts";
import { INFRA_TABLE, type InfraConfig, infraFromToml } from "./infra.ts";
import { isValidBucketName } from "./buckets.ts";
import { rate } from "./rate.ts";
import type { LogLevel } from "../core/ports.ts";
import { defaultStateDir, processStateEnv, type StateEnv } from "./state_dir.ts";
import {
  type DumpConfig,
  dumpList,
  dumpsOf,
  duration,
  hookList,
  type HooksConfig,
  hooksOf,
  sourceList,
  sourcesOf,
  type SourceTree,
} from "./commands.ts";

export { isHttpUrl } from "./schema.ts";
export { isValidBucketName };
export type { DumpConfig, HooksConfig, InfraConfig, SourceTree };

/**
 * Files uploaded at once by default. Measured on the 5,000-file bench set (initial upload,
 * local server, 2 cores): 8 → 4.4 s, 16 → 3.8 s, 32 → 3.3 s at about the same RSS.
 */
export const DEFAULT_CONCURRENCY = 16;

const CATEGORY = table({
  bucket: v.pipe(
    text(),
    v.check(isValidBucketName, (i) => `{key} = '${i.input}' is not a valid S3 bucket name`),
  ),
  extensions: v.pipe(strList(), v.minLength(1, "{key} is missing or empty")),
});

const CATEGORY_NAME = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_-]+$/, "category name {key} may use only letters, digits, - and _"),
  v.check((name) => name !== "skip", '{key}: "skip" is reserved'),
);

/** The whole document: every key s3backup.toml may have. */
export const DOCUMENT = table({
  source: v.optional(text()),
  sources: sourceList(),
  dumps: dumpList(),
  before: hookList(),
  after: hookList(),
  hook_timeout: v.optional(duration(), "15m"),
  key_prefix: v.optional(str(), ""),
  state_dir: v.optional(text()),
  exclude: v.optional(strList(), []),
  unmatched: v.optional(text()),
  concurrency: v.optional(int(1, 256)),
  log: v.optional(oneOf(["quiet", "normal", "verbose"] as const)),
  bwlimit: v.optional(rate()),
  aws: optionalTable({
    region: v.optional(text()),
    endpoint: v.optional(httpUrl()),
    s3_endpoint: v.optional(httpUrl()),
    sns_endpoint: v.optional(httpUrl()),
    profile: v.optional(text()),
    sns_topic_arn: v.optional(text()),
    force_path_style: v.optional(bool()),
  }),
  categories: v.optional(
    v.record(CATEGORY_NAME, CATEGORY, (i) => `{key} must be a table, got ${typeName(i.input)}`),
    {},
  ),
  restore: optionalTable({
    tier: v.optional(oneOf(["Standard", "Bulk", "Expedited"] as const), "Standard"),
    days: v.optional(int(1, 365), 7),
  }),
  notify: optionalTable({ ping_url: v.optional(httpUrl()) }),
  infra: INFRA_TABLE,
});

export type ConfigDocument = v.InferOutput<typeof DOCUMENT>;

export interface AwsConfig {
  region?: string;
  /** `s3_endpoint`, else `endpoint` (both services); the environment may still set one. */
  s3Endpoint?: string;
  /** `sns_endpoint`, else `endpoint`. */
  snsEndpoint?: string;
  profile?: string;
  snsTopicArn?: string;
  /** Path-style addressing; undefined: on whenever a custom S3 endpoint is in use. */
  forcePathStyle?: boolean;
}

export interface Config {
  /** The file this came from; undefined in zero-config (environment) mode. */
  path?: string;
  /** The tree to back up; with [[sources]], their paths joined by ", " (for messages). */
  source: string;
  /** Every tree to back up: `source` alone (prefix ""), or the [[sources]] tables. */
  sources: SourceTree[];
  dumps: DumpConfig[];
  hooks: HooksConfig;
  keyPrefix: string;
  stateDir: string;
  exclude: string[];
  /** A category name, or "skip". */
  unmatched: string;
  concurrency: number;
  /** `concurrency` was set: a run keeps to it instead of adapting (see in_flight.ts). */
  concurrencySet: boolean;
  /** `log`: how much a command logs unless -v/-q says; undefined: "normal". */
  log?: LogLevel;
  /** `bwlimit`: bytes per second for all uploads together; undefined or 0: no limit. */
  bwlimit?: number;
  aws: AwsConfig;
  categories: Category[];
  restore: ConfigDocument["restore"];
  /** Healthchecks-style heartbeat URL: GET on success, `<url>/fail` on failure. */
  notify: { pingUrl?: string };
  infra: InfraConfig;
}

function normalizeExtension(ext: string, where: string): string {
  const e = ext.trim().toLowerCase();
  if (e === "" || e === ".") throw new ConfigError(`'${where}' has an empty extension`);
  if (e.includes("/")) throw new ConfigError(`'${where}' extension '${ext}' contains '/'`);
  return e.startsWith(".") ? e : `.${e}`;
}

/** The categories, each extension in one category only (compared case-insensitively). */
function categoriesOf(raw: ConfigDocument["categories"]): Category[] {
  const owner = new Map<string, string>();
  const categories = Object.entries(raw).map(([name, c]) => {
    const where = `categories.${name}.extensions`;
    const extensions = [...new Set(c.extensions.map((e) => normalizeExtension(e, where)))];
    for (const ext of extensions) {
      const other = owner.get(ext);
      if (other !== undefined) {
        throw new ConfigError(`'${where}': '${ext}' is also in 'categories.${other}.extensions'`);
      }
      owner.set(ext, name);
    }
    return { name, bucket: c.bucket, extensions };
  });
  if (categories.length === 0) {
    throw new ConfigError(`'categories' must define at least one category`);
  }
  return categories;
}

function resolveFrom(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/**
 * Validates a parsed TOML document; relative paths resolve against baseDir. Pure: the default
 * state_dir depends on the file's place and on `env` (state_dir.ts).
 */
export function configFromToml(
  doc: unknown,
  baseDir: string,
  path?: string,
  env: StateEnv = {},
): Config {
  const parsed = v.safeParse(DOCUMENT, doc);
  if (!parsed.success) throw new ConfigError(parsed.issues.map(formatIssue).join("; "));
  const d = parsed.output;
  const categories = categoriesOf(d.categories);
  const unmatched = d.unmatched ?? categories[0].name;
  if (unmatched !== "skip" && !categories.some((c) => c.name === unmatched)) {
    throw new ConfigError(
      `'unmatched' = '${unmatched}' names no category (use one of: ${
        categories.map((c) => c.name).join(", ")
      }, or "skip")`,
    );
  }
  const { aws } = d;
  const sources = sourcesOf(
    d.source,
    d.sources,
    (p) => resolveFrom(baseDir, p),
    d.dumps.length > 0,
  );
  return {
    path,
    source: sources.map((s) => s.path).join(", "),
    sources,
    dumps: dumpsOf(d.dumps, categories),
    hooks: hooksOf(d.before, d.after, d.hook_timeout),
    keyPrefix: d.key_prefix.replace(/^\/+|\/+$/g, ""),
    stateDir: resolveFrom(baseDir, d.state_dir ?? defaultStateDir(path, env)),
    exclude: d.exclude,
    unmatched,
    concurrency: d.concurrency ?? DEFAULT_CONCURRENCY,
    concurrencySet: d.concurrency !== undefined,
    log: d.log,
    bwlimit: d.bwlimit,
    aws: {
      region: aws.region,
      s3Endpoint: aws.s3_endpoint ?? aws.endpoint,
      snsEndpoint: aws.sns_endpoint ?? aws.endpoint,
      profile: aws.profile,
      snsTopicArn: aws.sns_topic_arn,
      forcePathStyle: aws.force_path_style,
    },
    categories,
    restore: d.restore,
    notify: { pingUrl: d.notify.ping_url },
    infra: infraFromToml(d.infra, aws.region, categories),
  };
}

/**
 * Parses TOML text; syntax errors become ConfigErrors with the file, line and column. `env`
 * (default: this process's) gives the default state_dir of a file outside /etc.
 */
export function parseConfigText(
  text: string,
  path: string,
  env: StateEnv = processStateEnv(),
): Config {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    const { line, column } = (err ?? {}) as { line?: number; column?: number };
    const where = line ? ` at line ${line}${column ? `, column ${column}` : ""}` : "";
    throw new ConfigError(`${path}: invalid TOML${where}: ${msg}`);
  }
  try {
    return configFromToml(doc, dirname(resolve(path)), resolve(path), env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`);
    throw err;
  }
}
