/** The narrow interfaces the core needs; adapters implement them (S3, SNS, SQLite, memory fakes). */
import type { Readable } from "node:stream";
import type { RemoteObject, StateRow } from "./types.ts";

/** How much a command logs: warnings and errors only (-q), the default, or per-file detail (-v). */
export type LogLevel = "quiet" | "normal" | "verbose";

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  /** An INFO record shown only at the verbose level: per-file detail (one line per skipped file). */
  verbose(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface Clock {
  now(): Date;
}

export interface Notifier {
  publish(subject: string, message: string): Promise<void>;
}

/** The run lock, held until released (or until the process ends, whatever way it ends). */
export interface Lock {
  release(): void;
}

/** What a heartbeat ping says: a run began, or how it ended (healthchecks.io's protocol). */
export type HeartbeatEvent = "start" | "success" | "fail";

/** A healthchecks.io-style monitor: a ping at the start and at the end; throws when not delivered. */
export interface Heartbeat {
  ping(event: HeartbeatEvent): Promise<void>;
}

/**
 * Content to upload, as the core knows it: its size, its SHA-256, and how to read it. The store
 * owns the upload format (part sizes, per-request checksums, the ETag S3 will compute).
 */
export interface UploadSource {
  size: number;
  /** SHA-256 of the content, hex: recorded in the object's metadata and checked on restore. */
  sha256: string;
  /** The byte range [start, end); rejects when the content is no longer what was scanned. */
  read(start: number, end: number): Promise<Uint8Array>;
  /**
   * Throws when the content changed since it was hashed. Called once every byte was sent and
   * before the object becomes visible; a throw aborts the upload and nothing is stored.
   */
  assertUnchanged?(): void;
}

export interface PutRequest {
  bucket: string;
  key: string;
  source: UploadSource;
  contentType: string;
  metadata: Record<string, string>;
  /**
   * Hears how many bytes of this upload were sent so far, as they go (the progress line); the
   * figure drops back when a request is retried, and it says nothing of S3 having kept them.
   */
  onProgress?: (sentBytes: number) => void;
}

export interface PutResult {
  etag?: string;
  versionId?: string;
}

/**
 * Content of unknown size, uploaded as it is produced (a database dump from a command's stdout).
 * Its metadata goes out before the first byte is known, so it cannot carry the content's
 * SHA-256: the caller hashes the chunks as they pass and records the result elsewhere (the run
 * manifest). A throw from `body` aborts the upload: nothing is stored, no version is made.
 */
export interface StreamPutRequest {
  bucket: string;
  key: string;
  body: AsyncIterable<Uint8Array>;
  contentType: string;
  metadata: Record<string, string>;
}

export interface StreamPutResult extends PutResult {
  /** Bytes stored. */
  size: number;
}

export interface ObjectHead extends RemoteObject {
  metadata: Record<string, string>;
  versionId?: string;
  /** The x-amz-restore state of an archived object. */
  restore?: { ongoing: boolean; expiry?: Date };
  /** Server-side encryption ("AES256", "aws:kms"); with KMS the ETag is not an MD5. */
  sse?: string;
}

export interface ObjectVersion extends RemoteObject {
  versionId: string;
  isLatest: boolean;
  isDeleteMarker: boolean;
}

export interface GetResult extends ObjectHead {
  body: Readable;
}

export type RestoreRequestOutcome = "started" | "in-progress" | "ready";

/** A multipart upload that was created and not yet completed or aborted. */
export interface OpenUpload {
  bucket: string;
  key: string;
  uploadId: string;
}

/**
 * Where a store notes its multipart uploads while they are open (the local state): a run killed
 * with kill -9 leaves their ids for the next run to abort (see open_uploads.ts).
 */
export interface UploadJournal {
  addOpenUpload(upload: OpenUpload): void;
  removeOpenUpload(uploadId: string): void;
}

/** A bucket's versioning status; "Disabled": never enabled (S3 then sends no status). */
export type VersioningStatus = "Enabled" | "Suspended" | "Disabled";

/** A page of one level of a listing (delimiter "/"). */
export interface ListLevelPage {
  objects: RemoteObject[];
  /** "<prefix><name>/", each once. */
  folders: string[];
}

export interface ObjectStore {
  /** Every object under prefix, in key order. */
  list(bucket: string, prefix: string): AsyncIterable<RemoteObject>;
  /**
   * The same listing page by page (up to ~1,000 objects each), of the keys after `startAfter`
   * when given: a run merges pages with its walk.
   */
  listPages(bucket: string, prefix: string, startAfter?: string): AsyncIterable<RemoteObject[]>;
  /** One level under prefix, page by page: the objects right under it and its "folders". */
  listLevel?(bucket: string, prefix: string): AsyncIterable<ListLevelPage>;
  /** The bucket's versioning status (GetBucketVersioning). */
  versioning?(bucket: string): Promise<VersioningStatus>;
  /** undefined when the object (or version) does not exist. */
  head(bucket: string, key: string, versionId?: string): Promise<ObjectHead | undefined>;
  put(req: PutRequest): Promise<PutResult>;
  /**
   * Uploads `body` as it is read, holding at most a few parts of it in memory (the same budget
   * as put); the object exists only once `body` ended without a throw.
   */
  putStream(req: StreamPutRequest): Promise<StreamPutResult>;
  /**
   * Whether a stored object holds this content, judged from what the store keeps of it (S3:
   * the ETag, an MD5 or an MD5 of part MD5s); "unknown" where that says nothing (SSE-KMS).
   */
  contentMatches(
    object: ObjectHead,
    source: UploadSource,
  ): Promise<"match" | "mismatch" | "unknown">;
  /** undefined when the object (or version) does not exist. */
  get(bucket: string, key: string, versionId?: string): Promise<GetResult | undefined>;
  /** Every version and delete marker under prefix. */
  listVersions(bucket: string, prefix: string): AsyncIterable<ObjectVersion>;
  requestRestore(
    bucket: string,
    key: string,
    versionId: string | undefined,
    opts: { days: number; tier: string },
  ): Promise<RestoreRequestOutcome>;
  /** Requests sent so far, by S3 operation name (what the run cost). */
  requestCounts(): Record<string, number>;
  /** Journals the multipart uploads this store opens from now on (absent: nothing to track). */
  trackUploads?(journal: UploadJournal): void;
  /** Aborts a multipart upload; "gone" when it no longer exists. */
  abortUpload?(bucket: string, key: string, uploadId: string): Promise<"aborted" | "gone">;
}

/** The local record of what was backed up (node:sqlite in production). */
export interface StateStore {
  /** All rows, keyed by `bucket\0key`. */
  loadAll(): Map<string, StateRow>;
  /**
   * Rows of `bucket` with keys in (after, upTo], in S3's key order; no `after`: from the first,
   * no `upTo`: to the last.
   */
  rowsBetween(bucket: string, after: string | undefined, upTo?: string): StateRow[];
  /** Deletes the rows of files that no longer exist. */
  forget(bucket: string, keys: string[]): void;
  /** Queue a row; rows are written in batches, each batch one transaction. */
  record(row: StateRow): void;
  /** Write queued rows now. */
  flush(): void;
  /** Small named values (e.g. the fingerprint of the last manifest written per bucket). */
  getMeta(name: string): string | undefined;
  setMeta(name: string, value: string): void;
  /** Keeps a line of history per run (absent in read-only views). */
  recordRun?(run: RunRecord): void;
  /** What went wrong with the state so far (damage, failed writes); never throws. */
  health?(): StateHealth;
  /** Multipart uploads journaled and not yet completed or aborted (absent: none kept). */
  openUploads?(): OpenUpload[];
  addOpenUpload?(upload: OpenUpload): void;
  removeOpenUpload?(uploadId: string): void;
  close(): void;
}

/**
 * Problems with the local state during a run. None of them fails the run: a damaged database
 * is replaced by a new one, and rows that could not be saved are verified again next run.
 */
export interface StateHealth {
  /** The database file (state_dir/state.db). */
  file: string;
  /** The database was found damaged: SQLite's words. */
  corrupt?: string;
  /** Where the damaged file was moved (absent for a read-only view: nothing is moved). */
  movedTo?: string;
  /** Why rows could not be saved (the first failure), e.g. no space left on device. */
  saveError?: string;
  /** Rows (files uploaded or verified this run) that could not be saved. */
  unsaved: number;
}

export interface RunRecord {
  startedAt: string;
  status: string;
  uploaded: number;
  skipped: number;
  errors: number;
  bytesUploaded: number;
  durationMs: number;
}

/** How a command ended (see CommandRunner). */
export interface CommandExit {
  /** The exit code; undefined when a signal ended it or it could not be started. */
  code?: number;
  /** The signal that ended it ("SIGTERM", …). */
  signal?: string;
  /** It ran past its timeout and was killed. */
  timedOut: boolean;
  /** It could not be started (not found, not executable): why. */
  startError?: string;
  /** The last lines it wrote to stderr, capped. */
  stderrTail: string[];
}

/** A command started by a CommandRunner. */
export interface RunningCommand {
  /** Its stdout, when piped; ends when the command closes it. */
  stdout: AsyncIterable<Uint8Array>;
  /** Settles (never rejects) once it exited and its stderr was read. */
  exit: Promise<CommandExit>;
  /** Ends it (SIGTERM, then SIGKILL after a grace period); no-op once it exited. */
  kill(): void;
}

/**
 * Starts commands from an argv (no shell), the environment passed through: the dumps' and the
 * hooks' commands. A timeout or the signal kills the command.
 */
export interface CommandRunner {
  start(
    argv: string[],
    opts: { stdout: "piped" | "discard"; timeoutMs: number; signal?: AbortSignal },
  ): RunningCommand;
}

export function stateKey(bucket: string, key: string): string {
  return `${bucket}\0${key}`;
}
