/**
 * Change detection, as pure decisions (restic's fileChanged, git's racily-clean rule).
 *
 * First decision, from metadata only: skip (fast path), upload, or "hash" when in doubt.
 * Second decision, once the content hash (and, without local state, the object's recorded
 * hash) is known.
 */
import type { LocalFile, RemoteObject, StateRow } from "../core/types.ts";

/**
 * Timestamps within this distance of the moment a row was recorded are "racily clean": an
 * edit in the same timestamp tick as the recording would leave size and mtime unchanged. 2 s
 * covers the coarsest common granularity (FAT/exFAT); ext4/xfs/btrfs are in nanoseconds.
 */
export const RACY_WINDOW_MS = 2000;

export type FirstDecision =
  | { kind: "upload"; reason: "new" | "changed" | "missing-remote" | "size-differs" }
  | { kind: "skip"; reason: "unchanged" }
  /** Hash and compare with the state row's SHA-256. */
  | { kind: "hash"; reason: "metadata-changed" | "racily-clean" | "checksum-mode" }
  /** No usable state: hash and compare with the SHA-256 recorded in the object's metadata. */
  | { kind: "hash-and-head"; reason: "no-state" };

export interface ChangeInput {
  file: LocalFile;
  /** The state row for this bucket/key, if any. */
  row?: StateRow;
  /** The object in the bucket listing, if present. */
  remote?: Pick<RemoteObject, "size">;
  /** --checksum: hash every file. */
  checksum: boolean;
}

export function isRacilyClean(file: LocalFile, row: StateRow): boolean {
  const newest = Math.max(file.mtimeMs, file.ctimeMs);
  return newest >= row.recordedAtMs - RACY_WINDOW_MS;
}

type Stat = Pick<LocalFile, "size" | "mtimeMs" | "ctimeMs" | "ino">;

/** Same size, mtime, ctime and inode: the fast path's notion of "not touched". */
export function statMatches(a: Stat, b: Stat): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

export function firstDecision({ file, row, remote, checksum }: ChangeInput): FirstDecision {
  if (remote === undefined) {
    return { kind: "upload", reason: row === undefined ? "new" : "missing-remote" };
  }
  if (remote.size !== file.size) return { kind: "upload", reason: "size-differs" };
  if (row === undefined || row.size !== remote.size) {
    return { kind: "hash-and-head", reason: "no-state" };
  }
  if (checksum) return { kind: "hash", reason: "checksum-mode" };
  if (!statMatches(file, row)) return { kind: "hash", reason: "metadata-changed" };
  if (isRacilyClean(file, row)) return { kind: "hash", reason: "racily-clean" };
  return { kind: "skip", reason: "unchanged" };
}

export type FinalDecision =
  | { kind: "upload"; reason: "changed" | "no-recorded-hash" }
  | { kind: "skip"; reason: "same-content" };

/**
 * After hashing: `expected` is the state row's SHA-256 ("hash") or the object's recorded
 * x-amz-meta-sha256 ("hash-and-head"; undefined when the object carries none).
 */
export function finalDecision(localSha256: string, expected: string | undefined): FinalDecision {
  if (expected === undefined || expected === "") {
    return { kind: "upload", reason: "no-recorded-hash" };
  }
  return localSha256 === expected.toLowerCase()
    ? { kind: "skip", reason: "same-content" }
    : { kind: "upload", reason: "changed" };
}
