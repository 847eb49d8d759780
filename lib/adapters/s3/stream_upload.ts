/**
 * Uploads of unknown size for S3Store.putStream (a dump from a command's pipe): the body is cut
 * into parts as it is read, each part's bytes taken from the store's memory budget before it is
 * filled and given back once S3 has it, so a dump of any size holds a few parts at most and
 * never touches the disk. Content that ends within the first part goes as one PutObject; longer
 * content as a multipart upload, journaled like putMultipart's, and aborted (nothing stored, no
 * version) when the body throws, a part fails or the run is interrupted.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { PutResult, StreamPutRequest, StreamPutResult } from "../../core/ports.ts";
import { Semaphore } from "../../core/pool.ts";
import { abortReason } from "./errors.ts";
import { describeError } from "../../core/errors.ts";
import { abortUpload, type MultipartContext } from "./multipart.ts";
import { MAX_PARTS, md5Base64 } from "./format.ts";

const MiB = 1024 * 1024;
/** S3's largest part. */
const MAX_PART_SIZE = 5 * 1024 * MiB;
/** Parts of one size before the size doubles (the total is not known in advance). */
export const PARTS_PER_SIZE = 1000;

/**
 * The size of part `n` (from 1) when the total is unknown: minPartSize for the first 1,000
 * parts, then doubling every 1,000 parts, so 10,000 parts reach S3's 5 TiB limit. With 8 MiB
 * parts: 8 MiB up to 7.8 GiB, 16 MiB up to 23 GiB, 32 MiB up to 55 GiB, 64 MiB beyond.
 */
export function streamPartSize(n: number, minPartSize: number): number {
  return Math.min(minPartSize * 2 ** Math.floor((n - 1) / PARTS_PER_SIZE), MAX_PART_SIZE);
}

/** Reads a body in pieces of a given size; the last piece is shorter (or empty). */
class PartReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #pending: Uint8Array | undefined;
  ended = false;

  constructor(body: AsyncIterable<Uint8Array>) {
    this.#it = body[Symbol.asyncIterator]();
  }

  /**
   * Up to `size` bytes, in one new buffer; fewer only once the body ended. Each chunk is copied
   * in as it comes, so the pipe's chunks are garbage at once: collecting them first and joining
   * them at the end held every part twice for a moment.
   */
  async read(size: number, signal?: AbortSignal): Promise<Uint8Array> {
    const out = new Uint8Array(size);
    let n = 0;
    while (n < size) {
      let chunk = this.#pending;
      this.#pending = undefined;
      if (chunk === undefined) {
        if (signal?.aborted) throw abortReason(signal);
        const next = await this.#it.next();
        if (next.done) {
          this.ended = true;
          break;
        }
        chunk = next.value;
      }
      if (n + chunk.length > size) {
        this.#pending = chunk.subarray(size - n);
        chunk = chunk.subarray(0, size - n);
      }
      out.set(chunk, n);
      n += chunk.length;
    }
    // A short last part in a buffer of its own: a view would keep the whole part's memory.
    return n === size ? out : out.slice(0, n);
  }

  /** Stops the body (its producer is told through its iterator's return). */
  async close(): Promise<void> {
    try {
      await this.#it.return?.();
    } catch { /* the producer's own failure is already known */ }
  }
}

/** What S3Store gives this module: its multipart context and its single PUT. */
export interface StreamContext extends MultipartContext {
  minPartSize: number;
  putBytes(req: StreamPutRequest, bytes: Uint8Array): Promise<PutResult>;
}

export async function putStream(
  ctx: StreamContext,
  req: StreamPutRequest,
): Promise<StreamPutResult> {
  const reader = new PartReader(req.body);
  let release = await ctx.memory.acquire(streamPartSize(1, ctx.minPartSize));
  try {
    const first = await reader.read(streamPartSize(1, ctx.minPartSize), ctx.signal);
    if (reader.ended) {
      const out = await ctx.putBytes(req, first);
      return { ...out, size: first.length };
    }
    const handOver = release;
    release = () => {}; // the first part's bytes now belong to the multipart upload
    return await multipart(ctx, req, reader, first, handOver);
  } catch (err) {
    await reader.close();
    throw err;
  } finally {
    release();
  }
}

async function multipart(
  ctx: StreamContext,
  req: StreamPutRequest,
  reader: PartReader,
  first: Uint8Array,
  firstRelease: () => void,
): Promise<StreamPutResult> {
  const { signal } = ctx;
  let created: { UploadId?: string };
  try {
    created = await ctx.send<{ UploadId?: string }>(
      new CreateMultipartUploadCommand({
        Bucket: req.bucket,
        Key: req.key,
        ContentType: req.contentType,
        Metadata: req.metadata,
      }),
      signal,
    );
  } catch (err) {
    firstRelease();
    throw err;
  }
  const uploadId = created.UploadId!;
  ctx.journal?.addOpenUpload({ bucket: req.bucket, key: req.key, uploadId });
  const slots = new Semaphore(ctx.partConcurrency);
  const inFlight: Promise<void>[] = [];
  const done: Array<{ PartNumber: number; ETag?: string }> = [];
  let failure: { err: unknown } | undefined;
  let size = 0;

  const send = async (n: number, bytes: Uint8Array, release: () => void) => {
    const slot = await slots.acquire();
    inFlight.push((async () => {
      try {
        if (failure !== undefined) return;
        const out = await ctx.send<{ ETag?: string }>(
          new UploadPartCommand({
            Bucket: req.bucket,
            Key: req.key,
            UploadId: uploadId,
            PartNumber: n,
            Body: bytes,
            ContentLength: bytes.length,
            ContentMD5: md5Base64(bytes),
          }),
          signal,
        );
        done[n - 1] = { PartNumber: n, ETag: out.ETag };
      } catch (err) {
        failure ??= { err };
      } finally {
        release();
        slot();
      }
    })());
  };

  try {
    let n = 1;
    let bytes = first;
    let release = firstRelease;
    while (true) {
      size += bytes.length;
      await send(n, bytes, release);
      if (reader.ended || failure !== undefined) break;
      n++;
      if (n > MAX_PARTS) {
        throw new Error(`more than S3's ${MAX_PARTS} parts: the content is too large for S3`);
      }
      const partSize = streamPartSize(n, ctx.minPartSize);
      release = await ctx.memory.acquire(partSize);
      try {
        bytes = await reader.read(partSize, signal);
      } catch (err) {
        release();
        throw err;
      }
      if (bytes.length === 0) { // the body ended exactly at a part's end
        release();
        break;
      }
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.err;
    if (signal?.aborted) throw abortReason(signal);
    const out = await ctx.send<{ ETag?: string; VersionId?: string }>(
      new CompleteMultipartUploadCommand({
        Bucket: req.bucket,
        Key: req.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: done.filter(Boolean) },
      }),
      signal,
    );
    try {
      ctx.journal?.removeOpenUpload(uploadId);
    } catch { /* the next run's abort is answered NoSuchUpload */ }
    return { etag: out.ETag?.replace(/"/g, "") || undefined, versionId: out.VersionId, size };
  } catch (err) {
    await Promise.allSettled(inFlight);
    await reader.close();
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
