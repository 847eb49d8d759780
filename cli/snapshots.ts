/** `s3backup snapshots`: the restore points in the buckets; no local state needed. */
import type { Command } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import { createStderrLogger } from "../lib/adapters/stderr_logger.ts";
import { type LogFlags, logLevelOf } from "./log_options.ts";
import { openContext } from "./context.ts";
import { stdout } from "./output.ts";
import { CONFIG_HELP } from "./options.ts";

async function snapshots(
  flags: { config?: string; category?: string; json?: boolean } & LogFlags,
): Promise<Outcome> {
  const logger = createStderrLogger(logLevelOf(flags));
  const { config, store } = await openContext(flags.config, logger);
  const { formatSnapshots, listSnapshots, snapshotsJson } = await import("../lib/ops/snapshots.ts");
  logger.setLevel(logLevelOf(flags, config.log));
  const list = await listSnapshots(config, store, {
    category: flags.category,
    concurrency: Math.min(config.concurrency, 8),
  }, logger);
  for (const f of list.failures) {
    logger.error(`Error listing the restore points in ${f.path}: ${f.error}`);
  }
  stdout(flags.json ? snapshotsJson(list) + "\n" : formatSnapshots(list));
  return list.failures.length > 0 ? "partial" : "ok";
}

export function defineSnapshots(program: Command, done: (o: Outcome) => void): void {
  program.command("snapshots")
    .description("list the restore points in the buckets (each time usable as restore --at)")
    .option("-c, --config <path>", CONFIG_HELP)
    .option("--category <name>", "only this category")
    .option("--json", "print JSON")
    .action(async (flags) => done(await snapshots(flags)));
}
