/**
 * s3backup CLI: parses arguments, builds the real dependencies, calls one lib/ function and
 * maps its outcome to an exit code. The only place that prints reports or exits.
 */
import {
  Argument,
  Command,
  CommanderError,
  InvalidArgumentError,
} from "@commander-js/extra-typings";
import { loadConfig } from "./lib/config/config.ts";
import { describeError, ExitCode, S3BackupError } from "./lib/core/errors.ts";
import { runBackup } from "./lib/backup/run.ts";
import { formatReport, reportJson } from "./lib/backup/report.ts";
import { acquireLock } from "./lib/adapters/file_lock.ts";
import { ReadOnlyState, SqliteStateStore } from "./lib/adapters/sqlite_state.ts";
import { S3Store } from "./lib/adapters/s3/store.ts";
import { SnsNotifier } from "./lib/adapters/sns.ts";
import { createS3Client, createSnsClient, plainHttpWarnings } from "./lib/adapters/aws_clients.ts";
import { createStderrLogger } from "./lib/adapters/stderr_logger.ts";
import type { Config } from "./lib/config/config.ts";
import type { Logger } from "./lib/core/ports.ts";
import { VERSION_LINE } from "./lib/core/version.ts";
import { completionScript, SHELLS, specFromCommander } from "./cli/completions.ts";
import { sendHeartbeat } from "./lib/adapters/heartbeat.ts";
import { ProgressDisplay, totalsFromPlan } from "./cli/progress.ts";
import { formatListing, listCategories, listingJson } from "./lib/verify/list.ts";
import { compareTree, formatCompare } from "./lib/verify/compare.ts";
import { formatRestoreReport, restoreReportJson, runRestore } from "./lib/restore/restore.ts";
import { writeStarterConfig } from "./lib/config/starter.ts";

const systemClock = { now: () => new Date() };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new InvalidArgumentError("must be an integer from 1 to 256");
  }
  return n;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}

function write(stream: typeof Deno.stdout, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
}

/** Shared setup: config, logger, warnings about risky settings, the store (cut by `signal`). */
function setup(configFlag: string | undefined, logger: Logger, signal?: AbortSignal) {
  const config = loadConfig(configFlag);
  const env = Deno.env.toObject();
  for (const warning of plainHttpWarnings(config.aws, env)) logger.warn(warning);
  const store = new S3Store(createS3Client(config.aws, env), { signal });
  return { config, env, store };
}

function signalController(): AbortController {
  const controller = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(sig, () => {
        if (controller.signal.aborted) {
          Deno.exit(sig === "SIGINT" ? ExitCode.sigint : ExitCode.sigterm);
        }
        controller.abort(sig);
      });
    } catch { /* signals unsupported (Windows SIGTERM) */ }
  }
  return controller;
}

async function runCommand(opts: {
  config?: string;
  dryRun?: boolean;
  json?: boolean;
  notify: boolean;
  concurrency?: number;
  checksum?: boolean;
}): Promise<number> {
  // A progress line only for a person watching: stderr is a terminal and the report is text.
  const progress = !opts.json && Deno.stderr.isTerminal()
    ? new ProgressDisplay((text) => write(Deno.stderr, text))
    : undefined;
  const logger = createStderrLogger("info", progress && ((line) => progress.log(line)));
  const controller = signalController();
  const { config, env, store } = setup(opts.config, logger, controller.signal);
  const dryRun = opts.dryRun ?? false;
  // A dry run sends nothing: no report, no ping.
  const reporting = opts.notify && !dryRun;
  const topic = config.aws.snsTopicArn;
  const notifier = topic && reporting
    ? new SnsNotifier(createSnsClient(config.aws, env), topic, controller.signal)
    : undefined;
  const pingUrl = config.notify.pingUrl;
  const heartbeat = pingUrl && reporting
    ? {
      async ping(ok: boolean) {
        const why = await sendHeartbeat(pingUrl, ok);
        if (why) throw new Error(why);
      },
    }
    : undefined;
  const host = hostname();
  const result = await runBackup(config, {
    store,
    notifier,
    heartbeat,
    clock: systemClock,
    logger,
    host,
    signal: controller.signal,
    onPlan: progress && ((plan) => progress.start(totalsFromPlan(plan))),
    onProgress: progress && ((done) => progress.update(done)),
    acquireLock: () => acquireLock(config.stateDir, host),
    openState: () =>
      dryRun
        ? new ReadOnlyState(SqliteStateStore.openReadOnlyCopy(config.stateDir))
        : SqliteStateStore.open(config.stateDir), // damage and failed writes: in the report
  }, {
    dryRun,
    checksum: opts.checksum ?? false,
    concurrency: opts.concurrency ?? config.concurrency,
  });
  progress?.finish();
  write(Deno.stdout, opts.json ? reportJson(result.summary) + "\n" : formatReport(result.summary));
  return result.exitCode;
}

async function verifyCommand(opts: {
  config?: string;
  category?: string;
  compare?: boolean;
  deep?: boolean;
  download?: boolean;
  json?: boolean;
}): Promise<number> {
  const logger = createStderrLogger("warning");
  const { config, store } = setup(opts.config, logger);
  if (!opts.compare && !opts.deep && !opts.download) {
    const listings = await listCategories(config, store, opts.category);
    write(Deno.stdout, opts.json ? listingJson(listings) + "\n" : formatListing(listings));
    for (const l of listings) {
      if (l.error) logger.error(`Error listing bucket ${l.bucket}: ${l.error}`);
    }
    return listings.some((l) => l.error) ? ExitCode.partial : ExitCode.ok;
  }
  let state: SqliteStateStore | undefined;
  try {
    state = SqliteStateStore.openReadOnlyCopy(config.stateDir);
    const report = await compareTree(config, { store, logger, state }, {
      category: opts.category,
      deep: opts.deep || opts.download || false,
      download: opts.download ?? false,
      concurrency: config.concurrency,
    });
    write(Deno.stdout, opts.json ? JSON.stringify(report) + "\n" : formatCompare(report));
    const bad = report.differences.some((d) => d.kind !== "extra") || report.failures.length > 0;
    return bad ? ExitCode.partial : ExitCode.ok;
  } finally {
    state?.close();
  }
}

function parseTime(value: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) {
    throw new InvalidArgumentError(
      "must be an ISO 8601 time, e.g. 2026-02-11T02:00:00Z or 2026-02-11",
    );
  }
  return d;
}

async function restoreCommand(opts: {
  config?: string;
  to: string;
  at?: Date;
  category?: string;
  prefix?: string;
  overwrite?: boolean;
  dryRun?: boolean;
  json?: boolean;
}): Promise<number> {
  const logger = createStderrLogger();
  const { config, store } = setup(opts.config, logger);
  const { report, exitCode } = await runRestore(config, { store, logger }, {
    to: opts.to,
    at: opts.at ?? systemClock.now(),
    category: opts.category,
    prefix: opts.prefix,
    overwrite: opts.overwrite ?? false,
    dryRun: opts.dryRun ?? false,
    concurrency: config.concurrency,
  });
  const text = opts.json
    ? JSON.stringify(restoreReportJson(report)) + "\n"
    : formatRestoreReport(report);
  write(Deno.stdout, text);
  return exitCode;
}

function initCommand(opts: { config?: string; bucketPrefix: string; source?: string }): number {
  const path = opts.config ?? "s3backup.toml";
  writeStarterConfig(path, opts.bucketPrefix, opts.source ?? ".");
  write(Deno.stdout, `Wrote ${path}. Next: review it, then 'deno task deploy-infra plan'.\n`);
  return ExitCode.ok;
}

function buildProgram(exit: (code: number) => void) {
  const program = new Command()
    .name("s3backup")
    .description("Incremental, versioned backups of a server's files to Amazon S3.")
    .version(VERSION_LINE, "-V, --version")
    .showHelpAfterError()
    .exitOverride();

  program.command("run")
    .description("back up new and changed files, then report (stdout and SNS)")
    .option(
      "-c, --config <path>",
      "config file (default: $S3BACKUP_CONFIG, ./s3backup.toml, /etc/s3backup/s3backup.toml)",
    )
    .option("--dry-run", "decide and report what would be uploaded; change nothing")
    .option("--json", "print the report as one JSON object")
    .option("--no-notify", "do not publish the report to SNS")
    .option("--concurrency <n>", "files uploaded in parallel (default: config, 16)", positiveInt)
    .option("--checksum", "hash every file instead of trusting size and timestamps")
    .action(async (opts) => exit(await runCommand(opts)));

  program.command("verify")
    .description("list what is stored per category (like `aws s3 ls`), or compare with the disk")
    .option("-c, --config <path>", "config file")
    .option("--category <name>", "only this category")
    .option("--compare", "list missing, changed and extra objects; exit 1 on missing or changed")
    .option("--deep", "with --compare: check content (SHA-256 recorded at upload, ETag)")
    .option("--download", "with --deep: also download and hash every object")
    .option("--json", "print JSON")
    .action(async (opts) => exit(await verifyCommand(opts)));

  program.command("restore")
    .description("restore files as they were at a point in time, from the buckets' versions")
    .option("-c, --config <path>", "config file")
    .requiredOption("--to <dir>", "folder to restore into")
    .option("--at <time>", "ISO 8601 time (default: now)", parseTime)
    .option("--category <name>", "only this category")
    .option("--prefix <p>", "only paths starting with this")
    .option("--overwrite", "replace files that exist under --to")
    .option("--dry-run", "list what would be restored (version, date); write nothing")
    .option("--json", "print JSON")
    .action(async (opts) => exit(await restoreCommand(opts)));

  program.command("init")
    .description("write a commented starter s3backup.toml (never overwrites)")
    .option("-c, --config <path>", "where to write it (default: ./s3backup.toml)")
    .requiredOption("--bucket-prefix <name>", "buckets become <name>-documents, -photos, -database")
    .option("--source <dir>", "the folder to back up (default: .)")
    .action((opts) => exit(initCommand(opts)));

  program.command("completions")
    .description("print the shell completion script for bash, zsh or fish")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action((shell) => {
      write(Deno.stdout, completionScript(shell, specFromCommander(program)));
      exit(ExitCode.ok);
    });

  return program;
}

export async function main(args: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof S3BackupError) {
      write(Deno.stderr, `s3backup: ${err.message}\n`);
      return err.exitCode;
    }
    write(Deno.stderr, `s3backup: error: ${describeError(err)}\n`);
    if (Deno.env.get("S3BACKUP_DEBUG")) write(Deno.stderr, `${(err as Error)?.stack ?? ""}\n`);
    return ExitCode.partial;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

export type { Config };
