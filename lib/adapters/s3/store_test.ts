import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { type S3Sender, S3Store } from "./store.ts";
import { bytesSource } from "../../core/digest.ts";
import type { PutRequest } from "../../core/ports.ts";
import { md5Base64 } from "./format.ts";
import { FakeSdkClient, readBody } from "../../../tests/fakes/fake_sdk_client.ts";
import { s3Error } from "../../../tests/fakes/sdk_errors.ts";

function storeOver(fake: FakeSdkClient, opts?: ConstructorParameters<typeof S3Store>[1]) {
  return new S3Store(fake as unknown as S3Sender, opts);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function putRequest(bytes: Uint8Array): PutRequest {
  const source = bytesSource(bytes);
  return {
    bucket: "bkt",
    key: "docs/a.pdf",
    source,
    contentType: "application/pdf",
    metadata: { sha256: source.sha256, mtime: "2026-02-11T02:00:00.000Z" },
  };
}

const sha256Base64 = (b: Uint8Array) => createHash("sha256").update(b).digest("base64");

const T1 = new Date("2026-01-01T00:00:01Z");
const T2 = new Date("2026-01-01T00:00:02Z");
const T3 = new Date("2026-01-01T00:00:03Z");

Deno.test("S3Store.list paginates with the continuation token and strips ETag quotes", async () => {
  const fake = new FakeSdkClient({
    ListObjectsV2Command: (input) =>
      input.ContinuationToken === undefined
        ? {
          Contents: [
            { Key: "p/a", Size: 1, ETag: '"e1"', LastModified: T1, StorageClass: "STANDARD" },
            { Key: "p/b", Size: 2, ETag: '"e2-3"', LastModified: T2, StorageClass: "GLACIER" },
          ],
          IsTruncated: true,
          NextContinuationToken: "tok-1",
        }
        : { Contents: [{ Key: "p/c", LastModified: T3 }], IsTruncated: false },
  });
  const got = await collect(storeOver(fake).list("bkt", "p/"));
  assert.deepEqual(got, [
    { key: "p/a", size: 1, etag: "e1", lastModified: T1, storageClass: "STANDARD" },
    { key: "p/b", size: 2, etag: "e2-3", lastModified: T2, storageClass: "GLACIER" },
    { key: "p/c", size: 0, etag: undefined, lastModified: T3, storageClass: "STANDARD" },
  ]);
  assert.deepEqual(fake.sent.map((c) => c.input), [
    { Bucket: "bkt", Prefix: "p/", ContinuationToken: undefined, MaxKeys: 1000 },
    { Bucket: "bkt", Prefix: "p/", ContinuationToken: "tok-1", MaxKeys: 1000 },
  ]);
});

Deno.test("S3Store.list with an empty prefix sends no Prefix", async () => {
  const fake = new FakeSdkClient({ ListObjectsV2Command: () => ({ IsTruncated: false }) });
  assert.deepEqual(await collect(storeOver(fake).list("bkt", "")), []);
  assert.equal(fake.sent[0].input.Prefix, undefined);
});

Deno.test("S3Store.head: fields, restore header, and which errors mean 'missing'", async (t) => {
  const cases: Array<{ name: string; respond: () => unknown; want: unknown }> = [
    {
      name: "found, restored Glacier object",
      respond: () => ({
        ContentLength: 71,
        ETag: '"abc"',
        LastModified: T1,
        StorageClass: "GLACIER",
        Metadata: { sha256: "00ff" },
        VersionId: "v1",
        Restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"',
        ServerSideEncryption: "AES256",
      }),
      want: {
        key: "k",
        size: 71,
        etag: "abc",
        lastModified: T1,
        storageClass: "GLACIER",
        metadata: { sha256: "00ff" },
        versionId: "v1",
        restore: { ongoing: false, expiry: new Date("2012-12-21T00:00:00Z") },
        sse: "AES256",
      },
    },
    {
      name: "restore in progress",
      respond: () => ({ ContentLength: 1, Restore: 'ongoing-request="true"' }),
      want: {
        key: "k",
        size: 1,
        etag: undefined,
        lastModified: new Date(0),
        storageClass: "STANDARD",
        metadata: {},
        versionId: undefined,
        restore: { ongoing: true, expiry: undefined },
        sse: undefined,
      },
    },
    {
      name: "404 NotFound",
      respond: () => {
        throw s3Error("NotFound", "NotFound", 404);
      },
      want: undefined,
    },
    {
      name: "NoSuchVersion",
      respond: () => {
        throw s3Error("NoSuchVersion", "The specified version does not exist.", 404);
      },
      want: undefined,
    },
    {
      name: "403 is not 'missing'",
      respond: () => {
        throw s3Error("Forbidden", "Forbidden", 403);
      },
      want: "throws Forbidden",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const fake = new FakeSdkClient({ HeadObjectCommand: c.respond });
      const store = storeOver(fake);
      if (c.want === "throws Forbidden") {
        await assert.rejects(store.head("bkt", "k"), { name: "Forbidden" });
      } else {
        assert.deepEqual(await store.head("bkt", "k", "v1"), c.want);
        assert.deepEqual(fake.sent[0].input, { Bucket: "bkt", Key: "k", VersionId: "v1" });
      }
    });
  }
});

Deno.test("S3Store.get returns the body, undefined on NoSuchKey, and rethrows other errors", async () => {
  const body = Readable.from([Buffer.from("hello")]);
  const fake = new FakeSdkClient({
    GetObjectCommand: (input) => {
      if (input.Key === "missing") {
        throw s3Error("NoSuchKey", "The specified key does not exist.", 404);
      }
      if (input.Key === "denied") throw s3Error("AccessDenied", "Access Denied", 403);
      return {
        Body: body,
        ContentLength: 5,
        ETag: '"x"',
        Metadata: { sha256: "ab" },
        VersionId: "v9",
      };
    },
  });
  const store = storeOver(fake);
  const got = await store.get("bkt", "k", "v9");
  assert.ok(got);
  assert.equal(got.size, 5);
  assert.equal(got.etag, "x");
  assert.equal(got.versionId, "v9");
  assert.deepEqual(got.metadata, { sha256: "ab" });
  assert.equal(Buffer.from(await readBody(got.body)).toString(), "hello");
  assert.equal(await store.get("bkt", "missing"), undefined);
  await assert.rejects(store.get("bkt", "denied"), { name: "AccessDenied" });
  assert.deepEqual(fake.sent.map((c) => c.input.VersionId), ["v9", undefined, undefined]);
});

Deno.test("S3Store.put of content within one part sends one PutObject with both checksums", async () => {
  const bytes = Buffer.from("meeting notes\n".repeat(5));
  let sentBytes: Uint8Array | undefined;
  const fake = new FakeSdkClient({
    PutObjectCommand: async (input) => {
      sentBytes = await readBody(input.Body);
      return { ETag: '"etag-1"', VersionId: "ver-1" };
    },
  });
  const req = putRequest(bytes);
  assert.deepEqual(await storeOver(fake).put(req), { etag: "etag-1", versionId: "ver-1" });
  assert.deepEqual(fake.names(), ["PutObjectCommand"]);
  const { Body: _body, ...input } = fake.sent[0].input;
  assert.deepEqual(input, {
    Bucket: "bkt",
    Key: "docs/a.pdf",
    ContentLength: bytes.length,
    ContentMD5: md5Base64(bytes),
    ChecksumSHA256: sha256Base64(bytes),
    ContentType: "application/pdf",
    Metadata: { sha256: req.source.sha256, mtime: "2026-02-11T02:00:00.000Z" },
  });
  assert.ok(sentBytes && bytes.equals(sentBytes), "the body sent is the file's content");
  assert.ok(fake.sent[0].input.Body instanceof Uint8Array, "bytes: a body the SDK can retry");
});

Deno.test("S3Store.put without sha256Checksums sends Content-MD5 only", async () => {
  const bytes = Buffer.from("x");
  const fake = new FakeSdkClient({ PutObjectCommand: () => ({}) });
  await storeOver(fake, { sha256Checksums: false }).put(putRequest(bytes));
  assert.equal(fake.sent[0].input.ChecksumSHA256, undefined);
  assert.equal(fake.sent[0].input.ContentMD5, md5Base64(bytes));
});

Deno.test("S3Store.put of content over one part: create, one UploadPart per part, complete in order", async () => {
  const bytes = Buffer.from("0123456789"); // parts of 4: "0123" "4567" "89"
  const partBytes = new Map<number, string>();
  const fake = new FakeSdkClient({
    CreateMultipartUploadCommand: () => ({ UploadId: "up-1" }),
    // Later parts answer sooner, so completion order differs from part order.
    UploadPartCommand: async (input) => {
      const data = await readBody(input.Body);
      await new Promise((r) => setTimeout(r, (4 - input.PartNumber) * 5));
      partBytes.set(input.PartNumber, Buffer.from(data).toString());
      return { ETag: `"etag-p${input.PartNumber}"` };
    },
    CompleteMultipartUploadCommand: () => ({ ETag: '"whole-3"', VersionId: "ver-2" }),
  });
  const req = putRequest(bytes);
  const result = await storeOver(fake, { partConcurrency: 3, minPartSize: 4 }).put(req);
  assert.deepEqual(result, { etag: "whole-3", versionId: "ver-2" });
  const names = fake.names();
  assert.equal(names[0], "CreateMultipartUploadCommand");
  assert.equal(names.at(-1), "CompleteMultipartUploadCommand");
  assert.equal(names.filter((n) => n === "UploadPartCommand").length, 3);
  assert.equal(names.length, 5);
  assert.deepEqual(fake.of("CreateMultipartUploadCommand")[0].input, {
    Bucket: "bkt",
    Key: "docs/a.pdf",
    ContentType: "application/pdf",
    Metadata: { sha256: req.source.sha256, mtime: "2026-02-11T02:00:00.000Z" },
  });
  const parts = fake.of("UploadPartCommand").map(({ input: { Body: _b, ...rest } }) => rest)
    .sort((a, b) => a.PartNumber - b.PartNumber);
  assert.deepEqual(
    parts,
    ["0123", "4567", "89"].map((p, i) => ({
      Bucket: "bkt",
      Key: "docs/a.pdf",
      UploadId: "up-1",
      PartNumber: i + 1,
      ContentLength: p.length,
      ContentMD5: md5Base64(Buffer.from(p)),
    })),
  );
  assert.deepEqual([...partBytes.entries()].sort(), [[1, "0123"], [2, "4567"], [3, "89"]]);
  assert.deepEqual(fake.of("CompleteMultipartUploadCommand")[0].input, {
    Bucket: "bkt",
    Key: "docs/a.pdf",
    UploadId: "up-1",
    MultipartUpload: {
      Parts: [1, 2, 3].map((_p, i) => ({
        PartNumber: i + 1,
        ETag: `"etag-p${i + 1}"`,
      })),
    },
  });
});

Deno.test("S3Store.put: onProgress hears the bytes sent as parts go, retries included", async () => {
  const heard: number[] = [];
  const fake = new FakeSdkClient({
    PutObjectCommand: (input, _n, options) => {
      options.onBodySent?.(input.ContentLength);
      return { ETag: '"e"' };
    },
    CreateMultipartUploadCommand: () => ({ UploadId: "up-1" }),
    UploadPartCommand: (input, _n, options) => {
      const len = input.ContentLength;
      options.onBodySent?.(2);
      if (input.PartNumber === 2) options.onBodySent?.(0); // its attempt failed: sent again
      options.onBodySent?.(len);
      return { ETag: `"p${input.PartNumber}"` };
    },
    CompleteMultipartUploadCommand: () => ({ ETag: '"whole"' }),
  });
  const store = storeOver(fake, { partConcurrency: 1, minPartSize: 4 });
  const req = putRequest(Buffer.from("0123456789")); // parts "0123" "4567" "89"
  await store.put({ ...req, onProgress: (n) => heard.push(n) });
  assert.deepEqual(heard, [2, 4, 6, 4, 8, 10, 10]);
  heard.length = 0;
  await store.put({ ...putRequest(Buffer.from("012")), onProgress: (n) => heard.push(n) });
  assert.deepEqual(heard, [3], "a single PUT reports its body too");
  await store.put(putRequest(Buffer.from("0123456789"))); // no listener: nothing breaks
});

Deno.test("S3Store.put: bodies held in memory stay within memoryBytes across uploads", async () => {
  const bytes = Buffer.from("0123456789abcdefghij"); // 5 parts of 4
  let held = 0;
  let most = 0;
  const fake = new FakeSdkClient({
    CreateMultipartUploadCommand: () => ({ UploadId: "up" }),
    UploadPartCommand: async (input) => {
      assert.ok(input.Body instanceof Uint8Array, "a part is sent as bytes");
      await new Promise((r) => setTimeout(r, 3));
      held -= input.ContentLength; // the store lets go of the part once it is sent
      return { ETag: `"p${input.PartNumber}"` };
    },
    CompleteMultipartUploadCommand: () => ({ ETag: '"whole"' }),
  });
  const store = storeOver(fake, { partConcurrency: 4, memoryBytes: 12, minPartSize: 4 });
  const request = (key: string): PutRequest => {
    const req = putRequest(bytes);
    return {
      ...req,
      key,
      source: {
        ...req.source,
        read: (start, end) => {
          held += end - start;
          most = Math.max(most, held);
          return Promise.resolve(bytes.slice(start, end));
        },
      },
    };
  };
  // Two files at once, 4 parts each in flight: still at most 12 bytes (3 parts) in memory.
  await Promise.all([store.put(request("a.sql")), store.put(request("b.sql"))]);
  assert.equal(most, 12);
  // Each part's MD5 is computed from the bytes read.
  const md5s = fake.of("UploadPartCommand").filter((c) => c.input.Key === "a.sql")
    .sort((x, y) => x.input.PartNumber - y.input.PartNumber).map((c) => c.input.ContentMD5);
  assert.deepEqual(
    md5s,
    ["0123", "4567", "89ab", "cdef", "ghij"].map((p) => md5Base64(Buffer.from(p))),
  );
});

Deno.test("S3Store.put: a source that changed is never completed; the upload is aborted", async () => {
  const bytes = Buffer.from("0123456789");
  const fake = new FakeSdkClient({
    CreateMultipartUploadCommand: () => ({ UploadId: "up-c" }),
    UploadPartCommand: () => ({ ETag: '"p"' }),
    AbortMultipartUploadCommand: () => ({}),
    CompleteMultipartUploadCommand: () => ({}),
  });
  const req = putRequest(bytes);
  let checks = 0;
  const changed = {
    ...req,
    source: {
      ...req.source,
      assertUnchanged: () => {
        checks++;
        throw new Error("file changed while it was uploaded");
      },
    },
  };
  await assert.rejects(storeOver(fake, { minPartSize: 4 }).put(changed), /file changed/);
  assert.equal(checks, 1, "checked once, after the last part");
  assert.equal(fake.of("CompleteMultipartUploadCommand").length, 0);
  assert.equal(fake.of("AbortMultipartUploadCommand").length, 1);
});

Deno.test("S3Store.contentMatches: the ETag this adapter's upload gives, part by part; unknown with KMS", async () => {
  const store = storeOver(new FakeSdkClient({}), { minPartSize: 4 });
  const one = bytesSource(Buffer.from("abc"));
  const head = {
    key: "k",
    size: 3,
    lastModified: new Date(0),
    storageClass: "STANDARD",
    metadata: {},
  };
  const md5hex = (b: string) => createHash("md5").update(b).digest("hex");
  assert.equal(await store.contentMatches({ ...head, etag: md5hex("abc") }, one), "match");
  assert.equal(await store.contentMatches({ ...head, etag: md5hex("abd") }, one), "mismatch");
  assert.equal(
    await store.contentMatches({ ...head, etag: md5hex("abc"), sse: "aws:kms" }, one),
    "unknown",
  );
  // Three parts of 4: the MD5 of the parts' MD5s, and "-3".
  const multi = bytesSource(Buffer.from("0123456789"));
  const partMd5 = (p: string) => createHash("md5").update(p).digest();
  const etag = createHash("md5").update(Buffer.concat(["0123", "4567", "89"].map(partMd5)))
    .digest("hex") + "-3";
  assert.equal(await store.contentMatches({ ...head, size: 10, etag }, multi), "match");
});

Deno.test("S3Store.put: a failing UploadPart aborts the multipart upload and rethrows", async () => {
  const bytes = Buffer.from("0123456789");
  const boom = s3Error("InternalError", "We encountered an internal error.", 500, 5);
  const fake = new FakeSdkClient({
    CreateMultipartUploadCommand: () => ({ UploadId: "up-9" }),
    UploadPartCommand: (input) => {
      if (input.PartNumber === 2) throw boom;
      return { ETag: '"p"' };
    },
    AbortMultipartUploadCommand: () => ({}),
    CompleteMultipartUploadCommand: () => ({}),
  });
  const store = storeOver(fake, { partConcurrency: 1, minPartSize: 4 });
  await assert.rejects(store.put(putRequest(bytes)), (err) => err === boom);
  assert.deepEqual(fake.of("AbortMultipartUploadCommand").map((c) => c.input), [
    { Bucket: "bkt", Key: "docs/a.pdf", UploadId: "up-9" },
  ]);
  assert.equal(fake.of("CompleteMultipartUploadCommand").length, 0);
  // With one part in flight at a time, part 3 is never started after part 2 failed.
  assert.deepEqual(fake.of("UploadPartCommand").map((c) => c.input.PartNumber), [1, 2]);
  assert.equal(store.requestCounts().UploadPart, 1 + 5);
});

Deno.test("S3Store.requestCounts is what the client's transport counted", async () => {
  const fake = new FakeSdkClient({
    ListObjectsV2Command: () => ({ IsTruncated: false, $metadata: { attempts: 3 } }),
    HeadObjectCommand: () => {
      throw s3Error("NotFound", "NotFound", 404, 2);
    },
    PutObjectCommand: () => ({}),
  });
  const store = storeOver(fake);
  assert.deepEqual(store.requestCounts(), {});
  await collect(store.list("bkt", ""));
  assert.equal(await store.head("bkt", "k"), undefined);
  await store.head("bkt", "k");
  const bytes = Buffer.from("abc");
  await store.put(putRequest(bytes));
  assert.deepEqual(store.requestCounts(), { ListObjectsV2: 3, HeadObject: 4, PutObject: 1 });
  // A copy: the caller cannot change the counters.
  store.requestCounts().PutObject = 99;
  assert.equal(store.requestCounts().PutObject, 1);
  // A client without a transport count (no requestCounts) reports none.
  assert.deepEqual(new S3Store({ send: fake.send.bind(fake) } as S3Sender).requestCounts(), {});
});

Deno.test("S3Store.listVersions merges versions and delete markers, newest first per key", async () => {
  const fake = new FakeSdkClient({
    ListObjectVersionsCommand: (input) =>
      input.KeyMarker === undefined
        ? {
          Versions: [
            { Key: "a", VersionId: "a3", IsLatest: true, LastModified: T3, Size: 3, ETag: '"e3"' },
            { Key: "a", VersionId: "a1", IsLatest: false, LastModified: T1, Size: 1, ETag: '"e1"' },
          ],
          DeleteMarkers: [{ Key: "a", VersionId: "a2", IsLatest: false, LastModified: T2 }],
          IsTruncated: true,
          NextKeyMarker: "a",
          NextVersionIdMarker: "a1",
        }
        : {
          Versions: [
            {
              Key: "b",
              VersionId: "b1",
              IsLatest: false,
              LastModified: T1,
              Size: 7,
              StorageClass: "GLACIER",
            },
          ],
          DeleteMarkers: [{ Key: "b", VersionId: "b2", IsLatest: true, LastModified: T2 }],
          IsTruncated: false,
        },
  });
  const got = await collect(storeOver(fake).listVersions("bkt", "p/"));
  assert.deepEqual(
    got.map((v) => [v.key, v.versionId, v.isLatest, v.isDeleteMarker, v.size, v.etag]),
    [
      ["a", "a3", true, false, 3, "e3"],
      ["a", "a2", false, true, 0, undefined],
      ["a", "a1", false, false, 1, "e1"],
      ["b", "b2", true, true, 0, undefined],
      ["b", "b1", false, false, 7, undefined],
    ],
  );
  assert.equal(got[4].storageClass, "GLACIER");
  assert.deepEqual(
    fake.sent.map((c) => [c.input.Prefix, c.input.KeyMarker, c.input.VersionIdMarker]),
    [["p/", undefined, undefined], ["p/", "a", "a1"]],
  );
});

// Regression (fixed in 9db5350): listVersions breaks timestamp ties with IsLatest. S3 lists
// LastModified to the second; a delete made in the same second as the upload it hides must
// still come first, or "the newest version" of a deleted file is its old content.
Deno.test("S3Store.listVersions: a latest delete marker with the same LastModified comes first", async () => {
  const fake = new FakeSdkClient({
    ListObjectVersionsCommand: () => ({
      Versions: [{ Key: "a", VersionId: "v1", IsLatest: false, LastModified: T1, Size: 1 }],
      DeleteMarkers: [{ Key: "a", VersionId: "dm", IsLatest: true, LastModified: T1 }],
      IsTruncated: false,
    }),
  });
  const got = await collect(storeOver(fake).listVersions("bkt", ""));
  assert.deepEqual(got.map((v) => [v.versionId, v.isLatest]), [["dm", true], ["v1", false]]);
});

Deno.test("S3Store.requestRestore maps 202/200/RestoreAlreadyInProgress", async (t) => {
  const cases: Array<{ name: string; respond: () => unknown; want: string }> = [
    {
      name: "202 → started",
      respond: () => ({ $metadata: { httpStatusCode: 202 } }),
      want: "started",
    },
    { name: "200 → ready", respond: () => ({ $metadata: { httpStatusCode: 200 } }), want: "ready" },
    {
      name: "RestoreAlreadyInProgress → in-progress",
      respond: () => {
        throw s3Error("RestoreAlreadyInProgress", "Object restore is already in progress", 409);
      },
      want: "in-progress",
    },
    {
      name: "InvalidObjectState → rejects",
      respond: () => {
        throw s3Error("InvalidObjectState", "not an archived object", 403);
      },
      want: "rejects",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const fake = new FakeSdkClient({ RestoreObjectCommand: c.respond });
      const p = storeOver(fake).requestRestore("bkt", "k", "v1", { days: 7, tier: "Bulk" });
      if (c.want === "rejects") await assert.rejects(p, { name: "InvalidObjectState" });
      else assert.equal(await p, c.want);
      assert.deepEqual(fake.sent[0].input, {
        Bucket: "bkt",
        Key: "k",
        VersionId: "v1",
        RestoreRequest: { Days: 7, GlacierJobParameters: { Tier: "Bulk" } },
      });
    });
  }
});

Deno.test("S3Store: the store's signal cuts every request, even one waiting out a retry", async () => {
  const controller = new AbortController();
  let calls = 0;
  const fake = new FakeSdkClient({
    // Like the SDK in a throttling backoff: the answer comes only much later.
    ListObjectsV2Command: () => {
      calls++;
      return new Promise((r) => setTimeout(() => r({ IsTruncated: false }), 2000));
    },
  });
  const store = storeOver(fake, { signal: controller.signal });
  setTimeout(() => controller.abort("SIGTERM"), 50);
  const t0 = performance.now();
  await assert.rejects(collect(store.list("bkt", "")), { name: "AbortError", message: /SIGTERM/ });
  assert.ok(performance.now() - t0 < 1000, "rejected at the signal, not when the SDK gave up");
  await assert.rejects(store.head("bkt", "k"), { name: "AbortError" });
  assert.equal(calls, 1, "nothing is sent once the signal aborted");
});
