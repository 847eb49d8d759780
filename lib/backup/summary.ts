/**
 * The run's summary from what happened, pure: the plan, what executing it (or the dry run) gave,
 * the buckets that could not be listed, the local state's health, and the notifications.
 */
import type {
  DumpOutcome,
  HookOutcome,
  NotificationOutcome,
  PathFailure,
  Plan,
  Summary,
} from "../core/types.ts";
import type { StateHealth } from "../core/ports.ts";
import type { ExecuteResult } from "./execute.ts";
import { withStderr } from "./commands.ts";

/** What a dry run reports instead of uploads. */
export interface DryRunResult {
  skipped: number;
  wouldUpload: string[];
  bytesToUpload: number;
  /** Files whose content could not be read to decide. */
  failures?: PathFailure[];
}

export interface RunFacts {
  host: string;
  source: string;
  dryRun: boolean;
  startedAt: Date;
  endedAt: Date;
  requests: Record<string, number>;
  /** SIGINT/SIGTERM stopped the run. */
  interrupted: boolean;
  plan?: Plan;
  /** One failure per bucket that could not be listed. */
  bucketFailures?: PathFailure[];
  result?: ExecuteResult | DryRunResult;
  state?: StateHealth;
  /** Why the run could not start or finish (missing source, held lock, no bucket listable). */
  fatal?: string;
  /** Neither an SNS topic nor a ping URL is configured: nobody hears of a failure. */
  unwatched?: boolean;
  /** Buckets without versioning, or whose versioning could not be read (versioning.ts). */
  versioningWarnings?: string[];
  /** The [[dumps]] (when configured) and the hooks that ran (when configured). */
  dumps?: DumpOutcome[];
  hooks?: HookOutcome[];
}

/** One failure per dump or hook that failed (a dump's is named `dump <name>`). */
export function commandFailures(
  dumps: DumpOutcome[] = [],
  hooks: HookOutcome[] = [],
): PathFailure[] {
  return [
    ...hooks.filter((h) => h.status === "failed").map((h) => ({
      path: `${h.phase} hook ${h.command}`,
      error: withStderr(h.error ?? "failed", h.stderr),
    })),
    ...dumps.filter((d) => d.status === "failed").map((d) => ({
      path: `dump ${d.name}`,
      error: `${
        withStderr(d.error ?? "failed", d.stderr)
      } (no new version of s3://${d.bucket}/${d.key})`,
    })),
  ];
}

/** The warning of a run that reports to nobody (SNS topic and ping URL both unset). */
export const UNWATCHED_WARNING = "No SNS topic and no ping URL are configured: nobody will be " +
  "told when a run fails (set aws.sns_topic_arn or notify.ping_url)";

/** What the local state's health means for the report: warnings, and a failure to save. */
export function stateNotes(h: StateHealth | undefined): {
  rebuilt: boolean;
  warnings: string[];
  failure?: PathFailure;
} {
  const notes: { rebuilt: boolean; warnings: string[]; failure?: PathFailure } = {
    rebuilt: h?.movedTo !== undefined,
    warnings: [],
  };
  if (h === undefined) return notes;
  if (h.corrupt !== undefined && h.movedTo !== undefined) {
    notes.warnings.push(
      `Local state ${h.file} was damaged (${h.corrupt}): moved to ${h.movedTo} and rebuilt; ` +
        "files without a record are hashed and checked with HEAD, not uploaded again",
    );
  } else if (h.corrupt !== undefined) {
    notes.warnings.push(
      `Local state ${h.file} is damaged (${h.corrupt}): read as empty; ` +
        "the next real run moves it aside and rebuilds it",
    );
  }
  if (h.saveError !== undefined) {
    const next = h.unsaved > 0
      ? `; ${h.unsaved.toLocaleString("en-US")} of this run's file records were not written ` +
        "(their objects are in S3): the next run verifies them again (hash, and HEAD where no " +
        "record is left) instead of uploading them again"
      : "; the next run writes it again";
    notes.failure = {
      path: h.file,
      error: `could not save the local state: ${h.saveError}${next}`,
    };
  }
  return notes;
}

export function summarize(f: RunFacts): Summary {
  const { plan, result } = f;
  const notes = stateNotes(f.state);
  const failures: PathFailure[] = [...(f.bucketFailures ?? []), ...(plan?.failed ?? [])];
  const executed = result !== undefined && "uploaded" in result ? result : undefined;
  const dry = result !== undefined && "wouldUpload" in result ? result : undefined;
  if (dry) failures.push(...dry.failures ?? []);
  if (executed) {
    failures.push(...executed.failures);
    if (executed.notStarted > 0 || (f.interrupted && plan?.walked === false)) {
      const rest = plan?.walked === false ? "; the rest of the tree was not looked at" : "";
      failures.push({
        path: "(run)",
        error: `interrupted: ${executed.notStarted} files found to upload not started${rest}`,
      });
    }
  }
  failures.push(...commandFailures(f.dumps, f.hooks));
  if (notes.failure) failures.push(notes.failure);
  const errors = f.fatal !== undefined ? Math.max(failures.length, 1) : failures.length;
  return {
    status: f.interrupted ? "INTERRUPTED" : f.fatal !== undefined || errors > 0 ? "FAILED" : "OK",
    host: f.host,
    source: f.source,
    dryRun: f.dryRun,
    startedAt: f.startedAt.toISOString(),
    uploaded: executed?.uploaded ?? 0,
    skipped: executed?.skipped ?? dry?.skipped ?? 0,
    errors,
    excluded: plan?.excluded.length ?? 0,
    unmatched: plan?.unmatched.length ?? 0,
    symlinks: plan?.symlinks.length ?? 0,
    special: plan?.special.length ?? 0,
    invalidNames: plan?.invalidNames.length ?? 0,
    bytesUploaded: executed?.bytesUploaded ?? 0,
    hashed: plan?.hashed ?? 0,
    durationMs: f.endedAt.getTime() - f.startedAt.getTime(),
    requests: f.requests,
    failures,
    warnings: [
      ...(f.unwatched ? [UNWATCHED_WARNING] : []),
      ...notes.warnings,
      ...(f.versioningWarnings ?? []),
    ],
    stateRebuilt: notes.rebuilt,
    ...(f.fatal !== undefined ? { fatal: f.fatal } : {}),
    ...(executed ? { uploadedFiles: executed.uploadedKeys } : {}),
    ...(dry ? { wouldUpload: dry.wouldUpload, bytesToUpload: dry.bytesToUpload } : {}),
    ...(f.dumps ? { dumps: f.dumps } : {}),
    ...(f.hooks ? { hooks: f.hooks } : {}),
    notifications: {},
  };
}

/** The summary once the report was sent: a channel that failed makes an OK run FAILED. */
export function withNotifications(
  s: Summary,
  notifications: { sns?: NotificationOutcome; heartbeat?: NotificationOutcome },
): Summary {
  const unsent = Object.values(notifications).some((n) => !n.sent);
  return { ...s, notifications, status: unsent && s.status === "OK" ? "FAILED" : s.status };
}
