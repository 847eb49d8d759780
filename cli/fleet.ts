/**
 * `s3backup fleet`: one line per host prefix in the buckets with the time of its last run
 * manifest, for the admin of many servers; no state from any host.
 */
import type { Command } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import { createStderrLogger } from "../lib/adapters/stderr_logger.ts";
import { type LogFlags, logLevelOf } from "./log_options.ts";
import { openContext, systemClock } from "./context.ts";
import { stdout } from "./output.ts";
import { CONFIG_HELP } from "./options.ts";

async function fleet(flags: { config?: string; json?: boolean } & LogFlags): Promise<Outcome> {
  const logger = createStderrLogger(logLevelOf(flags));
  const { config, store } = await openContext(flags.config, logger);
  const { fleetJson, fleetStatus, formatFleet } = await import("../lib/ops/fleet.ts");
  logger.setLevel(logLevelOf(flags, config.log));
  const result = await fleetStatus(config, store, config.concurrency);
  for (const f of result.failures) logger.error(`Error reading ${f.path}: ${f.error}`);
  const now = systemClock.now();
  stdout(flags.json ? fleetJson(result, now) + "\n" : formatFleet(result, now));
  return result.failures.length > 0 ? "partial" : "ok";
}

export function defineFleet(program: Command, done: (o: Outcome) => void): void {
  program.command("fleet")
    .description("one line per host (key_prefix) in the buckets: when it last wrote a run manifest")
    .option("-c, --config <path>", CONFIG_HELP)
    .option("--json", "print JSON")
    .action(async (flags) => done(await fleet(flags)));
}
