/**
 * What every command sets up the same way: the config, the plain-http warnings, the S3 store
 * (cut by the run's signal), the host name, the clock, and the SIGINT/SIGTERM handling.
 */
import { loadConfig } from "../lib/config/load.ts";
import type { Config } from "../lib/config/config.ts";
import type { Clock, Logger } from "../lib/core/ports.ts";
import { interrupted } from "../lib/core/errors.ts";
import { S3Store } from "../lib/adapters/s3/store.ts";
import { createS3Client, plainHttpWarnings } from "../lib/adapters/aws_clients.ts";
import { exitCodeOf } from "./exit_code.ts";

export const systemClock: Clock = { now: () => new Date() };

export interface Context {
  config: Config;
  env: Record<string, string>;
  store: S3Store;
}

/**
 * Loads the config (-c, else the usual places) and builds the S3 store; warns on plain http.
 * Uploads keep to `bwlimit` (the config's, unless the command's --bwlimit says otherwise).
 */
export function openContext(
  configFlag: string | undefined,
  logger: Logger,
  signal?: AbortSignal,
  overrides: { bwlimit?: number } = {},
) {
  const config = loadConfig(configFlag);
  const env = Deno.env.toObject();
  for (const warning of plainHttpWarnings(config.aws, env)) logger.warn(warning);
  const bwlimit = overrides.bwlimit ?? config.bwlimit;
  const store = new S3Store(createS3Client(config.aws, env, { bwlimit }), { signal });
  return { config, env, store } satisfies Context;
}

export function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}

/**
 * An AbortSignal that SIGINT or SIGTERM aborts (reason: the signal's name), so the command ends
 * its work, reports and exits with 130/143. A second signal exits at once.
 */
export function signalOnInterrupt(): AbortSignal {
  const controller = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(sig, () => {
        if (controller.signal.aborted) Deno.exit(exitCodeOf(interrupted(sig)));
        controller.abort(sig);
      });
    } catch { /* signals unsupported (Windows SIGTERM) */ }
  }
  return controller.signal;
}
