/**
 * The run manifest: per bucket, the keys that existed in the source at the end of a run,
 * stored as one gzipped object that each run overwrites when the set changed. The bucket's
 * versioning keeps every manifest, so `restore --at` knows which files had been deleted by
 * then — without the backup identity ever needing s3:DeleteObject.
 *
 * Format: gzipped JSON lines, each a key (a JSON string), then one line per dump (a JSON
 * object): its key, SHA-256, version id and size. A dump's hash is known only once it has
 * streamed, after its metadata was sent, so the manifest is where restore finds it.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import type { ObjectStore } from "./ports.ts";
import { bytesSource } from "./digest.ts";
import { SHA256_METADATA } from "./layout.ts";

/** The keys in the manifest's order: sorted, each once (as given when they already are). */
function canonical(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1] < keys[i])) return [...new Set(keys)].sort();
  }
  return keys;
}

/** What the manifest records of a dump (its key is also among the keys). */
export interface DumpRecord {
  key: string;
  sha256: string;
  versionId?: string;
  size: number;
}

/** A record's line: snake_case, as every JSON s3backup writes. */
function recordLine(d: DumpRecord): string {
  return JSON.stringify({ dump: d.key, sha256: d.sha256, version_id: d.versionId, size: d.size });
}

function sortedRecords(dumps: DumpRecord[]): DumpRecord[] {
  return [...dumps].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function encodeManifest(keys: string[], dumps: DumpRecord[] = []): Uint8Array {
  // Keys may contain newlines; JSON lines keep them unambiguous.
  const lines = canonical(keys).map((k) => JSON.stringify(k));
  for (const d of sortedRecords(dumps)) lines.push(recordLine(d));
  return new Uint8Array(gzipSync(lines.join("\n")));
}

export interface ManifestEntries {
  keys: Set<string>;
  /** The dumps' records, by key. */
  dumps: Map<string, DumpRecord>;
}

export function decodeManifestEntries(bytes: Uint8Array): ManifestEntries {
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(gunzipSync(bytes));
  const out: ManifestEntries = { keys: new Set(), dumps: new Map() };
  for (const line of text === "" ? [] : text.split("\n")) {
    const v = JSON.parse(line) as string | Record<string, unknown>;
    if (typeof v === "string") out.keys.add(v);
    else if (typeof v?.dump === "string" && typeof v.sha256 === "string") {
      out.dumps.set(v.dump, {
        key: v.dump,
        sha256: v.sha256,
        versionId: typeof v.version_id === "string" ? v.version_id : undefined,
        size: typeof v.size === "number" ? v.size : 0,
      });
    }
  }
  return out;
}

export function decodeManifest(bytes: Uint8Array): Set<string> {
  return decodeManifestEntries(bytes).keys;
}

/**
 * A fingerprint of the key set (SHA-256 of the manifest's text), kept in local state to skip
 * rewriting an unchanged manifest. Hashed key by key: encoding a 100,000-key manifest every run
 * only to find it unchanged was a burst of ~15 MiB at the end of a no-change run.
 */
export function manifestFingerprint(keys: string[], dumps: DumpRecord[] = []): string {
  const hash = createHash("sha256");
  canonical(keys).forEach((k, i) =>
    hash.update(i === 0 ? JSON.stringify(k) : `\n${JSON.stringify(k)}`)
  );
  for (const d of sortedRecords(dumps)) hash.update(`\n${recordLine(d)}`);
  return `text:${hash.digest("hex")}`;
}

export async function putManifest(
  store: ObjectStore,
  bucket: string,
  key: string,
  bytes: Uint8Array,
): Promise<void> {
  const source = bytesSource(bytes);
  await store.put({
    bucket,
    key,
    source,
    contentType: "application/gzip",
    metadata: { [SHA256_METADATA]: source.sha256 },
  });
}

export async function readManifest(
  store: ObjectStore,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<Set<string> | undefined> {
  return (await readManifestEntries(store, bucket, key, versionId))?.keys;
}

export async function readManifestEntries(
  store: ObjectStore,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<ManifestEntries | undefined> {
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
  return decodeManifestEntries(all);
}
