import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type S3Sender, S3Store } from "./store.ts";
import { PARTS_PER_SIZE, streamPartSize } from "./stream_upload.ts";
import { md5Base64 } from "./format.ts";
import type { OpenUpload, StreamPutRequest } from "../../core/ports.ts";
import { FakeSdkClient, readBody } from "../../../tests/fakes/fake_sdk_client.ts";
import { s3Error } from "../../../tests/fakes/sdk_errors.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

function request(body: AsyncIterable<Uint8Array>): StreamPutRequest {
  return {
    bucket: "bkt",
    key: "dumps/prod.dump",
    body,
    contentType: "application/octet-stream",
    metadata: { dump: "prod" },
  };
}

/** A fake S3 that accepts a multipart upload and keeps its parts. */
function multipartS3(partDelayMs = 0) {
  const parts = new Map<number, Uint8Array>();
  const fake = new FakeSdkClient({
    CreateMultipartUploadCommand: () => ({ UploadId: "up-1" }),
    UploadPartCommand: async (input) => {
      const bytes = await readBody(input.Body);
      if (partDelayMs > 0) await new Promise((r) => setTimeout(r, partDelayMs));
      parts.set(input.PartNumber, bytes);
      return { ETag: `"etag-${input.PartNumber}"` };
    },
    CompleteMultipartUploadCommand: () => ({ ETag: '"whole-3"', VersionId: "v1" }),
    AbortMultipartUploadCommand: () => ({}),
    PutObjectCommand: () => ({ ETag: '"single"', VersionId: "v0" }),
  });
  return { fake, parts };
}

/** A body of `total` bytes in `chunk`-byte pieces; counts what was read out of it. */
function body(total: number, chunk: number, opts: { failAt?: number } = {}) {
  const seen = { yielded: 0, returned: false };
  const gen = (async function* () {
    try {
      for (let at = 0; at < total; at += chunk) {
        if (opts.failAt !== undefined && at >= opts.failAt) {
          throw new Error("pg_dump exited with code 1");
        }
        const n = Math.min(chunk, total - at);
        const bytes = new Uint8Array(n).fill((at / chunk) & 0xff);
        seen.yielded += n;
        yield bytes;
      }
    } finally {
      seen.returned = true;
    }
  })();
  return { gen, seen };
}

function journal() {
  const open = new Map<string, OpenUpload>();
  return {
    open,
    addOpenUpload: (u: OpenUpload) => void open.set(u.uploadId, u),
    removeOpenUpload: (id: string) => void open.delete(id),
  };
}

Deno.test("streamPartSize: the minimum for 1,000 parts, then doubling; 10,000 parts pass 5 TiB", () => {
  const min = 8 * MiB;
  assert.equal(streamPartSize(1, min), 8 * MiB);
  assert.equal(streamPartSize(PARTS_PER_SIZE, min), 8 * MiB);
  assert.equal(streamPartSize(PARTS_PER_SIZE + 1, min), 16 * MiB);
  assert.equal(streamPartSize(3 * PARTS_PER_SIZE + 1, min), 64 * MiB);
  assert.equal(streamPartSize(10_000, min), 4 * 1024 * MiB);
  assert.equal(streamPartSize(10_000, 16 * MiB), 5 * 1024 * MiB, "capped at S3's largest part");
  let total = 0;
  for (let n = 1; n <= 10_000; n++) total += streamPartSize(n, min);
  assert.ok(total >= 5 * 1024 * 1024 * MiB, `10,000 parts hold ${total} bytes`);
});

Deno.test("putStream: content within the first part is one PutObject with its checksums", async () => {
  const { fake } = multipartS3();
  const store = new S3Store(fake as unknown as S3Sender, { minPartSize: 64 * KiB });
  const { gen } = body(50 * KiB, 7 * KiB);
  const out = await store.putStream(request(gen));
  assert.deepEqual(out, { etag: "single", versionId: "v0", size: 50 * KiB });
  assert.deepEqual(fake.names(), ["PutObjectCommand"]);
  const put = fake.of("PutObjectCommand")[0].input;
  const bytes = await readBody(put.Body);
  assert.equal(bytes.length, 50 * KiB);
  assert.equal(put.ContentMD5, md5Base64(bytes));
  assert.equal(put.ChecksumSHA256, createHash("sha256").update(bytes).digest("base64"));
  assert.deepEqual(put.Metadata, { dump: "prod" });
});

Deno.test("putStream: parts cut at the part size whatever the chunks; none empty at the end", async () => {
  const { fake, parts } = multipartS3();
  const store = new S3Store(fake as unknown as S3Sender, { minPartSize: 64 * KiB });
  // Exactly three parts: the body ends on a part's end.
  const { gen } = body(3 * 64 * KiB, 10 * KiB);
  const out = await store.putStream(request(gen));
  assert.equal(out.size, 3 * 64 * KiB);
  assert.equal(out.versionId, "v1");
  assert.deepEqual([...parts.keys()].sort(), [1, 2, 3]);
  for (const p of parts.values()) assert.equal(p.length, 64 * KiB);
  const complete = fake.of("CompleteMultipartUploadCommand")[0].input;
  assert.deepEqual(
    complete.MultipartUpload.Parts.map((p: { PartNumber: number }) => p.PartNumber),
    [
      1,
      2,
      3,
    ],
  );
  assert.deepEqual(fake.of("CreateMultipartUploadCommand")[0].input.Metadata, { dump: "prod" });
  for (const c of fake.of("UploadPartCommand")) {
    assert.equal(c.input.ContentMD5, md5Base64(await readBody(c.input.Body)));
  }
});

Deno.test("putStream: never more than the memory budget read ahead of what S3 acknowledged", async () => {
  const { fake } = multipartS3(5);
  let acked = 0;
  const upload = fake.on.bind(fake);
  const partSize = 64 * KiB;
  const budget = 3 * partSize;
  let maxAhead = 0;
  const { gen, seen } = body(40 * partSize, 4 * KiB);
  const watched = (async function* () {
    for await (const c of gen) {
      maxAhead = Math.max(maxAhead, seen.yielded - acked);
      yield c;
    }
  })();
  upload("UploadPartCommand", async (input) => {
    const bytes = await readBody(input.Body);
    await new Promise((r) => setTimeout(r, 5));
    acked += bytes.length;
    return { ETag: `"e${input.PartNumber}"` };
  });
  const store = new S3Store(fake as unknown as S3Sender, {
    minPartSize: partSize,
    memoryBytes: budget,
    partConcurrency: 8,
  });
  const out = await store.putStream(request(watched));
  assert.equal(out.size, 40 * partSize);
  assert.equal(acked, 40 * partSize);
  // The budget, plus the one chunk read past a part's end before the next part has memory.
  assert.ok(maxAhead <= budget + 4 * KiB, `read ${maxAhead} bytes ahead (budget ${budget})`);
  assert.ok(maxAhead > partSize, "parts were in flight while the next one was read");
});

Deno.test("putStream: a body that throws aborts the upload and forgets it; no Complete", async () => {
  const { fake } = multipartS3();
  const store = new S3Store(fake as unknown as S3Sender, { minPartSize: 64 * KiB });
  const j = journal();
  store.trackUploads(j);
  const { gen } = body(10 * 64 * KiB, 16 * KiB, { failAt: 5 * 64 * KiB });
  await assert.rejects(store.putStream(request(gen)), /pg_dump exited with code 1/);
  assert.equal(fake.of("CompleteMultipartUploadCommand").length, 0);
  assert.equal(fake.of("AbortMultipartUploadCommand").length, 1);
  assert.equal(fake.of("AbortMultipartUploadCommand")[0].input.UploadId, "up-1");
  assert.equal(j.open.size, 0, "journal emptied once aborted");
});

Deno.test("putStream: a part that fails stops the body (its producer is told) and aborts", async () => {
  const { fake } = multipartS3();
  fake.on("UploadPartCommand", (input) => {
    if (input.PartNumber === 2) throw s3Error("InternalError", "We encountered an error", 500);
    return { ETag: '"e"' };
  });
  const store = new S3Store(fake as unknown as S3Sender, { minPartSize: 64 * KiB });
  const { gen, seen } = body(100 * 64 * KiB, 16 * KiB);
  await assert.rejects(store.putStream(request(gen)), { name: "InternalError" });
  assert.ok(seen.returned, "the body's iterator was closed");
  assert.ok(seen.yielded < 10 * 64 * KiB, `stopped early (${seen.yielded} bytes read)`);
  assert.equal(fake.of("AbortMultipartUploadCommand").length, 1);
  assert.equal(fake.of("CompleteMultipartUploadCommand").length, 0);
});

Deno.test("putStream: interrupted by the store's signal, the upload is aborted", async () => {
  const { fake } = multipartS3();
  const ctl = new AbortController();
  let parts = 0;
  fake.on("UploadPartCommand", () => {
    if (++parts === 2) ctl.abort("SIGTERM");
    return { ETag: '"e"' };
  });
  const store = new S3Store(fake as unknown as S3Sender, {
    minPartSize: 64 * KiB,
    signal: ctl.signal,
  });
  const { gen, seen } = body(100 * 64 * KiB, 16 * KiB);
  await assert.rejects(store.putStream(request(gen)));
  assert.ok(seen.returned);
  assert.equal(fake.of("CompleteMultipartUploadCommand").length, 0);
  assert.equal(fake.of("AbortMultipartUploadCommand").length, 1);
});
