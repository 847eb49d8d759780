/**
 * Carries out a plan: a bounded pool of streaming uploads. One file's failure is recorded
 * and the run goes on. A file is marked clean in the state only after S3 confirmed it and
 * only if it did not change while it was read.
 */
import { Readable, Transform, type Writable } from "node:stream";
import type { Clock, Logger, ObjectStore, StateStore } from "../core/ports.ts";
import type { LocalFile, PathFailure, Plan, PlanItem } from "../core/types.ts";
import { digestBytes, digestFile } from "../core/digest.ts";
import { contentTypeFor } from "./route.ts";
import { forEachPool } from "../core/pool.ts";
import { describeError } from "../core/errors.ts";
import { SHA256_METADATA } from "./plan.ts";
import { statMatches } from "./change.ts";
import { readWhole, SourceFile, withSourceFile } from "../core/source_file.ts";

export interface ExecuteResult {
  uploaded: number;
  skipped: number;
  bytesUploaded: number;
  failures: PathFailure[];
  /** Files planned for upload that were not started because the run was interrupted. */
  notStarted: number;
}

export interface ExecuteDeps {
  store: ObjectStore;
  state: StateStore;
  clock: Clock;
  logger: Logger;
  /** Called after each file finishes (progress display). */
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

/** The byte range [start, end) of a scanned file in chunks, read through a SourceFile. */
async function* chunksOf(f: LocalFile, start: number, end: number): AsyncGenerator<Uint8Array> {
  const file = SourceFile.open(f);
  try {
    for (let pos = start; pos < end;) {
      const buf = new Uint8Array(Math.min(STREAM_CHUNK, end - pos));
      const n = await file.readAt(buf, pos);
      if (n === 0) return; // it shrank: the check in openRange fails the upload
      pos += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    file.close();
  }
}

const STREAM_CHUNK = 1024 * 1024;

/**
 * The byte range [start, end) of a file, as a stream that fails the upload it feeds when the
 * file ends early (it shrank) or cannot be read. The SDK pipes a body into the HTTP request and
 * a pipe does not pass errors on, so the request it was piped into is destroyed here; otherwise
 * the server would wait forever for the bytes Content-Length promised.
 */
function openRange(f: LocalFile, start: number, end: number): Readable {
  if (end <= start) return Readable.from([]);
  const expected = end - start;
  let seen = 0;
  let target: Writable | undefined;
  const fail = (err: Error) => target?.destroy(err);
  const check = new Transform({
    transform(chunk: Uint8Array, _enc, cb) {
      seen += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      if (seen !== expected) {
        fail(new Error(`file changed while it was uploaded (read ${seen} of ${expected} bytes)`));
      }
      cb();
    },
  });
  const pipe = check.pipe.bind(check);
  check.pipe = (<T extends NodeJS.WritableStream>(dest: T, opts?: { end?: boolean }) => {
    target = dest as unknown as Writable;
    return pipe(dest, opts);
  }) as typeof check.pipe;
  const file = Readable.from(chunksOf(f, start, end), { objectMode: false });
  // A body dropped by a failed attempt closes the file (ending the generator) at once.
  check.on("close", () => file.destroy());
  file.on("error", (err) => {
    fail(err);
    check.end();
  });
  return file.pipe(check);
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
 * open instead of two and no stream (5,000 small files: see README, Performance). With the
 * default concurrency of 16 that holds at most 16 MiB.
 */
export const IN_MEMORY_MAX = 1024 * 1024;

/** Uploads one file and records it clean. Throws with a reason on failure. */
async function uploadOne(item: PlanItem, deps: ExecuteDeps, signal?: AbortSignal): Promise<void> {
  const f = item.file;
  const bytes = f.size <= IN_MEMORY_MAX ? await readWhole(f) : undefined;
  // Large files: the pre-pass hashes SHA-256 only; each part's MD5 is computed by the store
  // from the part it reads into memory, while earlier parts travel.
  const digest = bytes ? digestBytes(bytes) : item.digest ??
    await digestFile(f.absPath, f.size, undefined, { partMd5s: false, expect: f });
  const unchanged = () => {
    const now = currentStat(f.absPath);
    if (now === undefined || !statMatches(now, f) || now.dev !== f.dev) {
      throw new Error("file changed while it was uploaded; the next run uploads its final content");
    }
  };
  await deps.store.put({
    bucket: item.bucket,
    key: item.key,
    size: f.size,
    open: (start, end) =>
      bytes ? Readable.from([bytes.subarray(start, end)]) : openRange(f, start, end),
    bytes,
    read: (start, end) => withSourceFile(f, (file) => file.readRange(start, end)),
    assertUnchanged: unchanged,
    digest,
    contentType: contentTypeFor(f.relPath),
    metadata: {
      [SHA256_METADATA]: digest.sha256Hex,
      mtime: new Date(f.mtimeMs).toISOString(),
    },
    signal,
  });
  // S3 holds a consistent copy (its checksums matched what was hashed), but the file may have
  // moved on since.
  unchanged();
  recordClean(deps, item, digest.sha256Hex);
}

export async function executePlan(
  plan: Plan,
  deps: ExecuteDeps,
  concurrency: number,
  signal?: AbortSignal,
): Promise<ExecuteResult> {
  const result: ExecuteResult = {
    uploaded: 0,
    skipped: plan.skipped,
    bytesUploaded: 0,
    failures: [],
    notStarted: 0,
  };
  const uploads: PlanItem[] = [];
  for (const item of plan.items) {
    if (item.action === "upload") {
      uploads.push(item);
      continue;
    }
    deps.logger.info(`File ${item.file.relPath} already up to date in ${item.bucket}, skipping.`);
    if (item.refreshState && item.digest) recordClean(deps, item, item.digest.sha256Hex);
    result.skipped++;
  }
  // Each upload's outcome by index, summed once the pool is done: a total updated across an
  // await in the pool would be read before and written after other uploads finished.
  const outcomes: Array<{ bytes: number } | { failure: PathFailure } | undefined> = [];
  let progressFiles = 0;
  let progressBytes = 0;
  await forEachPool(uploads, concurrency, async (item, i) => {
    deps.logger.info(`Uploading ${item.file.relPath} to ${item.bucket}...`);
    try {
      await uploadOne(item, deps, signal);
      outcomes[i] = { bytes: item.file.size };
      progressBytes += item.file.size;
    } catch (err) {
      const reason = signal?.aborted ? `interrupted (${describeError(err)})` : describeError(err);
      deps.logger.error(`Error uploading ${item.file.relPath}: ${reason}`);
      outcomes[i] = { failure: { path: item.file.relPath, error: reason } };
    }
    progressFiles++;
    deps.onProgress?.({ files: progressFiles, bytes: progressBytes });
  }, signal);
  for (let i = 0; i < uploads.length; i++) {
    const o = outcomes[i];
    if (o === undefined) result.notStarted++;
    else if ("failure" in o) result.failures.push(o.failure);
    else {
      result.uploaded++;
      result.bytesUploaded += o.bytes;
    }
  }
  deps.state.flush();
  return result;
}
