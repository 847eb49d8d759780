/**
 * `s3backup run`: scan → route → plan → execute → report. The one function main.ts calls; every
 * outcome, including a missing source, is reported through the notifier before returning.
 */
import type { Clock, Heartbeat, Logger, Notifier, ObjectStore, StateStore } from "../core/ports.ts";
import type { Config } from "../config/config.ts";
import type { Plan, Summary } from "../core/types.ts";
import { checkSource, scanTreeAsync } from "./scan.ts";
import { buildPlan, startListings } from "./plan.ts";
import { executePlan } from "./execute.ts";
import { outcomeWord, plural, snsMessage, snsSubject } from "./report.ts";
import {
  describeError,
  interrupted,
  LockHeldError,
  type Outcome,
  S3BackupError,
  UnreachableError,
  whatToCheck,
} from "../core/errors.ts";
import type { Lock } from "../adapters/file_lock.ts";
import type { PathFailure } from "../core/types.ts";
import { describeHealth } from "../adapters/sqlite_guard.ts";
import {
  encodeManifest,
  manifestFingerprint,
  manifestKey,
  putManifest,
  readManifest,
} from "../core/manifest.ts";
import { objectKey } from "./route.ts";
import { prepareUploads } from "./open_uploads.ts";

/**
 * Writes each bucket's manifest when its key set changed since the last one written. Files under
 * a path the scan could not see are not gone: their entries in the previous manifest are kept
 * (without it, a restore would leave them out); when that manifest cannot be read, none is
 * written, so restore goes on using the previous one.
 */
async function writeManifests(
  plan: Plan,
  config: Config,
  store: ObjectStore,
  state: StateStore,
  signal?: AbortSignal,
): Promise<PathFailure[]> {
  const failures: PathFailure[] = [];
  const key = manifestKey(config.keyPrefix);
  const unseen = plan.unseen.map((p) => objectKey(config.keyPrefix, p));
  const folders = unseen.filter((u) => u.endsWith("/"));
  const files = new Set(unseen.filter((u) => !u.endsWith("/")));
  const isUnseen = (k: string) => files.has(k) || folders.some((f) => k.startsWith(f));
  for (const bucket of new Set(config.categories.map((c) => c.bucket))) {
    // A bucket that could not be listed gets no manifest: its files were not looked at.
    if (plan.unlistable.has(bucket)) continue;
    let keys = plan.present.get(bucket) ?? [];
    const name = `manifest:${bucket}:${key}`;
    try {
      if (unseen.length > 0) {
        const kept = [...(await readManifest(store, bucket, key)) ?? []].filter(isUnseen);
        keys = kept.length > 0 ? [...keys, ...kept] : keys;
      }
      const fingerprint = manifestFingerprint(keys);
      if (state.getMeta(name) === fingerprint) continue;
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
}

export interface RunDeps {
  store: ObjectStore;
  /** undefined when no topic is configured, --no-notify or --dry-run. */
  notifier?: Notifier;
  /** undefined when no ping_url is configured, --no-notify or --dry-run. */
  heartbeat?: Heartbeat;
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
  outcome: Outcome;
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
    notifications: {},
    invalidNames: 0,
    warnings: [],
    stateRebuilt: false,
  };
}

/**
 * Sends the report to every configured channel and records each outcome in the summary. SNS
 * carries the report as it stands; the heartbeat says whether the run (SNS included) went well.
 */
async function notify(summary: Summary, deps: RunDeps, fatal: unknown): Promise<void> {
  if (deps.notifier) {
    try {
      await deps.notifier.publish(snsSubject(summary), snsMessage(summary));
      deps.logger.info("SNS notification sent successfully.");
      summary.notifications.sns = { sent: true };
    } catch (err) {
      const why = describeError(err);
      deps.logger.error(`Error sending SNS notification: ${why}`);
      summary.notifications.sns = { sent: false, error: why };
    }
  }
  // Not when another run holds the lock: that run pings when it ends (SNS still tells).
  if (deps.heartbeat && !(fatal instanceof LockHeldError)) {
    const ok = outcomeWord(summary) === "OK" && summary.notifications.sns?.sent !== false;
    try {
      await deps.heartbeat.ping(ok);
      summary.notifications.heartbeat = { sent: true };
    } catch (err) {
      const why = describeError(err);
      deps.logger.error(`Heartbeat not sent: ${why}`);
      summary.notifications.heartbeat = { sent: false, error: why };
    }
  }
}

/**
 * How a finished or failed run ended (SPEC "Exit codes"): a fatal error's own outcome, the
 * signal's, partial when anything failed (a file, a bucket, a report not sent), else ok.
 */
function outcomeOf(summary: Summary, fatal: unknown, signal?: AbortSignal): Outcome {
  if (summary.status === "INTERRUPTED") return interrupted(signal?.reason);
  if (fatal !== undefined) return fatal instanceof S3BackupError ? fatal.outcome : "partial";
  return summary.status === "OK" ? "ok" : "partial";
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

/**
 * Buckets that could not be listed: one failure each, naming how many files it held back. When
 * no bucket could be listed nothing can be backed up: that is fatal (exit 4), in one line.
 */
function bucketFailures(plan: Plan, config: Config): PathFailure[] {
  const buckets = new Set(config.categories.map((c) => c.bucket));
  const failures = [...plan.unlistable].map(([bucket, { error, files }]) => ({
    path: `s3://${bucket}/`,
    error: `cannot list the bucket: ${describeError(error)} (${
      plural(files, "file")
    } routed to it not backed up)`,
  }));
  if (plan.unlistable.size > 0 && plan.unlistable.size === buckets.size) {
    const reasons = new Set([...plan.unlistable.values()].map((u) => describeError(u.error)));
    const first = [...plan.unlistable.values()][0].error;
    const why = reasons.size === 1
      ? [...reasons][0]
      : [...plan.unlistable].map(([b, u]) => `${b}: ${describeError(u.error)}`).join("; ");
    throw new UnreachableError(
      `no bucket could be listed, nothing was backed up: ${why}; ${whatToCheck(first)}`,
    );
  }
  return failures;
}

/** What a dry run reports: the plan's uploads, read from the plan alone (no file is opened). */
function dryRunResult(plan: Plan, logger: Logger) {
  const uploads = plan.items.filter((i) => i.action === "upload");
  for (const item of plan.items) {
    if (item.action === "skip") {
      logger.info(`File ${item.file.relPath} already up to date in ${item.bucket}, skipping.`);
    } else logger.info(`Would upload ${item.file.relPath} to ${item.bucket}`);
  }
  return {
    skipped: plan.skipped + plan.items.length - uploads.length,
    wouldUpload: uploads.map((i) => `s3://${i.bucket}/${i.key}`),
    bytesToUpload: uploads.reduce((n, i) => n + i.file.size, 0),
  };
}

/** Runs a backup. Fatal problems (missing source, held lock) are reported with their exit code. */
export async function runBackup(
  config: Config,
  deps: RunDeps,
  opts: RunOptions,
): Promise<RunResult> {
  const started = deps.clock.now();
  const summary = emptySummary(config, deps, opts, started);
  const finish = async (fatal?: unknown): Promise<RunResult> => {
    summary.durationMs = deps.clock.now().getTime() - started.getTime();
    summary.requests = deps.store.requestCounts();
    await notify(summary, deps, fatal);
    const unsent = Object.values(summary.notifications).some((n) => !n.sent);
    if (unsent && summary.status === "OK") summary.status = "FAILED";
    return { summary, outcome: outcomeOf(summary, fatal, deps.signal) };
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
    const unlistable = bucketFailures(plan, config);
    deps.onPlan?.(plan);
    for (const f of unlistable) deps.logger.error(`Error listing ${f.path}: ${f.error}`);
    for (const f of plan.failed) deps.logger.error(`Error uploading ${f.path}: ${f.error}`);
    summary.failures = [...unlistable, ...plan.failed];
    if (opts.dryRun) {
      const dry = dryRunResult(plan, deps.logger);
      summary.skipped = dry.skipped;
      summary.wouldUpload = dry.wouldUpload;
      summary.bytesToUpload = dry.bytesToUpload;
    } else {
      const result = await executePlan(plan, { ...deps, state }, opts.concurrency, deps.signal);
      if (!deps.signal?.aborted) {
        for (const f of await writeManifests(plan, config, deps.store, state, deps.signal)) {
          deps.logger.error(`Error writing the manifest of ${f.path}: ${f.error}`);
          result.failures.push(f);
        }
      }
      summary.uploaded = result.uploaded;
      summary.skipped = result.skipped;
      summary.bytesUploaded = result.bytesUploaded;
      summary.failures.push(...result.failures);
      if (result.notStarted > 0) {
        summary.failures.push({
          path: "(run)",
          error: `${result.notStarted} files not started: interrupted`,
        });
      }
    }
    summary.errors = summary.failures.length;
    summary.excluded = plan.excluded.length;
    summary.unmatched = plan.unmatched.length;
    summary.symlinks = plan.symlinks.length;
    summary.special = plan.special.length;
    summary.invalidNames = plan.invalidNames.length;
    summary.hashed = plan.hashed;
    // What happened to the local state (damage, a full disk) is said, and a write it lost is an
    // error; asked again after recordRun, which may be what meets the damage.
    const failures = summary.failures;
    const noteState = () => {
      const notes = describeHealth(state!.health?.());
      summary.warnings = notes.warnings;
      summary.stateRebuilt = notes.rebuilt;
      summary.failures = notes.failure ? [...failures, notes.failure] : failures;
      summary.errors = summary.failures.length;
      if (deps.signal?.aborted) summary.status = "INTERRUPTED";
      else summary.status = summary.errors > 0 ? "FAILED" : "OK";
      return notes;
    };
    noteState();
    state.recordRun?.({ ...summary, durationMs: deps.clock.now().getTime() - started.getTime() });
    const notes = noteState();
    for (const w of notes.warnings) deps.logger.warn(w);
    if (notes.failure) deps.logger.error(notes.failure.error);
    return await finish();
  } catch (err) {
    // Fatal: the run could not start or finish. It is still reported (FAILED) before returning.
    summary.status = deps.signal?.aborted ? "INTERRUPTED" : "FAILED";
    summary.fatal = describeError(err);
    summary.errors = Math.max(summary.errors, 1);
    deps.logger.error(`Backup failed: ${summary.fatal}`);
    return await finish(err);
  } finally {
    try {
      state?.close();
    } finally {
      lock?.release();
    }
  }
}
