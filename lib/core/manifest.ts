/**
 * The run manifest: per bucket, the keys that existed in the source at the end of a run,
 * stored as one gzipped object that each run overwrites when the set changed. The bucket's
 * versioning keeps every manifest, so `restore --at` knows which files had been deleted by
 * then — without the backup identity ever needing s3:DeleteObject.
 *
 * Format: gzipped JSON lines (one or more gzip members, read as one text), each a key (a JSON string), then one line per dump (a JSON
 * object): its key, SHA-256, version id and size. A dump's hash is known only once it has
 * streamed, after its metadata was sent, so the manifest is where restore finds it.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import type { ObjectStore } from "./ports.ts";
import { bytesSource } from "./digest.ts";
import { SHA256_METADATA } from "./layout.ts";
import { compareKeys } from "./key_order.ts";

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

/** Text gzipped at a time: each piece is a gzip member of its own (one file, RFC 1952 §2.2). */
const PIECE_CHARS = 1 << 20;

/**
 * A manifest built key by key, in the order given (a run's: its walk's), holding its gzipped
 * text and a running SHA-256 of it, never the keys: 1,000,000 keys are ~40 MiB of text and
 * ~4 MiB gzipped. finish() adds the dumps' lines; then fingerprint() and bytes().
 */
export class ManifestBuilder {
  readonly #hash = createHash("sha256");
  readonly #pieces: Uint8Array[] = [];
  #pending: string[] = [];
  #pendingChars = 0;
  #lines = 0;
  #fingerprint?: string;

  /** Adds a key (each key once). */
  add(key: string): void {
    this.#line(JSON.stringify(key));
  }

  #line(line: string): void {
    const text = this.#lines++ === 0 ? line : `\n${line}`;
    this.#hash.update(text);
    this.#pending.push(text);
    this.#pendingChars += text.length;
    if (this.#pendingChars >= PIECE_CHARS) this.#compress();
  }

  #compress(): void {
    if (this.#pending.length === 0) return;
    this.#pieces.push(new Uint8Array(gzipSync(this.#pending.join(""))));
    this.#pending = [];
    this.#pendingChars = 0;
  }

  /** Adds the dumps' records (their keys already added) and ends the manifest. */
  finish(dumps: DumpRecord[] = []): this {
    for (const d of sortedRecords(dumps)) this.#line(recordLine(d));
    this.#fingerprint = `text:${this.#hash.digest("hex")}`;
    this.#compress();
    return this;
  }

  /** SHA-256 of the manifest's text, kept in the local state to skip rewriting it unchanged. */
  fingerprint(): string {
    if (this.#fingerprint === undefined) throw new Error("the manifest is not finished");
    return this.#fingerprint;
  }

  bytes(): Uint8Array {
    if (this.#pieces.length === 0) return new Uint8Array(gzipSync(""));
    if (this.#pieces.length === 1) return this.#pieces[0];
    const out = new Uint8Array(this.#pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.#pieces) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** A whole manifest at once, keys in S3's order (tests, tools). */
export function encodeManifest(keys: string[], dumps: DumpRecord[] = []): Uint8Array {
  const b = new ManifestBuilder();
  for (const k of [...new Set(keys)].sort(compareKeys)) b.add(k);
  return b.finish(dumps).bytes();
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
