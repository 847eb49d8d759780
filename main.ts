/**
 * s3backup CLI: parses arguments, builds the real dependencies, calls one lib/ function and
 * maps its outcome to an exit code. The only place that prints reports or exits.
 */
import { Command, CommanderError, InvalidArgumentError } from "@commander-js/extra-typings";
import { loadConfig } from "./lib/config.ts";
import { describeError, ExitCode, S3BackupError } from "./lib/errors.ts";
import { runBackup } from "./lib/run.ts";
import { formatReport, reportJson } from "./lib/report.ts";
import { acquireLock } from "./lib/lock.ts";
import { ReadOnlyState, SqliteStateStore } from "./lib/state.ts";
import { S3Store } from "./lib/adapters/s3_store.ts";
import { SnsNotifier } from "./lib/adapters/sns_notifier.ts";
import { DryRunStore } from "./lib/adapters/dry_run_store.ts";
import { createS3Client, createSnsClient } from "./lib/adapters/aws_clients.ts";
import { createStderrLogger } from "./lib/adapters/stderr_logger.ts";
import type { Config } from "./lib/config.ts";
import type { Logger } from "./lib/ports.ts";
import { VERSION } from "./lib/version.ts";
import { formatListing, listCategories } from "./lib/verify.ts";

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

/** Shared setup: config, logger, warnings about risky settings, the store. */
function setup(configFlag: string | undefined, logger: Logger) {
  const config = loadConfig(configFlag);
  const env = Deno.env.toObject();
  if (config.aws.profile) Deno.env.set("AWS_PROFILE", config.aws.profile);
  if (config.aws.endpoint?.startsWith("http://")) {
    const local = /^http:\/\/(127\.|localhost[:/]|\[::1\])/.test(config.aws.endpoint);
    logger.warn(
      `aws.endpoint ${config.aws.endpoint} is plain http: requests are not encrypted${
        local ? " (loopback)" : " on the network"
      }`,
    );
  }
  const store = new S3Store(createS3Client(config.aws, env));
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
  const logger = createStderrLogger();
  const { config, env, store: s3 } = setup(opts.config, logger);
  const dryRun = opts.dryRun ?? false;
  const store = dryRun ? new DryRunStore(s3) : s3;
  const topic = config.aws.snsTopicArn;
  const notifier = topic && opts.notify && !dryRun
    ? new SnsNotifier(createSnsClient(config.aws, env), topic)
    : undefined;
  const host = hostname();
  const controller = signalController();
  const result = await runBackup(config, {
    store,
    notifier,
    clock: systemClock,
    logger,
    host,
    signal: controller.signal,
    acquireLock: () => acquireLock(config.stateDir, host),
    openState: () =>
      dryRun
        ? new ReadOnlyState(SqliteStateStore.openReadOnlyCopy(config.stateDir))
        : SqliteStateStore.open(config.stateDir),
  }, {
    dryRun,
    checksum: opts.checksum ?? false,
    concurrency: opts.concurrency ?? config.concurrency,
    notify: opts.notify,
  });
  if (store instanceof DryRunStore) result.summary.wouldUpload = store.wouldPut;
  write(Deno.stdout, opts.json ? reportJson(result.summary) + "\n" : formatReport(result.summary));
  return result.exitCode;
}

async function verifyCommand(
  opts: { config?: string; category?: string; json?: boolean },
): Promise<number> {
  const logger = createStderrLogger("warning");
  const { config, store } = setup(opts.config, logger);
  const listings = await listCategories(config, store, opts.category);
  write(Deno.stdout, opts.json ? JSON.stringify(listings) + "\n" : formatListing(listings));
  return ExitCode.ok;
}

function buildProgram(exit: (code: number) => void) {
  const program = new Command()
    .name("s3backup")
    .description("Incremental, versioned backups of a server's files to Amazon S3.")
    .version(VERSION, "-V, --version")
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
    .option("--concurrency <n>", "files uploaded in parallel (default: config, 8)", positiveInt)
    .option("--checksum", "hash every file instead of trusting size and timestamps")
    .action(async (opts) => exit(await runCommand(opts)));

  program.command("verify")
    .description("list what is stored per category (like `aws s3 ls`)")
    .option("-c, --config <path>", "config file")
    .option("--category <name>", "only this category")
    .option("--json", "print JSON")
    .action(async (opts) => exit(await verifyCommand(opts)));

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
