/** `s3backup init`: a commented starter config. Never overwrites an existing file. */
import { resolve } from "node:path";
import { parseConfigText } from "./config.ts";
import { ConfigError, UsageError } from "../core/errors.ts";
import { defaultStateDir, processStateEnv, type StateEnv } from "./state_dir.ts";

export function starterConfig(bucketPrefix: string, source: string, stateDir: string): string {
  const q = JSON.stringify;
  return `# s3backup configuration. Reference: docs/configuration.md.
# Credentials never go here: the AWS SDK's default chain supplies them (environment,
# ~/.aws profiles, SSO, or the instance/container role).

# The folder to back up; a relative path is relative to this file.
source = ${q(source)}
# Objects go to <key_prefix>/<path relative to source>; empty puts them at the bucket's root.
key_prefix = ""
# Local state (what was backed up, run history) and the run lock. Chosen by \`s3backup init\`:
# /var/lib/s3backup for a config under /etc (the systemd unit's StateDirectory; /etc is
# read-only to the run), else $XDG_STATE_HOME/s3backup or ~/.local/state/s3backup.
state_dir = ${q(stateDir)}
# Globs on paths relative to source; an excluded folder is not descended into.
exclude = ["**/.git/**", "**/node_modules/**", "**/*.tmp", "**/*.swp"]
# Category for files no extension matches, or "skip" to leave them out (they are counted).
unmatched = "documents"
# Files uploaded in parallel.
concurrency = 16
# Log "quiet" (warnings and errors), "normal" (uploads, one line for the skipped files) or
# "verbose" (a line per skipped file too); -q / -v win.
# log = "normal"
# Bytes per second for all uploads together (K, M, G suffixes); --bwlimit wins.
# bwlimit = "10M"
# Commands run before and after each run (argv lists, no shell), e.g. a snapshot; see
# docs/databases.md. A failing \`before\` stops the run; \`after\` runs whatever happened.
# before = [["/usr/local/sbin/snapshot-up"]]
# after = [["/usr/local/sbin/snapshot-down"]]

[aws]
region = "eu-south-1"
# profile = "backup"
# endpoint = "http://127.0.0.1:4566"   # only for S3-compatible servers; plain http warns
# The report topic; \`deno task deploy-infra\` prints its ARN.
# sns_topic_arn = "arn:aws:sns:eu-south-1:123456789012:${bucketPrefix}-reports"

[categories.documents]
bucket = ${q(`${bucketPrefix}-documents`)}
extensions = [".pdf", ".txt", ".docx", ".xlsx", ".csv", ".odt", ".ods", ".md"]

[categories.photos]
bucket = ${q(`${bucketPrefix}-photos`)}
extensions = [".jpg", ".jpeg", ".png", ".heic", ".gif", ".tif", ".tiff"]

[categories.database]
bucket = ${q(`${bucketPrefix}-database`)}
extensions = [".sql", ".sql.gz", ".dump", ".db", ".bak"]

# Glacier restores: retrieval tier (Standard, Bulk, Expedited) and days the copy stays readable.
# [restore]
# tier = "Standard"
# days = 7

# A heartbeat monitor (healthchecks.io style): GET on success, <url>/fail on failure.
# [notify]
# ping_url = "https://hc-ping.com/your-uuid"

# A database dump: the command's stdout streamed into dumps/<name><extension> in the
# category's bucket, every run; a dump that fails never becomes a version (docs/databases.md).
# [[dumps]]
# name = "prod"
# command = ["pg_dump", "--format=custom", "prod"]
# extension = ".dump"

# Read only by the infrastructure stack (deno task deploy-infra).
# [infra]
# alert_email = "admin@example.com"
# transition_to_ia_days = 30
# transition_to_glacier_days = 60
# noncurrent_version_expiration_days = 365
# object_lock_days = 0
`;
}

/**
 * Writes the starter config at path, with the state_dir a config in that place gets by default
 * (state_dir.ts); refuses (exit 2) if anything exists there. Returns the state_dir written.
 */
export function writeStarterConfig(
  path: string,
  bucketPrefix: string,
  source: string,
  env: StateEnv = processStateEnv(),
): string {
  let stateDir: string;
  try {
    stateDir = defaultStateDir(resolve(path), env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`init: ${err.message} in the new file`);
    throw err;
  }
  const text = starterConfig(bucketPrefix, source, stateDir);
  try {
    parseConfigText(text, path); // bucket names valid, the file loads as written
  } catch (err) {
    throw new UsageError(`--bucket-prefix ${bucketPrefix}: ${(err as Error).message}`);
  }
  try {
    Deno.writeTextFileSync(path, text, { createNew: true, mode: 0o644 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new UsageError(`${path} already exists; not overwriting it`);
    }
    throw new UsageError(`cannot write ${path}: ${(err as Error).message}`);
  }
  return stateDir;
}
