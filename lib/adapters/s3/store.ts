/**
 * ObjectStore over the AWS SDK v3. Translates SDK errors (a missing object is undefined),
 * reports the requests its client's transport counted, and uploads with checksums S3 verifies
 * on receipt: Content-MD5 on every PUT and part (checked by S3 and by S3-compatible servers) and
 * x-amz-checksum-sha256 on single PUTs (checked by AWS S3). Every request carries the store's
 * abort signal (SIGINT/SIGTERM) besides its own. Multipart uploads: s3_multipart.ts.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import type {
  GetResult,
  ObjectHead,
  ObjectStore,
  ObjectVersion,
  PutRequest,
  PutResult,
  RestoreRequestOutcome,
  UploadJournal,
} from "../../core/ports.ts";
import type { RemoteObject } from "../../core/types.ts";
import { Semaphore } from "../../core/pool.ts";
import { parseListPagesOf } from "./list_parser.ts";
import {
  abortReason,
  isNotFound,
  isRetryableUploadError,
  restoreState,
  type SdkError,
  sleepUnlessAborted,
  untilAborted,
  UPLOAD_ATTEMPTS,
} from "./errors.ts";
import { abortUpload, type MultipartContext, putMultipart } from "./multipart.ts";

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
  /** Parts held in memory at once across all uploads (each up to the part size, 8 MiB). */
  partsInMemory?: number;
  /** Aborts every request of this store (the run's SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

/** 8 parts of 8 MiB: 64 MiB of part buffers however many large files upload at once. */
export const DEFAULT_PARTS_IN_MEMORY = 8;

function etagOf(v: string | undefined): string | undefined {
  return v ? v.replace(/"/g, "") : undefined;
}

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
  readonly #partSlots: Semaphore;
  readonly #signal?: AbortSignal;
  #journal?: UploadJournal;

  constructor(client: S3Sender, opts: S3StoreOptions = {}) {
    this.#client = client;
    this.#sha256 = opts.sha256Checksums ?? true;
    this.#partConcurrency = opts.partConcurrency ?? 4;
    this.#partSlots = new Semaphore(opts.partsInMemory ?? DEFAULT_PARTS_IN_MEMORY);
    this.#signal = opts.signal;
  }

  /** Counted by the client's transport: every HTTP attempt, SDK retries and ours included. */
  requestCounts(): Record<string, number> {
    return this.#client.requestCounts?.() ?? {};
  }

  trackUploads(journal: UploadJournal): void {
    this.#journal = journal;
  }

  /** The store's signal and the call's, whichever aborts first. */
  #signalFor(call?: AbortSignal): AbortSignal | undefined {
    if (!call) return this.#signal;
    return this.#signal ? AbortSignal.any([this.#signal, call]) : call;
  }

  /**
   * Sends a command under `signal`. It rejects as soon as the signal aborts, even while the SDK
   * waits out a retry's backoff (up to seconds under throttling).
   */
  async #send<T>(command: unknown, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    // deno-lint-ignore no-explicit-any
    const sending = this.#client.send(command as any, signal ? { abortSignal: signal } : {});
    return await untilAborted(sending, signal) as T;
  }

  /**
   * Sends an upload whose body is a stream, retrying like the SDK would (it refuses to retry a
   * streamed body): `make` builds the command with a fresh stream each attempt.
   */
  async #sendUpload<T>(make: () => unknown, call?: AbortSignal): Promise<T> {
    const signal = this.#signalFor(call);
    let attempts = 0;
    while (true) {
      const command = make() as { input?: { Body?: { destroy?: () => void } } };
      try {
        return await this.#send<T>(command, signal);
      } catch (err) {
        command.input?.Body?.destroy?.(); // close the file a failed attempt may not have read
        attempts += (err as SdkError)?.$metadata?.attempts ?? 1;
        if (attempts >= UPLOAD_ATTEMPTS || signal?.aborted || !isRetryableUploadError(err)) {
          throw err;
        }
        // Exponential backoff with full jitter, as the SDK's standard mode (base 100 ms).
        await sleepUnlessAborted(Math.random() * 100 * 2 ** attempts, signal);
      }
    }
  }

  async *list(bucket: string, prefix: string): AsyncIterable<RemoteObject> {
    let token: string | undefined;
    do {
      const command = new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix || undefined,
        ContinuationToken: token,
        MaxKeys: 1000,
      });
      const fast = parseListPagesOf(command);
      const out = await this.#send<{
        Contents?: Array<
          { Key?: string; Size?: number; ETag?: string; LastModified?: Date; StorageClass?: string }
        >;
        IsTruncated?: boolean;
        NextContinuationToken?: string;
      }>(command, this.#signal);
      const page = fast.page ?? {
        objects: (out.Contents ?? []).map((o) => ({
          key: o.Key!,
          size: o.Size ?? 0,
          etag: etagOf(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
          storageClass: o.StorageClass ?? "STANDARD",
        })),
        isTruncated: out.IsTruncated ?? false,
        nextContinuationToken: out.NextContinuationToken,
      };
      yield* page.objects;
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token);
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
    if (req.digest.parts.length <= 1) return await this.#putSingle(req);
    return await this.#putMultipart(req);
  }

  async #putSingle(req: PutRequest): Promise<PutResult> {
    const out = await this.#sendUpload<{ ETag?: string; VersionId?: string }>(
      () =>
        new PutObjectCommand({
          Bucket: req.bucket,
          Key: req.key,
          Body: req.bytes ?? req.open(0, req.size),
          ContentLength: req.size,
          ContentMD5: req.digest.parts[0].md5Base64,
          ChecksumSHA256: this.#sha256 ? req.digest.sha256Base64 : undefined,
          ContentType: req.contentType,
          Metadata: req.metadata,
        }),
      req.signal,
    );
    return { etag: etagOf(out.ETag), versionId: out.VersionId };
  }

  async #putMultipart(req: PutRequest): Promise<PutResult> {
    return await putMultipart(this.#multipart(this.#signalFor(req.signal)), req);
  }

  abortUpload(bucket: string, key: string, uploadId: string): Promise<"aborted" | "gone"> {
    return abortUpload(this.#multipart(this.#signal), bucket, key, uploadId);
  }

  #multipart(signal: AbortSignal | undefined): MultipartContext {
    return {
      send: (command, signal) => this.#send(command, signal),
      sendUpload: (make, call) => this.#sendUpload(make, call),
      storeSignal: this.#signal,
      signal,
      partConcurrency: this.#partConcurrency,
      partSlots: this.#partSlots,
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

  async *listVersions(bucket: string, prefix: string): AsyncIterable<ObjectVersion> {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    type V = {
      Key?: string;
      VersionId?: string;
      IsLatest?: boolean;
      LastModified?: Date;
      Size?: number;
      ETag?: string;
      StorageClass?: string;
    };
    do {
      const out = await this.#send<{
        Versions?: V[];
        DeleteMarkers?: V[];
        IsTruncated?: boolean;
        NextKeyMarker?: string;
        NextVersionIdMarker?: string;
      }>(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: prefix || undefined,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
        this.#signal,
      );
      const page: ObjectVersion[] = [];
      const add = (v: V, isDeleteMarker: boolean) =>
        page.push({
          key: v.Key!,
          versionId: v.VersionId ?? "null",
          isLatest: v.IsLatest ?? false,
          isDeleteMarker,
          lastModified: v.LastModified ?? new Date(0),
          size: v.Size ?? 0,
          etag: etagOf(v.ETag),
          storageClass: v.StorageClass ?? "STANDARD",
        });
      for (const v of out.Versions ?? []) add(v, false);
      for (const m of out.DeleteMarkers ?? []) add(m, true);
      // Per key newest first; at equal times the latest (e.g. a delete marker) first.
      page.sort((a, b) =>
        a.key < b.key
          ? -1
          : a.key > b.key
          ? 1
          : b.lastModified.getTime() - a.lastModified.getTime() ||
            Number(b.isLatest) - Number(a.isLatest)
      );
      yield* page;
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      versionMarker = out.IsTruncated ? out.NextVersionIdMarker : undefined;
    } while (keyMarker);
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
