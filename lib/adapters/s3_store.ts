/**
 * ObjectStore over the AWS SDK v3. Translates SDK errors (a missing object is undefined),
 * counts requests by operation (retries included), and uploads with checksums S3 verifies on
 * receipt: Content-MD5 on every PUT and part (checked by S3 and by S3-compatible servers) and
 * x-amz-checksum-sha256 on single PUTs (checked by AWS S3).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import { createHash } from "node:crypto";
import type {
  GetResult,
  ObjectHead,
  ObjectStore,
  ObjectVersion,
  PutRequest,
  PutResult,
  RestoreRequestOutcome,
} from "../ports.ts";
import type { RemoteObject } from "../types.ts";
import { forEachPool, Semaphore } from "../pool.ts";
import { parseListPagesOf } from "./list_xml.ts";
import {
  isNotFound,
  isRetryableUploadError,
  restoreState,
  type SdkError,
  UPLOAD_ATTEMPTS,
} from "./s3_errors.ts";

/** The part of S3Client the adapter uses; tests pass a fake that records commands. */
export type S3Sender = Pick<S3Client, "send">;

export interface S3StoreOptions {
  /** Send x-amz-checksum-sha256 with uploads (AWS S3 verifies it; RGW 16 ignores it). */
  sha256Checksums?: boolean;
  /** Parts of one multipart upload in flight at once. */
  partConcurrency?: number;
  /** Parts held in memory at once across all uploads (each up to the part size, 8 MiB). */
  partsInMemory?: number;
}

/** 8 parts of 8 MiB: 64 MiB of part buffers however many large files upload at once. */
export const DEFAULT_PARTS_IN_MEMORY = 8;

function etagOf(v: string | undefined): string | undefined {
  return v ? v.replace(/"/g, "") : undefined;
}

function md5Base64(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("base64");
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
  readonly #counts: Record<string, number> = {};
  readonly #sha256: boolean;
  readonly #partConcurrency: number;
  readonly #partSlots: Semaphore;

  constructor(client: S3Sender, opts: S3StoreOptions = {}) {
    this.#client = client;
    this.#sha256 = opts.sha256Checksums ?? true;
    this.#partConcurrency = opts.partConcurrency ?? 4;
    this.#partSlots = new Semaphore(opts.partsInMemory ?? DEFAULT_PARTS_IN_MEMORY);
  }

  requestCounts(): Record<string, number> {
    return { ...this.#counts };
  }

  /** Sends a command, counting every attempt (the SDK retries throttles and 5xx). */
  async #send<T>(op: string, command: unknown, signal?: AbortSignal): Promise<T> {
    try {
      // deno-lint-ignore no-explicit-any
      const out = await this.#client.send(command as any, signal ? { abortSignal: signal } : {}) as
        & T
        & SdkError;
      this.#counts[op] = (this.#counts[op] ?? 0) + (out?.$metadata?.attempts ?? 1);
      return out;
    } catch (err) {
      this.#counts[op] = (this.#counts[op] ?? 0) + ((err as SdkError)?.$metadata?.attempts ?? 1);
      throw err;
    }
  }

  /**
   * Sends an upload whose body is a stream, retrying like the SDK would (it refuses to retry a
   * streamed body): `make` builds the command with a fresh stream each attempt.
   */
  async #sendUpload<T>(op: string, make: () => unknown, signal?: AbortSignal): Promise<T> {
    let attempts = 0;
    while (true) {
      const command = make() as { input?: { Body?: { destroy?: () => void } } };
      try {
        return await this.#send<T>(op, command, signal);
      } catch (err) {
        command.input?.Body?.destroy?.(); // close the file a failed attempt may not have read
        attempts += (err as SdkError)?.$metadata?.attempts ?? 1;
        if (attempts >= UPLOAD_ATTEMPTS || signal?.aborted || !isRetryableUploadError(err)) {
          throw err;
        }
        // Exponential backoff with full jitter, as the SDK's standard mode (base 100 ms).
        await new Promise((r) => setTimeout(r, Math.random() * 100 * 2 ** attempts));
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
      }>("ListObjectsV2", command);
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
        "HeadObject",
        new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
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
      "PutObject",
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
    );
    return { etag: etagOf(out.ETag), versionId: out.VersionId };
  }

  async #putMultipart(req: PutRequest): Promise<PutResult> {
    const created = await this.#send<{ UploadId?: string }>(
      "CreateMultipartUpload",
      new CreateMultipartUploadCommand({
        Bucket: req.bucket,
        Key: req.key,
        ContentType: req.contentType,
        Metadata: req.metadata,
      }),
    );
    const uploadId = created.UploadId!;
    const { partSize, parts } = req.digest;
    const done: Array<{ PartNumber: number; ETag?: string }> = [];
    try {
      await forEachPool(parts, this.#partConcurrency, async (part, i) => {
        if (req.signal?.aborted) throw new Error("aborted");
        const start = i * partSize;
        // In memory when the caller can read ranges: one 8 MiB body instead of a piped stream
        // (1 GiB: see README, Performance); partsInMemory bounds the buffers held process-wide.
        const release = req.read ? await this.#partSlots.acquire() : undefined;
        let out: { ETag?: string };
        try {
          if (req.signal?.aborted) throw new Error("aborted");
          const bytes = req.read ? await req.read(start, start + part.size) : undefined;
          const md5 = part.md5Base64 ?? (bytes && md5Base64(bytes));
          if (md5 === undefined) throw new Error(`part ${i + 1} has no MD5 and cannot be read`);
          out = await this.#sendUpload<{ ETag?: string }>(
            "UploadPart",
            () =>
              new UploadPartCommand({
                Bucket: req.bucket,
                Key: req.key,
                UploadId: uploadId,
                PartNumber: i + 1,
                Body: bytes ?? req.open(start, start + part.size) as Readable,
                ContentLength: part.size,
                ContentMD5: md5,
              }),
            // SIGINT/SIGTERM: parts in flight are cut off, then the upload is aborted below.
            req.signal,
          );
        } finally {
          release?.();
        }
        done[i] = { PartNumber: i + 1, ETag: out.ETag };
      }, req.signal);
      if (req.signal?.aborted || done.filter(Boolean).length !== parts.length) {
        throw new Error("upload aborted");
      }
      req.assertUnchanged?.();
      const out = await this.#send<{ ETag?: string; VersionId?: string }>(
        "CompleteMultipartUpload",
        new CompleteMultipartUploadCommand({
          Bucket: req.bucket,
          Key: req.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: done },
        }),
      );
      return { etag: etagOf(out.ETag), versionId: out.VersionId };
    } catch (err) {
      // Never leave a half-uploaded object billing in the bucket.
      await this.#send(
        "AbortMultipartUpload",
        new AbortMultipartUploadCommand({
          Bucket: req.bucket,
          Key: req.key,
          UploadId: uploadId,
        }),
      ).catch(() => {});
      throw err;
    }
  }

  async get(bucket: string, key: string, versionId?: string): Promise<GetResult | undefined> {
    try {
      const out = await this.#send<ObjectOutput & { Body?: unknown }>(
        "GetObject",
        new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
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
        "ListObjectVersions",
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: prefix || undefined,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
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
        "RestoreObject",
        new RestoreObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: versionId,
          RestoreRequest: {
            Days: opts.days,
            GlacierJobParameters: { Tier: opts.tier as "Standard" | "Bulk" | "Expedited" },
          },
        }),
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
