/**
 * The run manifest: per bucket, the keys that existed in the source at the end of a run,
 * stored as one gzipped object that each run overwrites when the set changed. The bucket's
 * versioning keeps every manifest, so `restore --at` knows which files had been deleted by
 * then — without the backup identity ever needing s3:DeleteObject.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import type { ObjectStore } from "./ports.ts";
import { DEFAULT_PART_SIZE, DigestBuilder } from "./digest.ts";

/** Reserved key (under key_prefix) of the manifest object in every bucket. */
export const MANIFEST_NAME = ".s3backup/manifest.txt.gz";

export function manifestKey(keyPrefix: string): string {
  return keyPrefix === "" ? MANIFEST_NAME : `${keyPrefix}/${MANIFEST_NAME}`;
}

export function encodeManifest(keys: Iterable<string>): Uint8Array {
  const sorted = [...new Set(keys)].sort();
  // Keys may contain newlines; JSON lines keep them unambiguous.
  return new Uint8Array(gzipSync(sorted.map((k) => JSON.stringify(k)).join("\n")));
}

export function decodeManifest(bytes: Uint8Array): Set<string> {
  const text = new TextDecoder().decode(gunzipSync(bytes));
  return new Set(text === "" ? [] : text.split("\n").map((l) => JSON.parse(l) as string));
}

/** A fingerprint of the key set, kept in local state to skip rewriting an unchanged manifest. */
export function manifestFingerprint(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export async function putManifest(
  store: ObjectStore,
  bucket: string,
  key: string,
  bytes: Uint8Array,
) {
  const builder = new DigestBuilder(bytes.length, Math.max(DEFAULT_PART_SIZE, bytes.length));
  builder.update(bytes);
  const digest = builder.finish();
  await store.put({
    bucket,
    key,
    size: bytes.length,
    open: (start, end) => Readable.from([bytes.subarray(start, end)]),
    digest,
    contentType: "application/gzip",
    metadata: { sha256: digest.sha256Hex },
  });
}

export async function readManifest(
  store: ObjectStore,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<Set<string> | undefined> {
  const got = await store.get(bucket, key, versionId);
  if (!got) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const c of got.body as AsyncIterable<Uint8Array>) chunks.push(c);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return decodeManifest(all);
}
