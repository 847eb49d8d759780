/**
 * SHA-256 of content: recorded in each object's metadata at upload, compared to decide whether
 * a file changed, checked on restore. (The S3 upload format's MD5s live in adapters/s3.)
 */
import { createHash } from "node:crypto";
import type { UploadSource } from "./ports.ts";
import { type ScannedIdentity, withSourceFile } from "./source_file.ts";

const READ_BUFFER = 1024 * 1024;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * SHA-256 of a file of the tree, read once. Never follows a symlink, never blocks on a FIFO,
 * never reads past the scanned size, refuses a file swapped since the scan (device, inode), and
 * throws when the size changed while it was read. Stops at the next 1 MiB once `signal` aborts:
 * a 100 GiB file being hashed must not hold SIGTERM for a minute.
 */
export function sha256File(file: ScannedIdentity, signal?: AbortSignal): Promise<string> {
  return withSourceFile(file, async (f) => {
    const hash = createHash("sha256");
    const buf = new Uint8Array(Math.min(READ_BUFFER, Math.max(file.size, 1)));
    let total = 0;
    while (true) {
      signal?.throwIfAborted();
      const n = await f.readAt(buf, total);
      if (n === 0) break;
      total += n;
      hash.update(buf.subarray(0, n));
    }
    f.assertSize();
    return hash.digest("hex");
  });
}

/** SHA-256 (hex) of a stream's bytes, e.g. an object read back from S3. */
export async function sha256OfStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of stream) h.update(chunk);
  return h.digest("hex");
}

/** Content already in memory as an upload source. */
export function bytesSource(bytes: Uint8Array, sha256 = sha256Hex(bytes)): UploadSource {
  return {
    size: bytes.length,
    sha256,
    read: (start, end) => Promise.resolve(bytes.subarray(start, end)),
  };
}
