/**
 * `s3backup run`, top to bottom: lock → `before` hooks → state → scan and list (at once) →
 * route and plan → execute (or, for a dry run, nothing) → dumps → manifests → `after` hooks →
 * summary → report (SNS, heartbeat). Every outcome, a fatal one included, is summarized and
 * reported before returning.
 */
import type { Clock, CommandRunner, Lock, Logger, ObjectStore, StateStore } from "../core/ports.ts";
import type { Config } from "../config/config.ts";
import type { DumpOutcome, HookOutcome, PathFailure, Plan, Summary } from "../core/types.ts";
import {
  describeError,
  interrupted,
  LockHeldError,
  type Outcome,
  S3BackupError,
  UnreachableError,
  whatToCheck,
} from "../core/errors.ts";
import { checkSources, scanSources, type SourceCheck } from "./sources.ts";
import { dryRunDumps, dumpTarget, runDumps } from "./dumps.ts";
import { dryRunHooks, type HookDeps, runAfterHooks, runBeforeHooks } from "./hooks.ts";
import { startListings } from "./listing.ts";
import { buildPlan } from "./plan.ts";
import { prepareUploads } from "./open_uploads.ts";
import { executePlan, type ExecuteResult } from "./execute.ts";
import { writeManifests } from "./manifest.ts";
import { checkVersioning, versioningWarnings } from "./versioning.ts";
import { type DryRunResult, type RunFacts, summarize, withNotifications } from "./summary.ts";
import { type Channels, pingStart, sendReport } from "./notify.ts";
import { plural } from "./report.ts";

export interface RunOptions {
  dryRun: boolean;
  checksum: boolean;
  concurrency: number;
  /** The log has a line per skipped file (-v), so it needs no line counting them. */
  verbose?: boolean;
}

export interface RunDeps extends Channels {
  store: ObjectStore;
  clock: Clock;
  logger: Logger;
  host: string;
  acquireLock(): Lock;
  openState(): StateStore;
  signal?: AbortSignal;
  /** Files found so far while the tree is walked (the progress line). */
  onScan?: (files: number) => void;
  /** Starts the dumps' and the hooks' commands (needed only when the config has some). */
  commands?: CommandRunner;
  onPlan?: (plan: Plan) => void;
  onProgress?: (done: { files: number; bytes: number }) => void;
}

export interface RunResult {
  summary: Summary;
  outcome: Outcome;
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
  sources: SourceCheck,
): Promise<Plan> {
  // Listing first: the requests travel while the tree is walked.
  const listings = startListings(deps.store, config.categories, config.keyPrefix);
  const scan = await scanSources(sources, config.exclude, [config.stateDir], deps.onScan);
  const dumpKeys = config.dumps.map((d) => {
    const { key } = dumpTarget(d, config.categories, config.keyPrefix);
    return [key, `'${key}' is where the dump '${d.name}' goes`] as const;
  });
  return await buildPlan({
    reserved: new Map(dumpKeys),
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
function bucketFailures(plan: Plan, buckets: Set<string>): PathFailure[] {
  if (plan.unlistable.size > 0 && plan.unlistable.size === buckets.size) {
    const errors = [...plan.unlistable.values()].map((u) => u.error);
    const reasons = new Set(errors.map(describeError));
    const why = reasons.size === 1
      ? [...reasons][0]
      : [...plan.unlistable].map(([b, u]) => `${b}: ${describeError(u.error)}`).join("; ");
    throw new UnreachableError(
      `no bucket could be listed, nothing was backed up: ${why}; ${whatToCheck(errors[0])}`,
    );
  }
  return [...plan.unlistable].map(([bucket, { error, files }]) => ({
    path: `s3://${bucket}/`,
    error: `cannot list the bucket: ${describeError(error)} (${
      plural(files, "file")
    } routed to it not backed up)`,
  }));
}

/** What a dry run reports: the plan's uploads, from the plan alone (no file is opened). */
function dryRun(plan: Plan, logger: Logger): DryRunResult {
  const uploads = plan.items.filter((i) => i.action === "upload");
  for (const item of plan.items) {
    if (item.action === "skip") {
      logger.verbose(`File ${item.file.relPath} already up to date in ${item.bucket}, skipping.`);
    } else logger.info(`Would upload ${item.file.relPath} to ${item.bucket}`);
  }
  return {
    skipped: plan.skipped + plan.items.length - uploads.length,
    wouldUpload: uploads.map((i) => `s3://${i.bucket}/${i.key}`),
    bytesToUpload: uploads.reduce((n, i) => n + i.file.size, 0),
  };
}

/**
 * The log's one line for the files found unchanged (instead of one line each, -v):
 * `Skipped 20,000 unchanged files: 15,000 in acme-docs, 5,000 in acme-photos.` Undefined: none.
 */
export function skippedLine(plan: Pick<Plan, "skippedByBucket" | "items">): string | undefined {
  const byBucket = new Map(plan.skippedByBucket);
  for (const item of plan.items) {
    if (item.action === "skip") byBucket.set(item.bucket, (byBucket.get(item.bucket) ?? 0) + 1);
  }
  const total = [...byBucket.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const n = (x: number) => x.toLocaleString("en-US");
  const each = [...byBucket].sort(([a], [b]) => a.localeCompare(b))
    .map(([bucket, count]) => `${n(count)} in ${bucket}`);
  return `Skipped ${n(total)} unchanged ${total === 1 ? "file" : "files"}: ${each.join(", ")}.`;
}

/** Uploads the plan, then writes the manifests (not after an interruption). */
function commandsOf(deps: RunDeps): CommandRunner {
  if (deps.commands === undefined) throw new Error("no command runner was given to the run");
  return deps.commands;
}

function hookDeps(deps: RunDeps): HookDeps {
  return {
    commands: commandsOf(deps),
    logger: deps.logger,
    clock: deps.clock,
    signal: deps.signal,
  };
}

/** Uploads the plan, runs the dumps, then writes the manifests (not after an interruption). */
async function execute(
  plan: Plan,
  config: Config,
  deps: RunDeps,
  state: StateStore,
  opts: RunOptions,
): Promise<{ result: ExecuteResult; dumps?: DumpOutcome[] }> {
  await prepareUploads(deps.store, state, deps.logger, deps.signal);
  const result = await executePlan(plan, { ...deps, state }, opts.concurrency, deps.signal);
  const dumps = config.dumps.length === 0 ? undefined : await runDumps(
    config.dumps,
    config.categories,
    config.keyPrefix,
    { ...deps, commands: commandsOf(deps) },
  );
  if (deps.signal?.aborted) return { result, dumps };
  const buckets = config.categories.map((c) => c.bucket);
  const manifests = await writeManifests(
    plan,
    config.keyPrefix,
    buckets,
    deps.store,
    state,
    deps.clock.now(),
    dumps,
  );
  for (const f of manifests) {
    deps.logger.error(`Error writing the manifest of ${f.path}: ${f.error}`);
    result.failures.push(f);
  }
  return { result, dumps };
}

/** How the run ended: a fatal error's own outcome, the signal's, partial on any failure. */
function outcomeOf(summary: Summary, fatal: unknown, signal?: AbortSignal): Outcome {
  if (summary.status === "INTERRUPTED") return interrupted(signal?.reason);
  if (fatal !== undefined) return fatal instanceof S3BackupError ? fatal.outcome : "partial";
  return summary.status === "OK" ? "ok" : "partial";
}

/** Runs a backup. Fatal problems (missing source, held lock) are reported with their outcome. */
export async function runBackup(
  config: Config,
  deps: RunDeps,
  opts: RunOptions,
): Promise<RunResult> {
  const startedAt = deps.clock.now();
  const hooks: HookOutcome[] = [];
  let dumps: DumpOutcome[] | undefined;
  const hasHooks = config.hooks.before.length + config.hooks.after.length > 0;
  const facts = (): RunFacts => ({
    host: deps.host,
    source: config.source,
    dryRun: opts.dryRun,
    startedAt,
    endedAt: deps.clock.now(),
    requests: deps.store.requestCounts(),
    interrupted: deps.signal?.aborted ?? false,
    unwatched: !opts.dryRun && !config.aws.snsTopicArn && !config.notify.pingUrl,
    ...(hasHooks ? { hooks } : {}),
    ...(dumps ? { dumps } : {}),
  });
  deps.logger.info(`Starting incremental backup from directory: ${config.source}`);
  let lock: Lock | undefined;
  let state: StateStore | undefined;
  let summary: Summary;
  let fatal: unknown;
  let started: Promise<void> | undefined;
  const runsBefore = !opts.dryRun && config.hooks.before.length > 0;
  try {
    // Checked before the lock, as always, unless a `before` hook may be what mounts the trees.
    let sources = runsBefore ? undefined : checkSources(config.sources);
    lock = deps.acquireLock();
    // Once the lock is ours (a run locked out must not restart another run's timer); the monitor
    // then notices a run that hangs or is killed. Sent while the run goes on.
    started = pingStart(deps, deps.logger);
    if (runsBefore) await runBeforeHooks(config.hooks, hookDeps(deps), hooks);
    let done;
    try {
      sources ??= checkSources(config.sources);
      state = deps.openState();
      const plan = await planRun(config, deps, state, opts, sources);
      const unlistable = bucketFailures(plan, new Set(config.categories.map((c) => c.bucket)));
      const listable = config.categories.map((c) => c.bucket)
        .filter((b) => !plan.unlistable.has(b));
      const versioning = await checkVersioning(
        listable,
        deps.store,
        state,
        startedAt,
        !opts.dryRun,
      );
      deps.onPlan?.(plan);
      for (const f of unlistable) deps.logger.error(`Error listing ${f.path}: ${f.error}`);
      for (const f of plan.failed) deps.logger.error(`Error uploading ${f.path}: ${f.error}`);
      let result;
      if (opts.dryRun) {
        result = dryRun(plan, deps.logger);
        if (config.dumps.length > 0) {
          dumps = dryRunDumps(config.dumps, config.categories, config.keyPrefix, deps.logger);
        }
        hooks.push(...dryRunHooks(config.hooks, deps.logger));
      } else {
        ({ result, dumps } = await execute(plan, config, deps, state, opts));
      }
      const skipped = opts.verbose ? undefined : skippedLine(plan);
      if (skipped) deps.logger.info(skipped);
      done = {
        plan,
        bucketFailures: unlistable,
        result,
        versioningWarnings: versioningWarnings(versioning),
      };
    } finally {
      // Once `before` succeeded, `after` runs whatever happened since (failure, SIGINT/SIGTERM).
      if (!opts.dryRun && config.hooks.after.length > 0) {
        await runAfterHooks(config.hooks, hookDeps(deps), hooks);
      }
    }
    if (!opts.dryRun) state.recordRun?.(summarize({ ...facts(), ...done }));
    // Asked after recordRun, which may be what meets a damaged state.
    summary = summarize({ ...facts(), ...done, state: state.health?.() });
    for (const w of summary.warnings ?? []) deps.logger.warn(w);
    const saveFailure = summary.failures.find((f) => f.path === state!.health?.()?.file);
    if (saveFailure) deps.logger.error(saveFailure.error);
  } catch (err) {
    // Fatal: the run could not start or finish. It is still reported (FAILED) before returning.
    fatal = err;
    summary = summarize({ ...facts(), fatal: describeError(err) });
    deps.logger.error(`Backup failed: ${summary.fatal}`);
    for (const w of summary.warnings ?? []) deps.logger.warn(w);
    // In the history too (s3backup history, status): a run that reached S3 and failed is news.
    if (!opts.dryRun) state?.recordRun?.(summary);
  } finally {
    try {
      state?.close();
    } finally {
      lock?.release();
    }
  }
  await started; // the end's ping after the start's, never before it
  const sent = await sendReport(summary, deps, deps.logger, !(fatal instanceof LockHeldError));
  summary = withNotifications(summary, sent);
  return { summary, outcome: outcomeOf(summary, fatal, deps.signal) };
}
