/** `s3backup verify`: the buckets listed like `aws s3 ls`, or compared with the source tree. */
import type { Command } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import { createStderrLogger } from "../lib/adapters/stderr_logger.ts";
import { openContext } from "./context.ts";
import { stdout } from "./output.ts";
import { type LogFlags, logLevelOf, quietOption, verboseOption } from "./log_options.ts";
import { CONFIG_HELP } from "./options.ts";

interface VerifyFlags extends LogFlags {
  config?: string;
  category?: string;
  compare?: boolean;
  deep?: boolean;
  download?: boolean;
  json?: boolean;
}

async function verify(flags: VerifyFlags): Promise<Outcome> {
  const logger = createStderrLogger(logLevelOf(flags));
  const { config, store } = await openContext(flags.config, logger);
  logger.setLevel(logLevelOf(flags, config.log));
  if (!flags.compare && !flags.deep && !flags.download) {
    const { formatListing, listCategories, listingJson } = await import("../lib/verify/list.ts");
    const listings = await listCategories(config, store, flags.category);
    stdout(flags.json ? listingJson(listings) + "\n" : formatListing(listings));
    for (const l of listings) {
      if (l.error) logger.error(`Error listing bucket ${l.bucket}: ${l.error}`);
    }
    return listings.some((l) => l.error) ? "partial" : "ok";
  }
  const { compareTree, formatCompare } = await import("../lib/verify/compare.ts");
  const { SqliteStateStore } = await import("../lib/adapters/sqlite_state.ts");
  const state = SqliteStateStore.openReadOnlyCopy(config.stateDir);
  try {
    const report = await compareTree(config, { store, logger, state }, {
      category: flags.category,
      deep: flags.deep || flags.download || false,
      download: flags.download ?? false,
      concurrency: config.concurrency,
    });
    stdout(flags.json ? JSON.stringify(report) + "\n" : formatCompare(report));
    const bad = report.differences.some((d) => d.kind !== "extra") || report.failures.length > 0;
    return bad ? "partial" : "ok";
  } finally {
    state.close();
  }
}

export function defineVerify(program: Command, done: (o: Outcome) => void): void {
  program.command("verify")
    .description("list what is stored per category (like `aws s3 ls`), or compare with the disk")
    .option("-c, --config <path>", CONFIG_HELP)
    .option("--category <name>", "only this category")
    .option("--compare", "list missing, changed and extra objects; exit 1 on missing or changed")
    .option("--deep", "with --compare: check content (SHA-256 recorded at upload, ETag)")
    .option("--download", "with --deep: also download and hash every object")
    .option("--json", "print JSON")
    .addOption(verboseOption())
    .addOption(quietOption())
    .action(async (flags) => done(await verify(flags)));
}
