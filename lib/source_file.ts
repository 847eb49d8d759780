/**
 * Opens a file of the source tree the way a backup may: never through a symlink, never blocking
 * on a FIFO, only if it is still the file the scan saw (type, device, inode), and never reading
 * past the size the scan saw. Between the scan and the upload anyone who can write the tree can
 * swap a file for a symlink to a secret or to /dev/zero, or for a FIFO.
 *
 * node:fs, because Deno.open has no flags: O_NOFOLLOW refuses a symlink as the last component,
 * O_NONBLOCK makes opening a FIFO return at once (it is then refused by its type), O_NOCTTY
 * keeps a terminal device from becoming the controlling terminal. A folder swapped for a symlink
 * higher up is caught by the device and inode check.
 */
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { LocalFile } from "./types.ts";

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What the scan saw of a file; `dev`/`ino` absent: any regular file at that path will do. */
export type ScannedIdentity =
  & Pick<LocalFile, "absPath" | "size">
  & Partial<
    Pick<LocalFile, "dev" | "ino">
  >;

/** Why a path could not be opened, in words (node's messages repeat the code and the path). */
function openError(err: unknown): Error {
  const code = (err as { code?: string })?.code;
  if (code === "ELOOP") return new Error("replaced by a symlink since the scan (not followed)");
  if (code === "ENOENT") return new Error("vanished since the scan");
  if (code === "EACCES" || code === "EPERM") return new Error("permission denied");
  return err instanceof Error ? err : new Error(String(err));
}

function typeName(st: { isDirectory(): boolean; isFIFO(): boolean; isSymbolicLink(): boolean }) {
  if (st.isFIFO()) return "a FIFO";
  if (st.isDirectory()) return "a folder";
  return "a special file";
}

/** An open source file; reads are positioned and stop at the scanned size. */
export class SourceFile {
  private constructor(
    readonly handle: FileHandle,
    /** The size the scan saw: nothing past it is ever read. */
    readonly size: number,
  ) {}

  static async open(file: ScannedIdentity): Promise<SourceFile> {
    let handle: FileHandle;
    try {
      handle = await open(file.absPath, FLAGS);
    } catch (err) {
      throw openError(err);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new Error(`replaced by ${typeName(st)} since the scan (not read)`);
      if (
        (file.dev !== undefined && st.dev !== file.dev) ||
        (file.ino !== undefined && st.ino !== file.ino)
      ) {
        throw new Error("replaced by another file since the scan; the next run backs it up");
      }
      return new SourceFile(handle, file.size);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  /** Reads into buf from position; 0 at the scanned size or at the file's end. */
  async readAt(buf: Uint8Array, position: number): Promise<number> {
    const room = Math.min(buf.length, this.size - position);
    if (room <= 0) return 0;
    const { bytesRead } = await this.handle.read(buf, 0, room, position);
    return bytesRead;
  }

  /** The byte range [start, end), whole; a short read means the file shrank. */
  async readRange(start: number, end: number): Promise<Uint8Array> {
    const out = new Uint8Array(end - start);
    let filled = 0;
    while (filled < out.length) {
      const n = await this.readAt(out.subarray(filled), start + filled);
      if (n === 0) {
        throw new Error(
          `file changed while it was read (it ended ${out.length - filled} bytes early)`,
        );
      }
      filled += n;
    }
    return out;
  }

  /** Throws when the open file's size is no longer the scanned one (it grew or shrank). */
  async assertSize(): Promise<void> {
    const now = (await this.handle.stat()).size;
    if (now !== this.size) {
      throw new Error(
        `file changed while it was read (${this.size} bytes at the scan, ${now} now)`,
      );
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Runs fn with the file open, and closes it whatever happens. */
export async function withSourceFile<T>(
  file: ScannedIdentity,
  fn: (f: SourceFile) => Promise<T>,
): Promise<T> {
  const f = await SourceFile.open(file);
  try {
    return await fn(f);
  } finally {
    await f.close().catch(() => {});
  }
}

/** The whole file, exactly the scanned size (it shrank, grew or was swapped: throws). */
export function readWhole(file: ScannedIdentity): Promise<Uint8Array> {
  return withSourceFile(file, async (f) => {
    const bytes = await f.readRange(0, file.size);
    await f.assertSize();
    return bytes;
  });
}
