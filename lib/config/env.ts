/**
 * Zero-config mode, the original Python script's drop-in replacement: with no config file, its
 * environment variables define the run, with its extension map.
 */
import { join } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { type Config, configFromToml } from "./config.ts";

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
  const doc = {
    source: env.SOURCE_DIR,
    state_dir: stateDir,
    unmatched: "documents",
    // The script logged one line per skipped file: its drop-in replacement does too.
    log: "verbose",
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
