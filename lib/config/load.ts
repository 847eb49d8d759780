/** Where the config comes from (-c, $S3BACKUP_CONFIG, ./s3backup.toml, /etc), and reading it. */
import { ConfigError } from "../core/errors.ts";
import { type Config, parseConfigText } from "./config.ts";
import { configFromEnv } from "./env.ts";

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
