/**
 * What every command sets up the same way: the config, the plain-http warnings, the S3 store
 * (cut by the run's signal), the host name, the clock, and the SIGINT/SIGTERM handling.
 * The config code and the AWS SDK are imported when a command opens its context, not at
 * start-up: `--version`, `--help` and a command-line error load neither (bench/README.md, Start-up).
 */
import type { Config } from "../lib/config/config.ts";
import type { Clock, Logger } from "../lib/core/ports.ts";
import { interrupted } from "../lib/core/errors.ts";
import type { S3Store } from "../lib/adapters/s3/store.ts";
import { exitCodeOf } from "./exit_code.ts";

export const systemClock: Clock = { now: () => new Date() };

export interface Context {
  config: Config;
  env: Record<string, string>;
  store: S3Store;
}

/** The config (-c, else the usual places), its code loaded on first use. */
export async function loadConfigLazily(configFlag: string | undefined): Promise<Config> {
  const { loadConfig } = await import("../lib/config/load.ts");
  return loadConfig(configFlag);
}

/**
 * Loads the config (-c, else the usual places) and builds the S3 store; warns on plain http.
 * Uploads keep to `bwlimit` (the config's, unless the command's --bwlimit says otherwise).
 * The SDK (the largest part of start-up) is loaded only once the config is valid.
 */
export async function openContext(
  configFlag: string | undefined,
  logger: Logger,
  signal?: AbortSignal,
  overrides: { bwlimit?: number } = {},
): Promise<Context> {
  const config = await loadConfigLazily(configFlag);
  const env = Deno.env.toObject();
  const [{ S3Store }, { createS3Client, plainHttpWarnings }] = await Promise.all([
    import("../lib/adapters/s3/store.ts"),
    import("../lib/adapters/aws_clients.ts"),
  ]);
  for (const warning of plainHttpWarnings(config.aws, env)) logger.warn(warning);
  const bwlimit = overrides.bwlimit ?? config.bwlimit;
  const store = new S3Store(createS3Client(config.aws, env, { bwlimit }), { signal });
  return { config, env, store };
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
