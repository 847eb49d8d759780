/**
 * ObjectStore over the AWS SDK v3. Translates SDK errors (a missing object is undefined),
 * reports the requests its client's transport counted, and owns S3's upload format: it picks
 * part sizes, reads each body from the source into memory (bounded process-wide), and sends it
 * with checksums S3 verifies on receipt: Content-MD5 on every PUT and part (checked by S3 and
 * S3-compatible servers) and x-amz-checksum-sha256 on single PUTs (checked by AWS S3). Bodies
 * are bytes, so the SDK's own retries apply to uploads too. Every request carries the store's
 * abort signal (SIGINT/SIGTERM). Multipart uploads: multipart.ts; content of unknown size (a
 * dump's pipe): stream_upload.ts; the format: format.ts.
 */
import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Buffer } from "node:buffer";
import type { Readable } from "node:stream";
import type {
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
  UploadJournal,
  UploadSource,
  VersioningStatus,
} from "../../core/ports.ts";
import type { RemoteObject } from "../../core/types.ts";
import { Semaphore } from "../../core/pool.ts";
import {
  etagOf,
  listLevelPages,
  listObjectPages,
  listObjects,
  listObjectVersions,
} from "./listing.ts";
import { abortReason, isNotFound, restoreState, type SdkError, untilAborted } from "./errors.ts";
import { abortUpload, type MultipartContext, putMultipart } from "./multipart.ts";
import { choosePartSize, DEFAULT_PART_SIZE, expectedEtag, md5Base64 } from "./format.ts";
import { putStream } from "./stream_upload.ts";
import { sha256Hex } from "../../core/digest.ts";

/**
 * The part of S3Client the adapter uses, and the requests its transport sent by operation
 * (createS3Client counts them; tests pass a fake that records commands).
 */
export type S3Sender = Pick<S3Client, "send"> & { requestCounts?(): Record<string, number> };

export interface S3StoreOptions {
  /** Send x-amz-checksum-sha256 with uploads (AWS S3 verifies it; RGW 16 ignores it). */
  sha256Checksums?: boolean;
  /** Parts of one multipart upload in flight at once. */
  partConcurrency?: number;
  /** Bytes of request bodies held in memory at once across all uploads. */
  memoryBytes?: number;
  /** The smallest part size (S3's minimum is 5 MiB; tests use it to make parts small). */
  minPartSize?: number;
  /** Aborts every request of this store (the run's SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

/** 64 MiB of request bodies (8 parts of 8 MiB) however many files upload at once. */
export const DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024;

/** The fields HeadObject and GetObject share. */
interface ObjectOutput {
  ContentLength?: number;
  ETag?: string;
  LastModified?: Date;
  StorageClass?: string;
  Metadata?: Record<string, string>;
  VersionId?: string;
  Restore?: string;
  ServerSideEncryption?: string;
}

function toHead(key: string, out: ObjectOutput): ObjectHead {
  return {
    key,
    size: out.ContentLength ?? 0,
    etag: etagOf(out.ETag),
    lastModified: out.LastModified ?? new Date(0),
    storageClass: out.StorageClass ?? "STANDARD",
    metadata: out.Metadata ?? {},
    versionId: out.VersionId,
    restore: restoreState(out.Restore),
    sse: out.ServerSideEncryption,
  };
}

export class S3Store implements ObjectStore {
  readonly #client: S3Sender;
  readonly #sha256: boolean;
  readonly #partConcurrency: number;
  readonly #memory: Semaphore;
  readonly #minPartSize: number;
  readonly #signal?: AbortSignal;
  #journal?: UploadJournal;

  constructor(client: S3Sender, opts: S3StoreOptions = {}) {
    this.#client = client;
    this.#sha256 = opts.sha256Checksums ?? true;
    this.#partConcurrency = opts.partConcurrency ?? 4;
    this.#memory = new Semaphore(opts.memoryBytes ?? DEFAULT_MEMORY_BYTES);
    this.#minPartSize = opts.minPartSize ?? DEFAULT_PART_SIZE;
    this.#signal = opts.signal;
  }

  /** Counted by the client's transport: every HTTP attempt, SDK retries and ours included. */
  requestCounts(): Record<string, number> {
    return this.#client.requestCounts?.() ?? {};
  }

  trackUploads(journal: UploadJournal): void {
    this.#journal = journal;
  }

  /**
   * Sends a command under `signal`. It rejects as soon as the signal aborts, even while the SDK
   * waits out a retry's backoff (up to seconds under throttling).
   */
  async #send<T>(
    command: unknown,
    signal: AbortSignal | undefined,
    onBodySent?: (bytes: number) => void,
  ): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    // The SDK hands these options to the request handler (http_transport.ts) of each attempt.
    const options = {
      ...(signal ? { abortSignal: signal } : {}),
      ...(onBodySent ? { onBodySent } : {}),
    };
    // deno-lint-ignore no-explicit-any
    const sending = this.#client.send(command as any, options);
    return await untilAborted(sending, signal) as T;
  }

  list(bucket: string, prefix: string): AsyncIterable<RemoteObject> {
    return listObjects((c) => this.#send(c, this.#signal), bucket, prefix);
  }

  listPages(bucket: string, prefix: string, startAfter?: string): AsyncIterable<RemoteObject[]> {
    return listObjectPages((c) => this.#send(c, this.#signal), bucket, prefix, startAfter);
  }

  listLevel(bucket: string, prefix: string): AsyncIterable<ListLevelPage> {
    return listLevelPages((c) => this.#send(c, this.#signal), bucket, prefix);
  }

  async versioning(bucket: string): Promise<VersioningStatus> {
    const out = await this.#send<{ Status?: string }>(
      new GetBucketVersioningCommand({ Bucket: bucket }),
      this.#signal,
    );
    return out.Status === "Enabled" || out.Status === "Suspended" ? out.Status : "Disabled";
  }

  async head(bucket: string, key: string, versionId?: string): Promise<ObjectHead | undefined> {
    try {
      const out = await this.#send<ObjectOutput>(
        new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
        this.#signal,
      );
      return toHead(key, out);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async put(req: PutRequest): Promise<PutResult> {
    const partSize = choosePartSize(req.source.size, this.#minPartSize);
    if (req.source.size > partSize) {
      return await putMultipart(this.#multipart(), req, partSize);
    }
    const release = await this.#memory.acquire(req.source.size);
    try {
      const bytes = await req.source.read(0, req.source.size);
      return await this.#putBytes(req, bytes, req.source.sha256);
    } finally {
      release();
    }
  }

  /** One PutObject of bytes already in memory (and counted in the budget by the caller). */
  async #putBytes(
    req: Omit<PutRequest, "source">,
    bytes: Uint8Array,
    sha256?: string,
  ): Promise<PutResult> {
    const out = await this.#send<{ ETag?: string; VersionId?: string }>(
      new PutObjectCommand({
        Bucket: req.bucket,
        Key: req.key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentMD5: md5Base64(bytes),
        ChecksumSHA256: this.#sha256 && sha256 !== undefined
          ? Buffer.from(sha256, "hex").toString("base64")
          : undefined,
        ContentType: req.contentType,
        Metadata: req.metadata,
      }),
      this.#signal,
      req.onProgress,
    );
    return { etag: etagOf(out.ETag), versionId: out.VersionId };
  }

  putStream(req: StreamPutRequest): Promise<StreamPutResult> {
    return putStream({
      ...this.#multipart(),
      minPartSize: this.#minPartSize,
      // The whole content is in hand here: AWS can check its SHA-256 on receipt.
      putBytes: (r, bytes) => this.#putBytes(r, bytes, sha256Hex(bytes)),
    }, req);
  }

  async contentMatches(
    object: ObjectHead,
    source: UploadSource,
  ): Promise<"match" | "mismatch" | "unknown"> {
    // With SSE-KMS (and SSE-C) the ETag is not an MD5 of the content.
    if (object.sse === "aws:kms" || object.sse === "aws:kms:dsse" || !object.etag) return "unknown";
    const release = await this.#memory.acquire(choosePartSize(source.size, this.#minPartSize));
    try {
      const etag = await expectedEtag(source, this.#minPartSize);
      return etag === object.etag ? "match" : "mismatch";
    } finally {
      release();
    }
  }

  abortUpload(bucket: string, key: string, uploadId: string): Promise<"aborted" | "gone"> {
    return abortUpload(this.#multipart(), bucket, key, uploadId);
  }

  #multipart(): MultipartContext {
    return {
      send: (command, signal, onBodySent) => this.#send(command, signal, onBodySent),
      signal: this.#signal,
      partConcurrency: this.#partConcurrency,
      memory: this.#memory,
      journal: this.#journal,
    };
  }

  async get(bucket: string, key: string, versionId?: string): Promise<GetResult | undefined> {
    try {
      const out = await this.#send<ObjectOutput & { Body?: unknown }>(
        new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
        this.#signal,
      );
      return { ...toHead(key, out), body: out.Body as Readable };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  listVersions(bucket: string, prefix: string): AsyncIterable<ObjectVersion> {
    return listObjectVersions((c) => this.#send(c, this.#signal), bucket, prefix);
  }

  async requestRestore(
    bucket: string,
    key: string,
    versionId: string | undefined,
    opts: { days: number; tier: string },
  ): Promise<RestoreRequestOutcome> {
    try {
      const out = await this.#send<{ $metadata?: { httpStatusCode?: number } }>(
        new RestoreObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: versionId,
          RestoreRequest: {
            Days: opts.days,
            GlacierJobParameters: { Tier: opts.tier as "Standard" | "Bulk" | "Expedited" },
          },
        }),
        this.#signal,
      );
      return out.$metadata?.httpStatusCode === 200 ? "ready" : "started";
    } catch (err) {
      const e = err as SdkError;
      if (e?.name === "RestoreAlreadyInProgress" || e?.$metadata?.httpStatusCode === 409) {
        return "in-progress";
      }
      throw err;
    }
  }
}
