/** The s3backup.toml contract (SPEC.md): parse and validate (pure), then locate and load. */
import { parse as parseToml } from "smol-toml";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { ConfigError } from "../core/errors.ts";
import {
  bool,
  checkKeys,
  int,
  nonEmptyStr,
  str,
  strList,
  type Table,
  table,
} from "./toml_values.ts";
import type { Category } from "../core/types.ts";
import { type InfraConfig, infraFromToml } from "./infra.ts";

/**
 * Files uploaded at once by default. Measured on the 5,000-file bench set (initial upload,
 * local server, 2 cores): 8 → 4.4 s, 16 → 3.8 s, 32 → 3.3 s at about the same RSS; 16 leaves
 * room for the 4 parts a large file sends at once within the SDK's 50 sockets.
 */
export const DEFAULT_CONCURRENCY = 16;

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

export interface RestoreConfig {
  /** Glacier retrieval tier: Standard, Bulk or Expedited. */
  tier: "Standard" | "Bulk" | "Expedited";
  /** How long a restored copy stays readable. */
  days: number;
}

export interface NotifyConfig {
  /** Healthchecks-style heartbeat URL: GET on success, `<url>/fail` on failure. */
  pingUrl?: string;
}

export type { InfraConfig };

export interface Config {
  /** The file this came from; undefined in zero-config (environment) mode. */
  path?: string;
  source: string;
  keyPrefix: string;
  stateDir: string;
  exclude: string[];
  /** A category name, or "skip". */
  unmatched: string;
  concurrency: number;
  aws: AwsConfig;
  categories: Category[];
  restore: RestoreConfig;
  notify: NotifyConfig;
  infra: InfraConfig;
}

const TOP_KEYS = [
  "source",
  "key_prefix",
  "state_dir",
  "exclude",
  "unmatched",
  "concurrency",
  "aws",
  "categories",
  "restore",
  "notify",
  "infra",
];
const AWS_KEYS = [
  "region",
  "endpoint",
  "s3_endpoint",
  "sns_endpoint",
  "profile",
  "sns_topic_arn",
  "force_path_style",
];
const CATEGORY_KEYS = ["bucket", "extensions"];
const RESTORE_KEYS = ["tier", "days"];
const NOTIFY_KEYS = ["ping_url"];

/** S3 bucket naming rules (general purpose buckets). */
const BUCKET_RE = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const RESERVED_BUCKET = /^(sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\.mrap|--x-s3)$/;
const IP_LIKE = /^\d{1,3}(\.\d{1,3}){3}$/;

export function isValidBucketName(name: string): boolean {
  return BUCKET_RE.test(name) && !RESERVED_BUCKET.test(name) && !IP_LIKE.test(name);
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "" &&
      !/\s/.test(value);
  } catch {
    return false;
  }
}

function normalizeExtension(ext: string, where: string): string {
  const e = ext.trim().toLowerCase();
  if (e === "" || e === ".") throw new ConfigError(`'${where}' has an empty extension`);
  if (e.includes("/")) throw new ConfigError(`'${where}' extension '${ext}' contains '/'`);
  return e.startsWith(".") ? e : `.${e}`;
}

function parseCategories(raw: Table): Category[] {
  const categories: Category[] = [];
  const owner = new Map<string, string>();
  for (const [name, value] of Object.entries(raw)) {
    const where = `categories.${name}.`;
    const t = table(raw, name, "categories.");
    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
      throw new ConfigError(
        `category name 'categories.${name}' may use only letters, digits, - and _`,
      );
    }
    if (name === "skip") throw new ConfigError(`'categories.skip': "skip" is reserved`);
    checkKeys(t, CATEGORY_KEYS, where);
    const bucket = nonEmptyStr(t, "bucket", where);
    if (bucket === undefined) throw new ConfigError(`'${where}bucket' is missing`);
    if (!isValidBucketName(bucket)) {
      throw new ConfigError(`'${where}bucket' = '${bucket}' is not a valid S3 bucket name`);
    }
    const exts = strList(t, "extensions", where);
    if (exts === undefined || exts.length === 0) {
      throw new ConfigError(`'${where}extensions' is missing or empty`);
    }
    const extensions = exts.map((e) => normalizeExtension(e, `${where}extensions`));
    for (const ext of extensions) {
      const other = owner.get(ext);
      if (other !== undefined && other !== name) {
        throw new ConfigError(
          `'${where}extensions': '${ext}' is also in 'categories.${other}.extensions'`,
        );
      }
      owner.set(ext, name);
    }
    void value;
    categories.push({ name, bucket, extensions: [...new Set(extensions)] });
  }
  if (categories.length === 0) {
    throw new ConfigError(`'categories' must define at least one category`);
  }
  return categories;
}

function resolveFrom(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** Validates a parsed TOML document; relative paths resolve against baseDir. Pure. */
export function configFromToml(doc: Table, baseDir: string, path?: string): Config {
  checkKeys(doc, TOP_KEYS, "");
  const source = nonEmptyStr(doc, "source", "");
  if (source === undefined) throw new ConfigError(`'source' is missing`);
  const categories = parseCategories(table(doc, "categories", ""));
  const unmatched = nonEmptyStr(doc, "unmatched", "") ?? categories[0].name;
  if (unmatched !== "skip" && !categories.some((c) => c.name === unmatched)) {
    throw new ConfigError(
      `'unmatched' = '${unmatched}' names no category (use one of: ${
        categories.map((c) => c.name).join(", ")
      }, or "skip")`,
    );
  }
  const keyPrefix = (str(doc, "key_prefix", "") ?? "").replace(/^\/+|\/+$/g, "");

  const aws = table(doc, "aws", "");
  checkKeys(aws, AWS_KEYS, "aws.");
  const endpointOf = (key: string) => {
    const value = nonEmptyStr(aws, key, "aws.");
    if (value !== undefined && !isHttpUrl(value)) {
      throw new ConfigError(`'aws.${key}' = '${value}' must be an http:// or https:// URL`);
    }
    return value;
  };
  const endpoint = endpointOf("endpoint");
  const s3Endpoint = endpointOf("s3_endpoint") ?? endpoint;
  const snsEndpoint = endpointOf("sns_endpoint") ?? endpoint;
  const restore = table(doc, "restore", "");
  checkKeys(restore, RESTORE_KEYS, "restore.");
  const tier = str(restore, "tier", "restore.") ?? "Standard";
  if (!["Standard", "Bulk", "Expedited"].includes(tier)) {
    throw new ConfigError(`'restore.tier' must be Standard, Bulk or Expedited, got '${tier}'`);
  }
  const notify = table(doc, "notify", "");
  checkKeys(notify, NOTIFY_KEYS, "notify.");
  const pingUrl = nonEmptyStr(notify, "ping_url", "notify.");
  if (pingUrl !== undefined && !isHttpUrl(pingUrl)) {
    throw new ConfigError(`'notify.ping_url' must be an http:// or https:// URL`);
  }
  const infra = infraFromToml(
    table(doc, "infra", ""),
    nonEmptyStr(aws, "region", "aws."),
    categories,
  );

  return {
    path,
    source: resolveFrom(baseDir, source),
    keyPrefix,
    stateDir: resolveFrom(baseDir, nonEmptyStr(doc, "state_dir", "") ?? ".s3backup"),
    exclude: strList(doc, "exclude", "") ?? [],
    unmatched,
    concurrency: int(doc, "concurrency", "", 1, 256) ?? DEFAULT_CONCURRENCY,
    aws: {
      region: nonEmptyStr(aws, "region", "aws."),
      s3Endpoint,
      snsEndpoint,
      profile: nonEmptyStr(aws, "profile", "aws."),
      snsTopicArn: nonEmptyStr(aws, "sns_topic_arn", "aws."),
      forcePathStyle: bool(aws, "force_path_style", "aws."),
    },
    categories,
    restore: {
      tier: tier as RestoreConfig["tier"],
      days: int(restore, "days", "restore.", 1, 365) ?? 7,
    },
    notify: { pingUrl },
    infra,
  };
}

/** Parses TOML text; syntax errors become ConfigErrors with the file and line. */
export function parseConfigText(text: string, path: string): Config {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    const { line, column } = (err ?? {}) as { line?: number; column?: number };
    const where = line ? ` at line ${line}${column ? `, column ${column}` : ""}` : "";
    throw new ConfigError(`${path}: invalid TOML${where}: ${msg}`);
  }
  try {
    return configFromToml(doc, dirname(resolve(path)), resolve(path));
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`);
    throw err;
  }
}

/** The original Python script's extension map, for zero-config mode. */
export const LEGACY_EXTENSIONS = {
  documents: [".pdf", ".txt"],
  photos: [".jpg", ".png"],
  database: [".sql", ".db"],
};

/** Zero-config mode: the original script's environment variables define the run. */
export function configFromEnv(env: Record<string, string | undefined>, cwd: string): Config {
  const need = ["SOURCE_DIR", "S3_BUCKET_DOCUMENTS", "S3_BUCKET_PHOTOS", "S3_BUCKET_DATABASE"];
  const missing = need.filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new ConfigError(
      `no config file found (-c, $S3BACKUP_CONFIG, ./s3backup.toml, /etc/s3backup/s3backup.toml) ` +
        `and the environment does not define ${
          missing.join(", ")
        }; run 's3backup init' to create one`,
    );
  }
  const home = env.HOME ?? cwd;
  const stateDir = env.S3BACKUP_STATE_DIR ??
    join(env.XDG_STATE_HOME ?? join(home, ".local", "state"), "s3backup");
  const doc: Table = {
    source: env.SOURCE_DIR,
    state_dir: stateDir,
    unmatched: "documents",
    aws: env.SNS_TOPIC_ARN ? { sns_topic_arn: env.SNS_TOPIC_ARN } : {},
    categories: {
      documents: { bucket: env.S3_BUCKET_DOCUMENTS, extensions: LEGACY_EXTENSIONS.documents },
      photos: { bucket: env.S3_BUCKET_PHOTOS, extensions: LEGACY_EXTENSIONS.photos },
      database: { bucket: env.S3_BUCKET_DATABASE, extensions: LEGACY_EXTENSIONS.database },
    },
  };
  try {
    return configFromToml(doc, cwd);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Name the variable the user set, not the table key it became.
    const vars: Record<string, string> = {
      "categories.documents.bucket": "S3_BUCKET_DOCUMENTS",
      "categories.photos.bucket": "S3_BUCKET_PHOTOS",
      "categories.database.bucket": "S3_BUCKET_DATABASE",
      "aws.sns_topic_arn": "SNS_TOPIC_ARN",
      "source": "SOURCE_DIR",
    };
    let msg = err.message;
    for (const [key, name] of Object.entries(vars)) msg = msg.replaceAll(`'${key}'`, `$${name}`);
    throw new ConfigError(`environment: ${msg}`);
  }
}

/** Where the config comes from: -c, else $S3BACKUP_CONFIG, else ./s3backup.toml, else /etc. */
export function findConfigPath(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  exists: (p: string) => boolean,
): string | undefined {
  if (flag) return flag;
  if (env.S3BACKUP_CONFIG) return env.S3BACKUP_CONFIG;
  for (const p of ["s3backup.toml", "/etc/s3backup/s3backup.toml"]) if (exists(p)) return p;
  return undefined;
}

function fileExists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

/** Loads the config for a command: an explicit or found file, else the environment. */
export function loadConfig(flag: string | undefined): Config {
  const env = Deno.env.toObject();
  const path = findConfigPath(flag, env, fileExists);
  if (path === undefined) return configFromEnv(env, Deno.cwd());
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "not found" : (err as Error).message;
    throw new ConfigError(`config file ${path}: ${why}`);
  }
  return parseConfigText(text, path);
}
