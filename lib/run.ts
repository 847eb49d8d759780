/**
 * `s3backup run`: scan → route → plan → execute → report. The one function main.ts calls; every
 * outcome, including a missing source, is reported through the notifier before returning.
 */
import type { Clock, Logger, Notifier, ObjectStore, StateStore } from "./ports.ts";
import type { Config } from "./config.ts";
import type { Plan, Summary } from "./types.ts";
import { checkSource, scanTreeAsync } from "./scan.ts";
import { buildPlan, startListings } from "./plan.ts";
import { executePlan } from "./backup.ts";
import { outcomeWord, snsMessage, snsSubject } from "./report.ts";
import { describeError, ExitCode, S3BackupError } from "./errors.ts";
import type { Lock } from "./lock.ts";
import type { PathFailure } from "./types.ts";
import { encodeManifest, manifestFingerprint, manifestKey, putManifest } from "./manifest.ts";
import { prepareUploads } from "./open_uploads.ts";

/** Writes each bucket's manifest when its key set changed since the last one written. */
async function writeManifests(
  plan: Plan,
  config: Config,
  store: ObjectStore,
  state: StateStore,
  signal?: AbortSignal,
): Promise<PathFailure[]> {
  const failures: PathFailure[] = [];
  const key = manifestKey(config.keyPrefix);
  for (const bucket of new Set(config.categories.map((c) => c.bucket))) {
    const keys = plan.present.get(bucket) ?? [];
    const name = `manifest:${bucket}:${key}`;
    const fingerprint = manifestFingerprint(keys);
    if (state.getMeta(name) === fingerprint) continue;
    try {
      await putManifest(store, bucket, key, encodeManifest(keys), signal);
      state.setMeta(name, fingerprint);
    } catch (err) {
      failures.push({ path: `s3://${bucket}/${key}`, error: describeError(err) });
    }
  }
  return failures;
}

export interface RunOptions {
  dryRun: boolean;
  checksum: boolean;
  concurrency: number;
  notify: boolean;
}

export interface RunDeps {
  store: ObjectStore;
  /** undefined when no topic is configured or --no-notify. */
  notifier?: Notifier;
  clock: Clock;
  logger: Logger;
  host: string;
  acquireLock(): Lock;
  openState(): StateStore;
  signal?: AbortSignal;
  onPlan?: (plan: Plan) => void;
  onProgress?: (done: { files: number; bytes: number }) => void;
}

export interface RunResult {
  summary: Summary;
  exitCode: number;
  /** Set when the report could not be sent. */
  notifyError?: string;
}

function emptySummary(config: Config, deps: RunDeps, opts: RunOptions, started: Date): Summary {
  return {
    status: "OK",
    host: deps.host,
    source: config.source,
    dryRun: opts.dryRun,
    startedAt: started.toISOString(),
    uploaded: 0,
    skipped: 0,
    errors: 0,
    excluded: 0,
    unmatched: 0,
    symlinks: 0,
    special: 0,
    bytesUploaded: 0,
    hashed: 0,
    durationMs: 0,
    requests: {},
    failures: [],
  };
}

async function notify(summary: Summary, deps: RunDeps): Promise<string | undefined> {
  if (!deps.notifier) return undefined;
  try {
    await deps.notifier.publish(snsSubject(summary), snsMessage(summary));
    deps.logger.info("SNS notification sent successfully.");
    return undefined;
  } catch (err) {
    const why = describeError(err);
    deps.logger.error(`Error sending SNS notification: ${why}`);
    return why;
  }
}

/**
 * Walks the tree and decides. Its own function so that the listings (a Map per bucket, ~20 MiB
 * for 100,000 keys) are garbage once the plan exists, not held through the uploads.
 */
async function planRun(
  config: Config,
  deps: RunDeps,
  state: StateStore,
  opts: RunOptions,
): Promise<Plan> {
  // Listing first: the requests travel while the tree is walked.
  const listings = startListings(deps.store, config.categories, config.keyPrefix);
  const scan = await scanTreeAsync(config.source, config.exclude, [config.stateDir]);
  return await buildPlan({
    listings,
    scan,
    categories: config.categories,
    unmatched: config.unmatched,
    keyPrefix: config.keyPrefix,
    state: state.lookup?.() ?? state.loadAll(),
    checksum: opts.checksum,
    concurrency: opts.concurrency,
  }, deps);
}

/** Runs a backup. Fatal problems (missing source, held lock) are reported with their exit code. */
export async function runBackup(
  config: Config,
  deps: RunDeps,
  opts: RunOptions,
): Promise<RunResult> {
  const started = deps.clock.now();
  const summary = emptySummary(config, deps, opts, started);
  const finish = async (): Promise<RunResult> => {
    summary.durationMs = deps.clock.now().getTime() - started.getTime();
    summary.requests = deps.store.requestCounts();
    const notifyError = await notify(summary, deps);
    const word = outcomeWord(summary);
    let exitCode: number = word === "OK" ? ExitCode.ok : ExitCode.partial;
    if (notifyError && exitCode === ExitCode.ok) exitCode = ExitCode.partial;
    if (summary.status === "INTERRUPTED") {
      exitCode = deps.signal?.reason === "SIGTERM" ? ExitCode.sigterm : ExitCode.sigint;
    }
    return { summary, exitCode, notifyError };
  };

  deps.logger.info(`Starting incremental backup from directory: ${config.source}`);
  let lock: Lock | undefined;
  let state: StateStore | undefined;
  try {
    checkSource(config.source);
    lock = deps.acquireLock();
    state = deps.openState();
    if (!opts.dryRun) await prepareUploads(deps.store, state, deps.logger, deps.signal);
    const plan = await planRun(config, deps, state, opts);
    deps.onPlan?.(plan);
    for (const f of plan.failed) deps.logger.error(`Error uploading ${f.path}: ${f.error}`);
    const result = await executePlan(plan, { ...deps, state }, opts.concurrency, deps.signal);
    if (!opts.dryRun && !deps.signal?.aborted) {
      for (const f of await writeManifests(plan, config, deps.store, state, deps.signal)) {
        deps.logger.error(`Error writing the manifest of ${f.path}: ${f.error}`);
        result.failures.push(f);
      }
    }
    summary.uploaded = result.uploaded;
    summary.skipped = result.skipped;
    summary.bytesUploaded = result.bytesUploaded;
    summary.failures = [...plan.failed, ...result.failures];
    if (result.notStarted > 0) {
      summary.failures.push({
        path: "(run)",
        error: `${result.notStarted} files not started: interrupted`,
      });
    }
    summary.errors = summary.failures.length;
    summary.excluded = plan.excluded.length;
    summary.unmatched = plan.unmatched.length;
    summary.symlinks = plan.symlinks.length;
    summary.special = plan.special.length;
    summary.hashed = plan.hashed;
    if (deps.signal?.aborted) summary.status = "INTERRUPTED";
    else summary.status = summary.errors > 0 ? "FAILED" : "OK";
    state.recordRun?.({ ...summary, durationMs: deps.clock.now().getTime() - started.getTime() });
    return await finish();
  } catch (err) {
    // Fatal: the run could not start or finish. It is still reported (FAILED) before returning.
    summary.status = "FAILED";
    summary.fatal = describeError(err);
    deps.logger.error(`Backup failed: ${summary.fatal}`);
    const r = await finish();
    r.exitCode = err instanceof S3BackupError ? err.exitCode : ExitCode.partial;
    return r;
  } finally {
    try {
      state?.close();
    } finally {
      lock?.release();
    }
  }
}
