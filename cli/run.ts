/** `s3backup run`: wires the real adapters into lib/backup/run.ts and prints its report. */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import type { Config } from "../lib/config/config.ts";
import { createStderrLogger } from "../lib/adapters/stderr_logger.ts";
import { hostname, openContext, signalOnInterrupt, systemClock } from "./context.ts";
import { ProgressDisplay } from "./progress.ts";
import { stderr, stdout } from "./output.ts";
import { CONFIG_HELP } from "./options.ts";
import { type LogFlags, logLevelOf, quietOption, verboseOption } from "./log_options.ts";
import { parseRate, rateError } from "../lib/config/rate.ts";

interface RunFlags extends LogFlags {
  config?: string;
  dryRun?: boolean;
  json?: boolean;
  notify: boolean;
  concurrency?: number;
  checksum?: boolean;
  bwlimit?: number;
}

function concurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new InvalidArgumentError("must be an integer from 1 to 256");
  }
  return n;
}

function bwlimit(value: string): number {
  const n = parseRate(value);
  if (n === undefined) throw new InvalidArgumentError(rateError(value));
  return n;
}

/** The SNS notifier, its module loaded only when there is a report to send. */
async function snsNotifier(
  aws: Config["aws"],
  env: Record<string, string>,
  topic: string,
  signal: AbortSignal,
) {
  const { createSnsClient, SnsNotifier } = await import("../lib/adapters/sns.ts");
  return new SnsNotifier(createSnsClient(aws, env), topic, signal);
}

async function run(flags: RunFlags): Promise<Outcome> {
  // Imported here, not at start-up: --help, --version and the other commands load none of it.
  const { runBackup } = await import("../lib/backup/run.ts");
  const { formatReport, reportJson } = await import("../lib/backup/report.ts");
  const { acquireLock } = await import("../lib/adapters/file_lock.ts");
  const { SqliteStateStore } = await import("../lib/adapters/sqlite_state.ts");
  const { httpHeartbeat } = await import("../lib/adapters/heartbeat.ts");
  const { denoCommands } = await import("../lib/adapters/command.ts");
  // A progress line only for a person watching: stderr is a terminal, the report is text, no -q.
  const progress = !flags.json && !flags.quiet && Deno.stderr.isTerminal()
    ? new ProgressDisplay(stderr)
    : undefined;
  const logger = createStderrLogger(
    logLevelOf(flags),
    progress && ((line) => progress.log(line)),
  );
  const signal = signalOnInterrupt();
  const { config, env, store } = await openContext(flags.config, logger, signal, {
    bwlimit: flags.bwlimit,
  });
  const level = logLevelOf(flags, config.log);
  logger.setLevel(level);
  const dryRun = flags.dryRun ?? false;
  const reporting = flags.notify && !dryRun; // a dry run sends nothing: no report, no ping
  const topic = config.aws.snsTopicArn;
  const pingUrl = config.notify.pingUrl;
  const host = hostname();
  const { summary, outcome } = await runBackup(config, {
    store,
    notifier: topic && reporting ? await snsNotifier(config.aws, env, topic, signal) : undefined,
    heartbeat: pingUrl && reporting ? httpHeartbeat(pingUrl) : undefined,
    clock: systemClock,
    logger,
    host,
    signal,
    onScan: progress && ((files) => progress.scanned(files)),
    commands: denoCommands(),
    onPlan: progress &&
      ((plan) => progress.start(() => ({ ...plan.toUpload, growing: !plan.walked }))),
    onProgress: progress && ((done) => progress.update(done)),
    acquireLock: () => acquireLock(config.stateDir, host),
    openState: () =>
      // A dry run reads the state and never writes it (nor anything else).
      dryRun
        ? SqliteStateStore.openReadOnlyCopy(config.stateDir)
        : SqliteStateStore.open(config.stateDir), // damage and failed writes: in the report
  }, {
    dryRun,
    checksum: flags.checksum ?? false,
    concurrency: flags.concurrency ?? config.concurrency,
    adaptive: flags.concurrency === undefined && !config.concurrencySet,
    verbose: level === "verbose",
  });
  progress?.finish();
  stdout(flags.json ? reportJson(summary) + "\n" : formatReport(summary));
  return outcome;
}

export function defineRun(program: Command, done: (o: Outcome) => void): void {
  program.command("run")
    .description("back up new and changed files, then report (stdout and SNS)")
    .option("-c, --config <path>", CONFIG_HELP)
    .option("--dry-run", "decide and report what would be uploaded; change nothing")
    .option("--json", "print the report as one JSON object")
    .option("--no-notify", "do not publish the report to SNS")
    .option(
      "--concurrency <n>",
      "files uploaded in parallel (default: config; unset: from 16, adapting up to 64)",
      concurrency,
    )
    .option("--checksum", "hash every file instead of trusting size and timestamps")
    .option(
      "--bwlimit <rate>",
      "bytes per second for all uploads together, K/M/G suffix, e.g. 10M (default: config)",
      bwlimit,
    )
    .addOption(verboseOption())
    .addOption(quietOption())
    .action(async (flags) => done(await run(flags)));
}
