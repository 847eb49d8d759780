/**
 * `s3backup run`, top to bottom: lock → `before` hooks → state → scan and list (at once) →
 * route and plan → execute (or, for a dry run, nothing) → dumps → manifests → `after` hooks →
 * summary → report (SNS, heartbeat). Every outcome, a fatal one included, is summarized and
 * reported before returning. Over 300 lines on purpose: the whole run reads in one file, in order.
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
import { checkSources, type SourceCheck } from "./sources.ts";
import { dryRunDumps, dumpTarget, runDumps } from "./dumps.ts";
import { dryRunHooks, type HookDeps, runAfterHooks, runBeforeHooks } from "./hooks.ts";
import { doubtFailure, type PlannedRun, resolveDoubt, startPlan } from "./plan.ts";
import { forEachPulled } from "../core/pool.ts";
import { prepareUploads } from "./open_uploads.ts";
import { executePlan, type ExecuteResult, MAX_IN_FLIGHT } from "./execute.ts";
import { InFlightLimit } from "./in_flight.ts";
import { writeManifests } from "./manifest.ts";
import { checkVersioning, versioningWarnings } from "./versioning.ts";
import { type DryRunResult, type RunFacts, summarize, withNotifications } from "./summary.ts";
import { type Channels, pingStart, sendReport } from "./notify.ts";
import { plural } from "../core/text.ts";

export interface RunOptions {
  dryRun: boolean;
  checksum: boolean;
  concurrency: number;
  /** Start at `concurrency` and adapt to the round trip (neither config nor flag fixed it). */
  adaptive?: boolean;
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
  /** The plan as it is being made: its `toUpload` grows as the walk goes (the progress line). */
  /** Starts the dumps' and the hooks' commands (needed only when the config has some). */
  commands?: CommandRunner;
  onPlan?: (plan: Plan) => void;
  onProgress?: (done: { files: number; bytes: number }) => void;
}

export interface RunResult {
  summary: Summary;
  outcome: Outcome;
}

/** Opens the plan: the buckets' listings are read as the walk goes (plan.ts). */
function startRunPlan(
  config: Config,
  deps: RunDeps,
  state: StateStore,
  opts: RunOptions,
  sources: SourceCheck,
): Promise<PlannedRun> {
  const dumpKeys = config.dumps.map((d) => {
    const { key } = dumpTarget(d, config.categories, config.keyPrefix);
    return [key, `'${key}' is where the dump '${d.name}' goes`] as const;
  });
  return startPlan({
    roots: sources.present,
    several: sources.several,
    exclude: config.exclude,
    ownDirs: [config.stateDir],
    categories: config.categories,
    unmatched: config.unmatched,
    keyPrefix: config.keyPrefix,
    checksum: opts.checksum,
    reserved: new Map(dumpKeys),
    failed: sources.failures,
    unseen: sources.unseen,
    prune: !opts.dryRun,
  }, { store: deps.store, state, logger: deps.logger, signal: deps.signal, onScan: deps.onScan });
}

/** No bucket could be listed: nothing can be backed up. Fatal (exit 4), in one line. */
function assertSomeBucket(plan: Plan, buckets: Set<string>): void {
  if (plan.unlistable.size === 0 || plan.unlistable.size < buckets.size) return;
  const errors = [...plan.unlistable.values()].map((u) => u.error);
  const reasons = new Set(errors.map(describeError));
  const why = reasons.size === 1
    ? [...reasons][0]
    : [...plan.unlistable].map(([b, u]) => `${b}: ${describeError(u.error)}`).join("; ");
  throw new UnreachableError(
    `no bucket could be listed, nothing was backed up: ${why}; ${whatToCheck(errors[0])}`,
  );
}

/** Buckets that could not be listed: one failure each, naming how many files it held back. */
function bucketFailures(plan: Plan): PathFailure[] {
  return [...plan.unlistable].map(([bucket, { error, files }]) => ({
    path: `s3://${bucket}/`,
    error: `cannot list the bucket: ${describeError(error)} (${
      plural(files, "file")
    } routed to it not backed up)`,
  }));
}

/**
 * What a dry run reports: the plan's uploads. Only the files whose metadata left doubt are read
 * (and HEAD asked where no state row has their hash), as a real run would, to tell.
 */
async function dryRun(
  planned: PlannedRun,
  deps: RunDeps,
  concurrency: number,
): Promise<DryRunResult> {
  const { plan } = planned;
  const would: Array<Array<{ seq: number; key: string; bytes: number }>> = [];
  const skips: number[] = [];
  const failures: PathFailure[][] = [];
  await forEachPulled(planned.items, concurrency, async (item, seq, w) => {
    would[w] ??= [];
    skips[w] ??= 0;
    failures[w] ??= [];
    try {
      await resolveDoubt(item, deps.store, plan, deps.signal);
    } catch (err) {
      failures[w].push(doubtFailure(item, err));
      return;
    }
    if (item.action === "skip") {
      deps.logger.verbose(
        `File ${item.file.relPath} already up to date in ${item.bucket}, skipping.`,
      );
      skips[w]++;
      return;
    }
    deps.logger.info(`Would upload ${item.file.relPath} to ${item.bucket}`);
    would[w].push({ seq, key: `s3://${item.bucket}/${item.key}`, bytes: item.file.size });
  }, deps.signal);
  const uploads = would.flat().sort((a, b) => a.seq - b.seq);
  return {
    skipped: plan.skipped + skips.reduce((a, b) => a + (b ?? 0), 0),
    wouldUpload: uploads.map((u) => u.key),
    bytesToUpload: uploads.reduce((n, u) => n + u.bytes, 0),
    failures: failures.flat(),
  };
}

/**
 * The log's one line for the files found unchanged (instead of one line each, -v):
 * `Skipped 20,000 unchanged files: 15,000 in acme-docs, 5,000 in acme-photos.` Undefined: none.
 */
export function skippedLine(byBucket: Map<string, number>): string | undefined {
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
  planned: PlannedRun,
  config: Config,
  deps: RunDeps,
  state: StateStore,
  opts: RunOptions,
): Promise<{ result: ExecuteResult; dumps?: DumpOutcome[] }> {
  await prepareUploads(deps.store, state, deps.logger, deps.signal);
  const inFlight = opts.adaptive ? new InFlightLimit(opts.concurrency, MAX_IN_FLIGHT) : undefined;
  const result = await executePlan(
    planned.items,
    planned.plan,
    { ...deps, state },
    inFlight ?? opts.concurrency,
    deps.signal,
  );
  if (inFlight && inFlight.limit !== opts.concurrency) {
    deps.logger.verbose(`Uploads in flight adapted from ${opts.concurrency} to ${inFlight.limit}.`);
  }
  const dumps = config.dumps.length === 0 ? undefined : await runDumps(
    config.dumps,
    config.categories,
    config.keyPrefix,
    { ...deps, commands: commandsOf(deps) },
  );
  if (deps.signal?.aborted) return { result, dumps };
  const manifests = await writeManifests(
    planned.manifests,
    planned.plan,
    result.uploadedTo,
    config.keyPrefix,
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
      const planned = await startRunPlan(config, deps, state, opts, sources);
      const { plan } = planned;
      assertSomeBucket(plan, new Set(config.categories.map((c) => c.bucket)));
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
      let result;
      if (opts.dryRun) {
        result = await dryRun(planned, deps, opts.concurrency);
        if (config.dumps.length > 0) {
          dumps = dryRunDumps(config.dumps, config.categories, config.keyPrefix, deps.logger);
        }
        hooks.push(...dryRunHooks(config.hooks, deps.logger));
      } else {
        ({ result, dumps } = await execute(planned, config, deps, state, opts));
      }
      const unlistable = bucketFailures(plan);
      for (const f of unlistable) deps.logger.error(`Error listing ${f.path}: ${f.error}`);
      for (const f of plan.failed) deps.logger.error(`Error uploading ${f.path}: ${f.error}`);
      const skipped = opts.verbose ? undefined : skippedLine(plan.skippedByBucket);
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
