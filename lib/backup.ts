/**
 * Carries out a plan: a bounded pool of streaming uploads. One file's failure is recorded
 * and the run goes on. A file is marked clean in the state only after S3 confirmed it and
 * only if it did not change while it was read.
 */
import { createReadStream } from "node:fs";
import { Readable, Transform, type Writable } from "node:stream";
import type { Clock, Logger, ObjectStore, StateStore } from "./ports.ts";
import type { LocalFile, PathFailure, Plan, PlanItem } from "./types.ts";
import { digestBytes, digestFile } from "./digest.ts";
import { contentTypeFor } from "./routing.ts";
import { forEachPool } from "./pool.ts";
import { describeError } from "./errors.ts";
import { SHA256_METADATA } from "./plan.ts";
import { statMatches } from "./change.ts";

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

function currentStat(path: string): LocalFile | undefined {
  try {
    const st = Deno.statSync(path);
    return {
      relPath: "",
      absPath: path,
      size: st.size,
      mtimeMs: st.mtime?.getTime() ?? 0,
      ctimeMs: st.ctime?.getTime() ?? 0,
      ino: st.ino ?? 0,
    };
  } catch {
    return undefined;
  }
}

/**
 * The byte range [start, end) of a file, as a stream that fails the upload it feeds when the
 * file ends early (it shrank) or cannot be read. The SDK pipes a body into the HTTP request and
 * a pipe does not pass errors on, so the request it was piped into is destroyed here; otherwise
 * the server would wait forever for the bytes Content-Length promised.
 */
function openRange(path: string, start: number, end: number): Readable {
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
  const file = createReadStream(path, { start, end: end - 1, highWaterMark: 1024 * 1024 });
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

/** A small file's content; a size other than the scan's means it changed since. */
async function readSmall(f: LocalFile, signal?: AbortSignal): Promise<Uint8Array> {
  const bytes = await Deno.readFile(f.absPath, { signal });
  if (bytes.length !== f.size) {
    throw new Error(
      `file changed while it was read (expected ${f.size} bytes, read ${bytes.length})`,
    );
  }
  return bytes;
}

/** The byte range [start, end) of a file, read into memory; a short read means it shrank. */
async function readRange(path: string, start: number, end: number): Promise<Uint8Array> {
  const out = new Uint8Array(end - start);
  using file = await Deno.open(path, { read: true });
  await file.seek(start, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < out.length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) {
      throw new Error(
        `file changed while it was uploaded (it ended ${end - start - filled} bytes early)`,
      );
    }
    filled += n;
  }
  return out;
}

/** Uploads one file and records it clean. Throws with a reason on failure. */
async function uploadOne(item: PlanItem, deps: ExecuteDeps, signal?: AbortSignal): Promise<void> {
  const f = item.file;
  const bytes = f.size <= IN_MEMORY_MAX ? await readSmall(f, signal) : undefined;
  // Large files: the pre-pass hashes SHA-256 only; each part's MD5 is computed by the store
  // from the part it reads into memory, while earlier parts travel.
  const digest = bytes
    ? digestBytes(bytes)
    : item.digest ?? await digestFile(f.absPath, f.size, undefined, { partMd5s: false });
  const unchanged = () => {
    const now = currentStat(f.absPath);
    if (now === undefined || !statMatches(now, f)) {
      throw new Error("file changed while it was uploaded; the next run uploads its final content");
    }
  };
  await deps.store.put({
    bucket: item.bucket,
    key: item.key,
    size: f.size,
    open: (start, end) =>
      bytes ? Readable.from([bytes.subarray(start, end)]) : openRange(f.absPath, start, end),
    bytes,
    read: (start, end) => readRange(f.absPath, start, end),
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
  let done = 0;
  let started = 0;
  await forEachPool(uploads, concurrency, async (item) => {
    started++;
    deps.logger.info(`Uploading ${item.file.relPath} to ${item.bucket}...`);
    try {
      await uploadOne(item, deps, signal);
      result.uploaded++;
      result.bytesUploaded += item.file.size;
    } catch (err) {
      const reason = signal?.aborted ? `interrupted (${describeError(err)})` : describeError(err);
      deps.logger.error(`Error uploading ${item.file.relPath}: ${reason}`);
      result.failures.push({ path: item.file.relPath, error: reason });
    }
    done++;
    deps.onProgress?.({ files: done, bytes: result.bytesUploaded });
  }, signal);
  result.notStarted = uploads.length - started;
  deps.state.flush();
  return result;
}
