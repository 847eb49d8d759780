/** Values that flow through a backup run: scan → route → plan → execute → report. */

/** A regular file found under the source tree. */
export interface LocalFile {
  /** Path relative to the source, with `/` separators. */
  relPath: string;
  /** Absolute path on disk. */
  absPath: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Device the scan found it on: with ino, which file it is (a swap since the scan changes it). */
  dev: number;
}

/** A category from the config: a bucket and the extensions routed to it. */
export interface Category {
  name: string;
  bucket: string;
  /** Lower-case suffixes with their leading dot, e.g. `.sql.gz`. */
  extensions: string[];
}

/** What the tool recorded locally about a file it last backed up. */
export interface StateRow {
  bucket: string;
  key: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  sha256: string;
  /** Wall-clock time (ms) the row was written; the racily-clean rule compares against it. */
  recordedAtMs: number;
}

/** One object in a bucket listing. */
export interface RemoteObject {
  key: string;
  size: number;
  etag?: string;
  lastModified: Date;
  storageClass: string;
}

/** Where a file goes and why. */
export type PlanAction = "upload" | "skip";

export interface PlanItem {
  file: LocalFile;
  category: string;
  bucket: string;
  key: string;
  action: PlanAction;
  /** Why: "new", "changed", "missing-remote", "unchanged", … */
  reason: string;
  /** The content's SHA-256 (hex), when the plan hashed the file. */
  sha256?: string;
  /** A skip whose state row must be (re)written: verified by hash, not by the fast path. */
  refreshState?: boolean;
  /**
   * Metadata left doubt: the content is read to decide, and compared with the SHA-256 of the
   * state row ("state") or the one the object carries (HEAD, "object").
   */
  doubt?: { expected: "state" | "object"; recorded?: string };
}

export interface PathFailure {
  path: string;
  error: string;
}

/**
 * The plan, built as the walk goes (plan.ts): every file seen lands in exactly one place (an
 * item handed to the executor, a count of skips, or one of the lists). Lists other than the
 * items are small in a healthy tree; the items are streamed, never held.
 */
export interface Plan {
  /** Files skipped from their metadata alone (logged when decided; not kept as items). */
  skipped: number;
  /** The same files, counted per bucket (the log's one line for the skipped files). */
  skippedByBucket: Map<string, number>;
  excluded: string[];
  unmatched: string[];
  failed: PathFailure[];
  symlinks: string[];
  special: string[];
  /** Names that are not valid UTF-8 (S3 keys must be), escaped; each is also in `failed`. */
  invalidNames: string[];
  /** Files whose content had to be read to decide (the fast path left doubt). */
  hashed: number;
  /** Buckets whose listing failed: why, and how many files were routed to them (not backed up). */
  unlistable: Map<string, { error: Error; files: number }>;
  /** Paths the walk could not see (folders end in `/`): the manifest keeps their entries. */
  unseen: string[];
  /** Files and bytes found to upload so far (doubts count once read); final once `walked`. */
  toUpload: { files: number; bytes: number };
  /** The walk went through every tree (not cut short by an interruption or an error). */
  walked: boolean;
  /** State rows of files that no longer exist, deleted this run. */
  pruned: number;
}

/** A `[[dumps]]` entry in a run: its object, and how it went. */
export interface DumpOutcome {
  name: string;
  bucket: string;
  key: string;
  /** "would-run" in a dry run; "not-run" when the run was interrupted before it. */
  status: "uploaded" | "failed" | "would-run" | "not-run";
  bytes: number;
  durationMs: number;
  /** SHA-256 of the content, computed while it streamed (recorded in the run manifest). */
  sha256?: string;
  versionId?: string;
  error?: string;
  /** The command's last stderr lines, when it failed. */
  stderr?: string[];
}

/** A `before` or `after` hook in a run. */
export interface HookOutcome {
  phase: "before" | "after";
  /** Its argv, shown as one line. */
  command: string;
  status: "ok" | "failed" | "would-run";
  durationMs: number;
  error?: string;
  stderr?: string[];
}

/** The outcome of a run, reported on stdout, as JSON and through SNS. */
export interface Summary {
  status: "OK" | "FAILED" | "INTERRUPTED";
  host: string;
  source: string;
  dryRun: boolean;
  startedAt: string;
  uploaded: number;
  skipped: number;
  errors: number;
  excluded: number;
  unmatched: number;
  symlinks: number;
  special: number;
  bytesUploaded: number;
  /** Files read to decide whether they changed (0 in a steady state). */
  hashed: number;
  durationMs: number;
  requests: Record<string, number>;
  failures: PathFailure[];
  /** Set when the run could not start or finish (missing source, …). */
  fatal?: string;
  /** Names not valid UTF-8: not backed up (each is also a failure). */
  invalidNames?: number;
  /** Things the admin should know that did not fail the run (the local state was rebuilt). */
  warnings?: string[];
  /** The local state was found damaged, moved aside and rebuilt this run. */
  stateRebuilt?: boolean;
  /** The first uploads (up to LISTED_UPLOADS_MAX), as s3://bucket/key, in the plan's order. */
  uploadedFiles?: string[];
  /** Dry run: what a real run would upload, as s3://bucket/key. */
  wouldUpload?: string[];
  /** Dry run: the bytes a real run would upload. */
  bytesToUpload?: number;
  /** The [[dumps]] of the run (absent when none are configured). */
  dumps?: DumpOutcome[];
  /** The before/after hooks that ran (absent when none are configured). */
  hooks?: HookOutcome[];
  /** Each configured report channel, and whether the report reached it. */
  notifications: { sns?: NotificationOutcome; heartbeat?: NotificationOutcome };
}

export interface NotificationOutcome {
  sent: boolean;
  error?: string;
}
