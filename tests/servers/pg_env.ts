/**
 * Locate the PostgreSQL cluster started by `tests/servers/postgres.sh start`, as rgw_env.ts
 * locates RGW: PG_HOST / PG_PORT / PG_BIN from the environment, else the env file postgres.sh
 * writes (PG_ENV_FILE, default /tmp/s3backup-pg/env); the server is checked with pg_isready.
 *
 * - Nothing configured, or a stale env file: undefined, so the test skips with
 *   `PG_SKIP_MESSAGE`.
 * - PG_HOST set explicitly (CI) but no server answers: throws; CI must not skip silently.
 */
import { parseEnvFile } from "./rgw_env.ts";

export interface PgEnv {
  host: string;
  port: string;
  user: string;
  /** The folder of pg_dump, pg_restore, psql. */
  bin: string;
}

export const PG_DEFAULT_ENV_FILE = "/tmp/s3backup-pg/env";

export const PG_SKIP_MESSAGE =
  "PostgreSQL not available: run `bash tests/servers/postgres.sh install && " +
  "bash tests/servers/postgres.sh start` (or set PG_HOST, PG_PORT, PG_BIN)";

function getEnv(name: string): string | undefined {
  const v = Deno.env.get(name);
  return v === undefined || v === "" ? undefined : v;
}

async function isReady(pg: PgEnv): Promise<boolean> {
  try {
    const out = await new Deno.Command(`${pg.bin}/pg_isready`, {
      args: ["-q", "-h", pg.host, "-p", pg.port, "-t", "3"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.code === 0;
  } catch {
    return false;
  }
}

export async function pgFromEnv(): Promise<PgEnv | undefined> {
  const explicit = getEnv("PG_HOST") !== undefined;
  let vars: Record<string, string | undefined>;
  if (explicit) {
    vars = {
      PG_HOST: getEnv("PG_HOST"),
      PG_PORT: getEnv("PG_PORT"),
      PG_USER: getEnv("PG_USER"),
      PG_BIN: getEnv("PG_BIN"),
    };
  } else {
    try {
      vars = parseEnvFile(Deno.readTextFileSync(getEnv("PG_ENV_FILE") ?? PG_DEFAULT_ENV_FILE));
    } catch {
      return undefined;
    }
  }
  if (!vars.PG_HOST || !vars.PG_PORT || !vars.PG_BIN) {
    if (explicit) throw new Error("PG_HOST is set but PG_PORT or PG_BIN is missing");
    return undefined;
  }
  const pg = {
    host: vars.PG_HOST,
    port: vars.PG_PORT,
    user: vars.PG_USER ?? "postgres",
    bin: vars.PG_BIN,
  };
  if (!(await isReady(pg))) {
    if (explicit) throw new Error(`PG_HOST=${pg.host}:${pg.port} is set but does not answer`);
    return undefined;
  }
  return pg;
}
