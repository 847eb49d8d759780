/**
 * A working in-memory store for tests, through the same port as the S3 adapter (and the same
 * contract suite): versioned buckets, the SHA-256 of every put checked against its bytes
 * (BadDigest, as AWS checks x-amz-checksum-sha256), Glacier-class objects that must be restored
 * before a GET, and request counts under S3's operation names. It knows nothing of S3's upload
 * format (parts, MD5s): its ETag is the MD5 of the content. Errors are shaped like the AWS
 * SDK's (name, Code, $metadata).
 *
 * Test helpers (not counted as requests, they act "behind the tool's back"): createBucket,
 * deleteObject (adds a delete marker), corrupt, setStorageClass, completeRestores, failNext,
 * readBytes, contentTypeOf.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type {
  Clock,
  GetResult,
  ListLevelPage,
  ObjectHead,
  ObjectStore,
  ObjectVersion,
  PutRequest,
  PutResult,
  RestoreRequestOutcome,
  StreamPutRequest,
  StreamPutResult,
  UploadSource,
} from "../../lib/core/ports.ts";
import type { RemoteObject } from "../../lib/core/types.ts";
import { s3Error } from "./sdk_errors.ts";

/** Storage classes whose objects must be restored before they can be read. */
export const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(["GLACIER", "DEEP_ARCHIVE"]);
/** S3's minimum size of every multipart part but the last. */

interface StoredVersion {
  versionId: string;
  isDeleteMarker: boolean;
  body: Uint8Array;
  metadata: Record<string, string>;
  contentType: string;
  etag: string;
  lastModified: Date;
  storageClass: string;
  restore?: { ongoing: boolean; expiry?: Date; days: number };
}

interface InjectedFailure {
  op: string;
  key?: string;
  error: Error;
  times: number;
}

export interface MemoryStoreOptions {
  /** Stamps lastModified of puts and delete markers; default: the wall clock. */
  clock?: Clock;
  /** Keys per ListObjectsV2 / ListObjectVersions page (S3: 1000). */
  pageSize?: number;
}

function md5(bytes: Uint8Array) {
  return createHash("md5").update(bytes).digest();
}

/** S3 orders keys by their UTF-8 bytes. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export class MemoryStore implements ObjectStore {
  readonly #buckets = new Map<string, Map<string, StoredVersion[]>>();
  readonly #counts: Record<string, number> = {};
  readonly #clock: Clock;
  readonly #pageSize: number;
  readonly #failures: InjectedFailure[] = [];
  #nextVersion = 0;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#clock = opts.clock ?? { now: () => new Date() };
    this.#pageSize = opts.pageSize ?? 1000;
  }

  // ---------------------------------------------------------------- test helpers

  createBucket(name: string): void {
    if (!this.#buckets.has(name)) this.#buckets.set(name, new Map());
  }

  /** Adds a delete marker, as a DELETE on a versioned bucket does. */
  deleteObject(bucket: string, key: string): void {
    const versions = this.#bucket(bucket).get(key);
    if (versions === undefined || versions[0].isDeleteMarker) return;
    versions.unshift({
      versionId: this.#newVersionId(),
      isDeleteMarker: true,
      body: new Uint8Array(),
      metadata: {},
      contentType: "",
      etag: "",
      lastModified: this.#clock.now(),
      storageClass: "STANDARD",
    });
  }

  /** Overwrites the current version's bytes, keeping its metadata and ETag (bit rot). */
  corrupt(bucket: string, key: string, bytes: Uint8Array): void {
    const v = this.#find(bucket, key, undefined);
    if (v === undefined) throw new Error(`MemoryStore.corrupt: no object ${bucket}/${key}`);
    v.body = bytes.slice();
  }

  setStorageClass(bucket: string, key: string, storageClass: string, versionId?: string): void {
    const v = this.#find(bucket, key, versionId);
    if (v === undefined) throw new Error(`MemoryStore.setStorageClass: no object ${bucket}/${key}`);
    v.storageClass = storageClass;
    v.restore = undefined;
  }

  /** Finishes every pending Glacier restore; returns how many were finished. */
  completeRestores(): number {
    let n = 0;
    for (const bucket of this.#buckets.values()) {
      for (const versions of bucket.values()) {
        for (const v of versions) {
          if (v.restore?.ongoing) {
            v.restore = {
              ongoing: false,
              days: v.restore.days,
              expiry: new Date(this.#clock.now().getTime() + v.restore.days * 86_400_000),
            };
            n++;
          }
        }
      }
    }
    return n;
  }

  /** The next `times` requests of operation `op` (on `key`, if given) fail with `error`. */
  failNext(op: string, error: Error, opts: { key?: string; times?: number } = {}): void {
    this.#failures.push({ op, key: opts.key, error, times: opts.times ?? 1 });
  }

  /** The stored bytes of the current (or given) version, without counting a request. */
  readBytes(bucket: string, key: string, versionId?: string): Uint8Array | undefined {
    return this.#find(bucket, key, versionId)?.body.slice();
  }

  contentTypeOf(bucket: string, key: string, versionId?: string): string | undefined {
    return this.#find(bucket, key, versionId)?.contentType;
  }

  /** Current (not deleted) keys of a bucket, in S3 order. */
  keys(bucket: string): string[] {
    return [...this.#bucket(bucket).entries()]
      .filter(([, versions]) => !versions[0].isDeleteMarker)
      .map(([key]) => key)
      .sort(compareKeys);
  }

  // ---------------------------------------------------------------- ObjectStore

  requestCounts(): Record<string, number> {
    return { ...this.#counts };
  }

  /** Current objects under prefix (after startAfter), in S3's order. */
  #current(bucket: string, prefix: string, startAfter?: string): RemoteObject[] {
    const b = this.#bucket(bucket);
    const current: RemoteObject[] = [];
    for (const key of [...b.keys()].sort(compareKeys)) {
      if (!key.startsWith(prefix)) continue;
      if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) continue;
      const v = b.get(key)![0];
      if (v.isDeleteMarker) continue;
      current.push(this.#remote(key, v));
    }
    return current;
  }

  async *list(bucket: string, prefix: string): AsyncIterable<RemoteObject> {
    for await (const page of this.listPages(bucket, prefix)) yield* page;
  }

  async *listPages(
    bucket: string,
    prefix: string,
    startAfter?: string,
  ): AsyncIterable<RemoteObject[]> {
    this.#count("ListObjectsV2");
    const current = this.#current(bucket, prefix, startAfter);
    for (let i = 0; i < current.length; i += this.#pageSize) {
      if (i > 0) this.#count("ListObjectsV2");
      await Promise.resolve();
      yield current.slice(i, i + this.#pageSize);
    }
  }

  async *listLevel(bucket: string, prefix: string): AsyncIterable<ListLevelPage> {
    this.#count("ListObjectsV2");
    const objects: RemoteObject[] = [];
    const folders = new Set<string>();
    for (const o of this.#current(bucket, prefix)) {
      const slash = o.key.indexOf("/", prefix.length);
      if (slash < 0) objects.push(o);
      else folders.add(o.key.slice(0, slash + 1));
    }
    await Promise.resolve();
    yield { objects, folders: [...folders] };
  }

  head(bucket: string, key: string, versionId?: string): Promise<ObjectHead | undefined> {
    try {
      this.#count("HeadObject", key);
      const v = this.#find(bucket, key, versionId);
      return Promise.resolve(v === undefined ? undefined : this.#head(key, v));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async get(bucket: string, key: string, versionId?: string): Promise<GetResult | undefined> {
    this.#count("GetObject", key);
    const v = this.#find(bucket, key, versionId);
    if (v === undefined) return undefined;
    if (ARCHIVE_CLASSES.has(v.storageClass) && !(v.restore && !v.restore.ongoing)) {
      throw s3Error(
        "InvalidObjectState",
        "The operation is not valid for the object's storage class",
        403,
      );
    }
    await Promise.resolve();
    return { ...this.#head(key, v), body: Readable.from([v.body.slice()]) };
  }

  async *listVersions(bucket: string, prefix: string): AsyncIterable<ObjectVersion> {
    this.#count("ListObjectVersions");
    const b = this.#bucket(bucket);
    const out: ObjectVersion[] = [];
    for (const key of [...b.keys()].sort(compareKeys)) {
      if (!key.startsWith(prefix)) continue;
      b.get(key)!.forEach((v, i) =>
        out.push({
          ...this.#remote(key, v),
          versionId: v.versionId,
          isLatest: i === 0,
          isDeleteMarker: v.isDeleteMarker,
        })
      );
    }
    for (let i = 0; i < out.length; i++) {
      if (i > 0 && i % this.#pageSize === 0) this.#count("ListObjectVersions");
      yield out[i];
    }
  }

  async requestRestore(
    bucket: string,
    key: string,
    versionId: string | undefined,
    opts: { days: number; tier: string },
  ): Promise<RestoreRequestOutcome> {
    this.#count("RestoreObject", key);
    await Promise.resolve();
    const v = this.#find(bucket, key, versionId);
    if (v === undefined) throw s3Error("NoSuchKey", "The specified key does not exist.", 404);
    if (!ARCHIVE_CLASSES.has(v.storageClass)) {
      throw s3Error(
        "InvalidObjectState",
        "Restore is not allowed for the object's current storage class",
        403,
      );
    }
    if (!["Standard", "Bulk", "Expedited"].includes(opts.tier)) {
      throw s3Error("MalformedXML", `invalid tier ${opts.tier}`, 400);
    }
    if (v.restore === undefined) {
      v.restore = { ongoing: true, days: opts.days };
      return "started";
    }
    if (v.restore.ongoing) return "in-progress";
    v.restore.expiry = new Date(this.#clock.now().getTime() + opts.days * 86_400_000);
    return "ready";
  }

  async put(req: PutRequest): Promise<PutResult> {
    this.#bucket(req.bucket);
    this.#count("PutObject", req.key);
    const { source } = req;
    const body = new Uint8Array(await source.read(0, source.size));
    if (body.length !== source.size) {
      throw s3Error(
        "IncompleteBody",
        `You did not provide the number of bytes specified by the Content-Length HTTP header ` +
          `(expected ${source.size}, got ${body.length})`,
        400,
      );
    }
    // As AWS checks x-amz-checksum-sha256: the bytes must be the ones the SHA-256 describes.
    if (createHash("sha256").update(body).digest("hex") !== source.sha256) {
      throw s3Error(
        "BadDigest",
        "The SHA256 you specified did not match the calculated checksum.",
        400,
      );
    }
    source.assertUnchanged?.();
    return this.#store(req, body);
  }

  #store(req: Omit<PutRequest, "source">, body: Uint8Array): PutResult {
    const etag = md5(body).toString("hex");
    const versionId = this.#newVersionId();
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.metadata)) metadata[k.toLowerCase()] = v;
    const versions = this.#buckets.get(req.bucket)!.get(req.key) ?? [];
    versions.unshift({
      versionId,
      isDeleteMarker: false,
      body,
      metadata,
      contentType: req.contentType,
      etag,
      lastModified: this.#clock.now(),
      storageClass: "STANDARD",
    });
    this.#buckets.get(req.bucket)!.set(req.key, versions);
    return { etag, versionId };
  }

  /**
   * Reads the whole body, then stores it as put does; a body that throws stores nothing. Counted
   * as one PutObject (this fake knows no parts).
   */
  async putStream(req: StreamPutRequest): Promise<StreamPutResult> {
    this.#bucket(req.bucket);
    const chunks: Uint8Array[] = [];
    for await (const c of req.body) chunks.push(c.slice());
    const body = Buffer.concat(chunks);
    this.#count("PutObject", req.key);
    const out = this.#store(req, new Uint8Array(body));
    return { ...out, size: body.length };
  }

  /** This fake's ETag is the MD5 of the whole content, whatever its size. */
  async contentMatches(
    object: ObjectHead,
    source: UploadSource,
  ): Promise<"match" | "mismatch" | "unknown"> {
    if (object.etag === undefined) return "unknown";
    const bytes = await source.read(0, source.size);
    return md5(bytes).toString("hex") === object.etag ? "match" : "mismatch";
  }

  // ---------------------------------------------------------------- internals

  #count(op: string, key?: string): void {
    this.#counts[op] = (this.#counts[op] ?? 0) + 1;
    const i = this.#failures.findIndex((f) =>
      f.op === op && (f.key === undefined || f.key === key)
    );
    if (i >= 0) {
      const f = this.#failures[i];
      if (--f.times <= 0) this.#failures.splice(i, 1);
      throw f.error;
    }
  }

  #bucket(name: string): Map<string, StoredVersion[]> {
    const b = this.#buckets.get(name);
    if (b === undefined) throw s3Error("NoSuchBucket", "The specified bucket does not exist", 404);
    return b;
  }

  #find(bucket: string, key: string, versionId: string | undefined): StoredVersion | undefined {
    const versions = this.#bucket(bucket).get(key);
    if (versions === undefined) return undefined;
    const v = versionId === undefined
      ? versions[0]
      : versions.find((x) => x.versionId === versionId);
    return v === undefined || v.isDeleteMarker ? undefined : v;
  }

  #newVersionId(): string {
    this.#nextVersion++;
    return `mv${String(this.#nextVersion).padStart(8, "0")}`;
  }

  #remote(key: string, v: StoredVersion): RemoteObject {
    return {
      key,
      size: v.body.length,
      etag: v.isDeleteMarker ? undefined : v.etag,
      lastModified: new Date(v.lastModified),
      storageClass: v.storageClass,
    };
  }

  #head(key: string, v: StoredVersion): ObjectHead {
    return {
      ...this.#remote(key, v),
      metadata: { ...v.metadata },
      versionId: v.versionId,
      restore: v.restore ? { ongoing: v.restore.ongoing, expiry: v.restore.expiry } : undefined,
    };
  }
}
