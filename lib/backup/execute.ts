/**
 * Carries out a plan as it is made: a bounded pool of uploads. One file's failure is recorded and the run
 * goes on. A file is marked clean in the state only after S3 confirmed it and only if it did
 * not change while it was read.
 */
import type { Clock, Logger, ObjectStore, StateStore, UploadSource } from "../core/ports.ts";
import type { LocalFile, PathFailure, Plan, PlanItem } from "../core/types.ts";
import { bytesSource, sha256File, sha256Hex } from "../core/digest.ts";
import { contentTypeFor } from "./route.ts";
import { doubtFailure, resolveDoubt } from "./plan.ts";
import { forEachPulled } from "../core/pool.ts";
import { InFlightLimit } from "./in_flight.ts";

/** Uploads in flight at most when the run adapts their number (4 × the default 16). */
export const MAX_IN_FLIGHT = 64;
import { LISTED_UPLOADS_MAX } from "./report.ts";
import { describeError } from "../core/errors.ts";
import { MTIME_METADATA, SHA256_METADATA } from "../core/layout.ts";
import { statMatches } from "./change.ts";
import { readWhole, withSourceFile } from "../core/source_file.ts";

export interface ExecuteResult {
  uploaded: number;
  skipped: number;
  bytesUploaded: number;
  failures: PathFailure[];
  /** Files planned for upload that were not started because the run was interrupted. */
  notStarted: number;
  /** The first uploads (up to LISTED_UPLOADS_MAX), as s3://bucket/key, in the plan's order. */
  uploadedKeys: string[];
  /** Buckets that got an upload (their manifests are written). */
  uploadedTo: Set<string>;
}

export interface ExecuteDeps {
  store: ObjectStore;
  state: StateStore;
  clock: Clock;
  logger: Logger;
  /**
   * Files finished and bytes sent so far (the progress display): after each file, and as the
   * bytes of the files in flight go.
   */
  onProgress?: (done: { files: number; bytes: number }) => void;
}

/** The path's own metadata now (a symlink is not followed); undefined when it is gone. */
function currentStat(path: string): LocalFile | undefined {
  try {
    const st = Deno.lstatSync(path);
    if (!st.isFile) return undefined;
    return {
      relPath: "",
      absPath: path,
      size: st.size,
      mtimeMs: st.mtime?.getTime() ?? 0,
      ctimeMs: st.ctime?.getTime() ?? 0,
      ino: st.ino ?? 0,
      dev: st.dev,
    };
  } catch {
    return undefined;
  }
}

function recordClean(deps: ExecuteDeps, item: PlanItem, sha256: string): void {
  const f = item.file;
  deps.state.record({
    bucket: item.bucket,
    key: item.key,
    size: f.size,
    mtimeMs: f.mtimeMs,
    ctimeMs: f.ctimeMs,
    ino: f.ino,
    sha256,
    recordedAtMs: deps.clock.now().getTime(),
  });
}

/**
 * Files up to this size are read once into memory, hashed and sent from the same bytes: one
 * open instead of two (5,000 small files: see bench/README.md). With the default concurrency
 * of 16 that holds at most 16 MiB.
 */
export const IN_MEMORY_MAX = 1024 * 1024;

/** Throws unless the path is still the file the plan saw (size, times, inode, device). */
function assertUnchanged(f: LocalFile): void {
  const now = currentStat(f.absPath);
  if (now === undefined || !statMatches(now, f) || now.dev !== f.dev) {
    throw new Error("file changed while it was uploaded; the next run uploads its final content");
  }
}

/** Uploads one file and records it clean. Throws with a reason on failure. */
async function uploadOne(
  item: PlanItem,
  deps: ExecuteDeps,
  onProgress?: (sentBytes: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const f = item.file;
  const request = (source: UploadSource) => ({
    onProgress,
    bucket: item.bucket,
    key: item.key,
    source,
    contentType: contentTypeFor(f.relPath),
    metadata: {
      [SHA256_METADATA]: source.sha256,
      [MTIME_METADATA]: new Date(f.mtimeMs).toISOString(),
    },
  });
  let sha256: string;
  if (f.size <= IN_MEMORY_MAX) {
    const bytes = await readWhole(f);
    sha256 = sha256Hex(bytes);
    await deps.store.put(request(bytesSource(bytes, sha256)));
  } else {
    // Hashed first (its SHA-256 goes into the metadata), then read again part by part.
    sha256 = item.sha256 ?? await sha256File(f, signal);
    await withSourceFile(f, (file) =>
      deps.store.put(request({
        size: f.size,
        sha256,
        read: (start, end) => file.readRange(start, end),
        assertUnchanged: () => assertUnchanged(f),
      })));
  }
  // S3 holds a consistent copy (its checksums matched what was read), but the file may have
  // moved on since.
  assertUnchanged(f);
  recordClean(deps, item, sha256);
}

/** One worker's tally: only that worker writes it, so nothing shared changes across an await. */
interface Tally {
  uploaded: number;
  bytes: number;
  skipped: number;
  failures: PathFailure[];
  /** Uploads finished, with their place in the plan, for the report's first few. */
  uploadedKeys: Array<{ seq: number; key: string }>;
  uploadedTo: Set<string>;
  uploadFailures: number;
}

/** Keeps the `max` lowest-numbered entries (the report lists the plan's first uploads). */
function keepFirst(list: Array<{ seq: number; key: string }>, max: number): void {
  if (list.length <= max) return;
  list.sort((a, b) => a.seq - b.seq);
  list.length = max;
}

/**
 * Carries out the plan as it is made: `concurrency` workers take items one at a time, read the
 * doubted ones to settle them, and upload the rest. Each worker keeps its own tally; they are
 * summed at the end.
 */
export async function executePlan(
  items: AsyncIterable<PlanItem>,
  plan: Plan,
  deps: ExecuteDeps,
  concurrency: number | InFlightLimit,
  signal?: AbortSignal,
): Promise<ExecuteResult> {
  const limit = typeof concurrency === "number" ? undefined : concurrency;
  const workers = limit ? MAX_IN_FLIGHT : (concurrency as number);
  // For the progress line only (never the report): files done, and bytes sent, counting the
  // part of each file in flight that went out already. Each update is one synchronous step.
  let progressFiles = 0;
  let finishedBytes = 0;
  let inFlightBytes = 0;
  const inFlight = new Map<number, number>();
  const report = () =>
    deps.onProgress?.({ files: progressFiles, bytes: finishedBytes + inFlightBytes });
  const sentOf = (i: number) =>
    deps.onProgress &&
    ((sent: number) => {
      inFlightBytes += sent - (inFlight.get(i) ?? 0);
      inFlight.set(i, sent);
      report();
    });
  const tallies: Tally[] = Array.from({ length: Math.max(1, workers) }, () => ({
    uploaded: 0,
    bytes: 0,
    skipped: 0,
    failures: [],
    uploadedKeys: [],
    uploadedTo: new Set<string>(),
    uploadFailures: 0,
  }));
  const one = async (item: PlanItem, i: number, w: number) => {
    const t = tallies[w];
    try {
      await resolveDoubt(item, deps.store, plan, signal);
    } catch (err) {
      t.failures.push(doubtFailure(item, err));
      deps.logger.error(`Error reading ${item.file.relPath}: ${describeError(err)}`);
      return;
    }
    if (item.action === "skip") {
      deps.logger.verbose(
        `File ${item.file.relPath} already up to date in ${item.bucket}, skipping.`,
      );
      if (item.refreshState && item.sha256) recordClean(deps, item, item.sha256);
      t.skipped++;
      return;
    }
    deps.logger.info(`Uploading ${item.file.relPath} to ${item.bucket}...`);
    try {
      await uploadOne(item, deps, sentOf(i), signal);
      limit?.finished(true);
      t.uploaded++;
      t.bytes += item.file.size;
      t.uploadedTo.add(item.bucket);
      t.uploadedKeys.push({ seq: i, key: `s3://${item.bucket}/${item.key}` });
      keepFirst(t.uploadedKeys, LISTED_UPLOADS_MAX);
      finishedBytes += item.file.size;
    } catch (err) {
      const reason = signal?.aborted ? `interrupted (${describeError(err)})` : describeError(err);
      deps.logger.error(`Error uploading ${item.file.relPath}: ${reason}`);
      t.failures.push({ path: item.file.relPath, error: reason });
      t.uploadFailures++;
      limit?.finished(false);
    }
    inFlightBytes -= inFlight.get(i) ?? 0;
    inFlight.delete(i);
    progressFiles++;
    report();
  };
  try {
    await forEachPulled(items, workers, one, signal, limit);
  } finally {
    deps.state.flush();
  }
  const result: ExecuteResult = {
    uploaded: 0,
    skipped: plan.skipped,
    bytesUploaded: 0,
    failures: [],
    notStarted: 0,
    uploadedKeys: [],
    uploadedTo: new Set(),
  };
  const firsts: Array<{ seq: number; key: string }> = [];
  for (const t of tallies) {
    result.uploaded += t.uploaded;
    result.bytesUploaded += t.bytes;
    result.skipped += t.skipped;
    result.failures.push(...t.failures);
    firsts.push(...t.uploadedKeys);
    for (const b of t.uploadedTo) result.uploadedTo.add(b);
  }
  keepFirst(firsts, LISTED_UPLOADS_MAX);
  result.uploadedKeys = firsts.map((f) => f.key);
  const attempted = result.uploaded + tallies.reduce((n, t) => n + t.uploadFailures, 0);
  result.notStarted = Math.max(0, plan.toUpload.files - attempted);
  return result;
}
