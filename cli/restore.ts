/** `s3backup restore`: files as they were at --at, written under --to. */
import type { Command } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import { createStderrLogger } from "../lib/adapters/stderr_logger.ts";
import { openContext, systemClock } from "./context.ts";
import { stdout } from "./output.ts";
import { type LogFlags, logLevelOf, quietOption, verboseOption } from "./log_options.ts";
import { CONFIG_HELP, isoTime } from "./options.ts";

interface RestoreFlags extends LogFlags {
  config?: string;
  to: string;
  at?: Date;
  category?: string;
  prefix?: string;
  overwrite?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

async function restore(flags: RestoreFlags): Promise<Outcome> {
  const logger = createStderrLogger(logLevelOf(flags));
  const { config, store } = await openContext(flags.config, logger);
  const { formatRestoreReport, restoreReportJson, runRestore } = await import(
    "../lib/restore/restore.ts"
  );
  logger.setLevel(logLevelOf(flags, config.log));
  const { report, outcome } = await runRestore(config, { store, logger }, {
    to: flags.to,
    at: flags.at ?? systemClock.now(),
    category: flags.category,
    prefix: flags.prefix,
    overwrite: flags.overwrite ?? false,
    dryRun: flags.dryRun ?? false,
    concurrency: config.concurrency,
  });
  stdout(
    flags.json ? JSON.stringify(restoreReportJson(report)) + "\n" : formatRestoreReport(report),
  );
  return outcome;
}

export function defineRestore(program: Command, done: (o: Outcome) => void): void {
  program.command("restore")
    .description("restore files as they were at a point in time, from the buckets' versions")
    .option("-c, --config <path>", CONFIG_HELP)
    .requiredOption("--to <dir>", "folder to restore into")
    .option("--at <time>", "ISO 8601 time (default: now)", isoTime)
    .option("--category <name>", "only this category")
    .option("--prefix <p>", "only paths starting with this")
    .option("--overwrite", "replace files that exist under --to")
    .option("--dry-run", "list what would be restored (version, date); write nothing")
    .option("--json", "print JSON")
    .addOption(verboseOption())
    .addOption(quietOption())
    .action(async (flags) => done(await restore(flags)));
}
