/**
 * S3's upload format, owned by the adapter: how a size splits into parts, the Content-MD5 each
 * request carries, and the ETag S3 computes from them (unencrypted and SSE-S3 objects).
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { UploadSource } from "../../core/ports.ts";

const MiB = 1024 * 1024;
/** S3 allows at most 10,000 parts in a multipart upload. */
export const MAX_PARTS = 10_000;
/** Parts of 8 MiB: S3's minimum is 5 MiB; local test servers reject single PUTs over ~11 MiB. */
export const DEFAULT_PART_SIZE = 8 * MiB;

/** The part size for a size: the default, grown in whole MiB so nothing needs > 10,000 parts. */
export function choosePartSize(size: number, minPartSize = DEFAULT_PART_SIZE): number {
  const needed = Math.ceil(size / MAX_PARTS);
  if (needed <= minPartSize) return minPartSize;
  return Math.ceil(needed / MiB) * MiB;
}

/** Byte ranges [start, end) of each part; one range when the size fits one part. */
export function partRanges(size: number, partSize: number): Array<[number, number]> {
  if (size <= partSize) return [[0, size]];
  const out: Array<[number, number]> = [];
  for (let start = 0; start < size; start += partSize) {
    out.push([start, Math.min(start + partSize, size)]);
  }
  return out;
}

export function md5Base64(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("base64");
}

/** The ETag S3 gives content sent with these per-request MD5s: one part, or "-N" parts. */
export function etagOfParts(md5s: string[]): string {
  if (md5s.length === 1) return Buffer.from(md5s[0], "base64").toString("hex");
  const h = createHash("md5");
  for (const m of md5s) h.update(Buffer.from(m, "base64"));
  return `${h.digest("hex")}-${md5s.length}`;
}

/**
 * The ETag S3 would give this content uploaded by this adapter (same part size), read part by
 * part: what `verify --deep` compares a stored object's ETag with.
 */
export async function expectedEtag(source: UploadSource, minPartSize = DEFAULT_PART_SIZE) {
  const md5s: string[] = [];
  for (const [start, end] of partRanges(source.size, choosePartSize(source.size, minPartSize))) {
    md5s.push(md5Base64(await source.read(start, end)));
  }
  return etagOfParts(md5s);
}
