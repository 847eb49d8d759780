/**
 * Multipart uploads for S3Store: each part read from the source into memory (bytes held
 * process-wide within a budget), its Content-MD5 computed here, sent as a byte body the SDK can
 * retry; 4 parts in flight; the source checked unchanged before completing; and the upload
 * journaled in the local state from before its first part until it is completed or aborted, so
 * that a run killed mid-upload leaves nothing the next run cannot abort (see open_uploads.ts).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { PutRequest, PutResult, UploadJournal } from "../../core/ports.ts";
import { forEachPool, type Semaphore } from "../../core/pool.ts";
import { abortReason, isNotFound, type SdkError } from "./errors.ts";
import { describeError } from "../../core/errors.ts";
import { md5Base64, partRanges } from "./format.ts";

/** How long an AbortMultipartUpload may take once the run was interrupted (it must end soon). */
export const ABORT_AFTER_SIGNAL_MS = 3000;

/** What a multipart upload needs of its store. */
export interface MultipartContext {
  /** Sends a command under a signal (S3Store's #send; the SDK retries byte bodies). */
  send<T>(
    command: unknown,
    signal: AbortSignal | undefined,
    onBodySent?: (bytes: number) => void,
  ): Promise<T>;
  /** The store's signal (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  partConcurrency: number;
  /** Bytes of part bodies held at once, across every upload. */
  memory: Semaphore;
  journal?: UploadJournal;
}

function etagOf(v: string | undefined): string | undefined {
  return v ? v.replace(/"/g, "") : undefined;
}

export async function putMultipart(
  ctx: MultipartContext,
  req: PutRequest,
  partSize: number,
): Promise<PutResult> {
  const { signal } = ctx;
  const { source } = req;
  const created = await ctx.send<{ UploadId?: string }>(
    new CreateMultipartUploadCommand({
      Bucket: req.bucket,
      Key: req.key,
      ContentType: req.contentType,
      Metadata: req.metadata,
    }),
    signal,
  );
  const uploadId = created.UploadId!;
  const ranges = partRanges(source.size, partSize);
  const done: Array<{ PartNumber: number; ETag?: string }> = [];
  // Bytes sent per part (its latest attempt), and their sum: O(1) per piece, however many parts.
  const partSent = new Array<number>(ranges.length).fill(0);
  let sent = 0;
  const onPartSent = (i: number) =>
    req.onProgress &&
    ((bytes: number) => {
      sent += bytes - partSent[i];
      partSent[i] = bytes;
      req.onProgress!(sent);
    });
  try {
    // Journaled before the first part: a kill -9 from here on leaves an id the next run aborts.
    ctx.journal?.addOpenUpload({ bucket: req.bucket, key: req.key, uploadId });
    await forEachPool(ranges, ctx.partConcurrency, async ([start, end], i) => {
      const release = await ctx.memory.acquire(end - start);
      try {
        if (signal?.aborted) throw abortReason(signal);
        const bytes = await source.read(start, end);
        const out = await ctx.send<{ ETag?: string }>(
          new UploadPartCommand({
            Bucket: req.bucket,
            Key: req.key,
            UploadId: uploadId,
            PartNumber: i + 1,
            Body: bytes,
            ContentLength: bytes.length,
            ContentMD5: md5Base64(bytes),
          }),
          signal, // SIGINT/SIGTERM: parts in flight are cut off, then the upload is aborted below
          onPartSent(i),
        );
        done[i] = { PartNumber: i + 1, ETag: out.ETag };
      } finally {
        release();
      }
    }, signal);
    if (signal?.aborted || done.filter(Boolean).length !== ranges.length) {
      throw signal?.aborted ? abortReason(signal) : new Error("upload aborted");
    }
    source.assertUnchanged?.();
    const out = await ctx.send<{ ETag?: string; VersionId?: string }>(
      new CompleteMultipartUploadCommand({
        Bucket: req.bucket,
        Key: req.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: done },
      }),
      signal,
    );
    forget(ctx, uploadId);
    return { etag: etagOf(out.ETag), versionId: out.VersionId };
  } catch (err) {
    // Never leave a half-uploaded object billing in the bucket; if it cannot be aborted now,
    // the journal keeps its id and the next run aborts it.
    try {
      await abortUpload(ctx, req.bucket, req.key, uploadId);
    } catch (abortErr) {
      throw new Error(
        `${describeError(err)}; its multipart upload could not be aborted ` +
          `(${describeError(abortErr)}): the next run aborts it`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * Aborts a multipart upload and forgets it in the journal; one that no longer exists (completed
 * or aborted by a run that was killed before it could forget it, or expired) counts as done.
 * Not cut by the store's signal, which is what usually calls for it: once the run is
 * interrupted it gets ABORT_AFTER_SIGNAL_MS; past that the journal still holds the id.
 */
export async function abortUpload(
  ctx: Pick<MultipartContext, "send" | "signal" | "journal">,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<"aborted" | "gone"> {
  const signal = ctx.signal?.aborted ? AbortSignal.timeout(ABORT_AFTER_SIGNAL_MS) : undefined;
  let outcome: "aborted" | "gone" = "aborted";
  try {
    await ctx.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      signal,
    );
  } catch (err) {
    if (!isNotFound(err) && (err as SdkError)?.name !== "NoSuchUpload") throw err;
    outcome = "gone";
  }
  forget(ctx, uploadId);
  return outcome;
}

/** A row the journal fails to delete only costs the next run an abort answered NoSuchUpload. */
function forget(ctx: Pick<MultipartContext, "journal">, uploadId: string): void {
  try {
    ctx.journal?.removeOpenUpload(uploadId);
  } catch { /* see above */ }
}
