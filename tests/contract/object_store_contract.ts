/**
 * The ObjectStore contract: what the core relies on from any store. One suite, run against
 * the in-memory fake, the S3 adapter over fauxqs, and the S3 adapter over Ceph RGW, so the fake
 * cannot drift from the real thing.
 *
 * A runner passes `skip` reasons for what its server cannot do (fauxqs: versioning, checksum
 * verification); those cases are registered as ignored, with the reason in their name.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import type { ObjectStore, PutRequest } from "../../lib/core/ports.ts";
import type { ContentDigest } from "../../lib/core/types.ts";
import { digestBytes, expectedEtag, sha256OfStream } from "../../lib/core/digest.ts";
import { forEachPool } from "../../lib/core/pool.ts";

export interface StoreFixture {
  store: ObjectStore;
  /** A fresh, empty bucket for this test. */
  bucket: string;
  /** The bucket keeps versions (list/get/head by version id). */
  versioned: boolean;
  cleanup(): Promise<void>;
  /** The stored Content-Type, read out of band: the ObjectStore port does not expose it. */
  contentType?(key: string): Promise<string | undefined>;
}

export interface ContractOptions {
  /** Cases a server cannot support, with the reason shown in the test name. */
  skip?: {
    /** Everything (e.g. the server is not running). */
    all?: string;
    versioning?: string;
    /** The server does not verify Content-MD5 / x-amz-checksum-sha256. */
    checksums?: string;
  };
}

const MiB = 1024 * 1024;

export function putRequestFor(
  bucket: string,
  key: string,
  bytes: Uint8Array,
  opts: { partSize?: number; digest?: ContentDigest; contentType?: string } = {},
): PutRequest {
  const digest = opts.digest ?? digestBytes(bytes, opts.partSize);
  return {
    bucket,
    key,
    size: bytes.length,
    open: (start, end) => Readable.from([bytes.subarray(start, end)]),
    digest,
    contentType: opts.contentType ?? "application/octet-stream",
    metadata: { sha256: digest.sha256Hex, mtime: "2026-02-11T02:00:00.000Z" },
  };
}

/** Deterministic bytes that differ at every part boundary. */
export function patternBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    if (i + 1 < size) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < size) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < size) out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}

async function readAll(body: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(typeof c === "string" ? Buffer.from(c) : Buffer.from(c));
  return Buffer.concat(chunks);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function delta(before: Record<string, number>, after: Record<string, number>, op: string): number {
  return (after[op] ?? 0) - (before[op] ?? 0);
}

export function objectStoreContract(
  name: string,
  makeStore: () => Promise<StoreFixture>,
  options: ContractOptions = {},
): void {
  const skip = options.skip ?? {};
  const register = (
    title: string,
    fn: (fx: StoreFixture) => Promise<void>,
    skipReason?: string,
  ) => {
    const reason = skip.all ?? skipReason;
    Deno.test({
      name: `${name}: ${title}${reason ? ` (skipped: ${reason})` : ""}`,
      ignore: reason !== undefined,
      // The AWS SDK keeps pooled sockets and timers beyond a single test.
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const fx = await makeStore();
        try {
          await fn(fx);
        } finally {
          await fx.cleanup();
        }
      },
    });
  };
  for (const [what, reason] of Object.entries(skip)) {
    if (reason !== undefined) console.log(`${name}: skipping ${what} cases: ${reason}`);
  }

  register(
    "put/get round trip with metadata and content type",
    async ({ store, bucket, contentType }) => {
      const key = "fotos/été 2025/meeting notes+ü.txt";
      const bytes = Buffer.from("Meeting notes\nline two\n");
      const req = putRequestFor(bucket, key, bytes, { contentType: "text/plain; charset=utf-8" });
      const put = await store.put(req);
      if (put.etag !== undefined) assert.equal(put.etag, expectedEtag(req.digest));

      const head = await store.head(bucket, key);
      assert.ok(head, "head after put");
      assert.equal(head.key, key);
      assert.equal(head.size, bytes.length);
      assert.equal(head.etag, expectedEtag(req.digest));
      assert.equal(head.metadata.sha256, req.digest.sha256Hex);
      assert.equal(head.metadata.mtime, "2026-02-11T02:00:00.000Z");
      assert.ok(head.lastModified instanceof Date && !Number.isNaN(head.lastModified.getTime()));

      const got = await store.get(bucket, key);
      assert.ok(got, "get after put");
      assert.equal(got.size, bytes.length);
      assert.equal(got.metadata.sha256, req.digest.sha256Hex);
      assert.deepEqual(await readAll(got.body), bytes);
      if (contentType) assert.equal(await contentType(key), "text/plain; charset=utf-8");

      // Empty content.
      const empty = putRequestFor(bucket, "empty.txt", new Uint8Array());
      await store.put(empty);
      const e = await store.get(bucket, "empty.txt");
      assert.ok(e);
      assert.equal(e.size, 0);
      assert.equal((await readAll(e.body)).length, 0);
    },
  );

  register("head and get of a missing key are undefined", async ({ store, bucket }) => {
    assert.equal(await store.head(bucket, "no/such/key.txt"), undefined);
    assert.equal(await store.get(bucket, "no/such/key.txt"), undefined);
  });

  register("list: key order, prefix, and pagination past 1,000 keys", async ({ store, bucket }) => {
    const n = 1005;
    const keys = Array.from({ length: n }, (_, i) => `many/${String(i).padStart(4, "0")}.txt`);
    await forEachPool(keys, 32, async (key, i) => {
      await store.put(putRequestFor(bucket, key, Buffer.from(`#${i}`)));
    });
    await store.put(putRequestFor(bucket, "manyx.txt", Buffer.from("not under many/")));
    await store.put(putRequestFor(bucket, "a-first.txt", Buffer.from("root")));

    const before = store.requestCounts();
    const listed = await collect(store.list(bucket, "many/"));
    const after = store.requestCounts();
    assert.equal(listed.length, n);
    assert.deepEqual(listed.map((o) => o.key), keys);
    listed.forEach((o, i) => {
      assert.equal(o.size, `#${i}`.length, o.key);
      assert.equal(o.etag, expectedEtag(digestBytes(Buffer.from(`#${i}`))), o.key);
      assert.ok(o.lastModified instanceof Date);
      assert.equal(o.storageClass, "STANDARD");
    });
    assert.ok(delta(before, after, "ListObjectsV2") >= 2, "more than one page was requested");

    const all = await collect(store.list(bucket, ""));
    assert.equal(all.length, n + 2);
    assert.equal(all[0].key, "a-first.txt");
    assert.equal(all.at(-1)!.key, "manyx.txt");
    assert.deepEqual(await collect(store.list(bucket, "nothing-here/")), []);
  });

  register("multipart put (3 parts of 5 MiB) round trip", async ({ store, bucket }) => {
    const bytes = patternBytes(11 * MiB + 123, 42);
    const req = putRequestFor(bucket, "db/big.sql.gz", bytes, { partSize: 5 * MiB });
    assert.equal(req.digest.parts.length, 3);
    const before = store.requestCounts();
    await store.put(req);
    const after = store.requestCounts();
    assert.equal(delta(before, after, "CreateMultipartUpload"), 1);
    assert.equal(delta(before, after, "UploadPart"), 3);
    assert.equal(delta(before, after, "CompleteMultipartUpload"), 1);
    assert.equal(delta(before, after, "PutObject"), 0);

    const head = await store.head(bucket, "db/big.sql.gz");
    assert.ok(head);
    assert.equal(head.size, bytes.length);
    assert.equal(head.etag, expectedEtag(req.digest));
    assert.equal(head.metadata.sha256, req.digest.sha256Hex);
    const got = await store.get(bucket, "db/big.sql.gz");
    assert.ok(got);
    assert.equal(await sha256OfStream(got.body), req.digest.sha256Hex);
  });

  register(
    "multipart put of parts without MD5s: read into memory, MD5s computed, checked unchanged",
    async ({ store, bucket }) => {
      const bytes = patternBytes(11 * MiB + 5, 7);
      const full = digestBytes(bytes, 5 * MiB);
      const digest = { ...full, parts: full.parts.map((p) => ({ size: p.size })) };
      let reads = 0;
      let checks = 0;
      const req: PutRequest = {
        ...putRequestFor(bucket, "db/read.sql", bytes, { digest }),
        open: () => {
          throw new Error("parts without MD5 must be read, not streamed");
        },
        read: (start, end) => {
          reads++;
          return Promise.resolve(bytes.slice(start, end));
        },
        assertUnchanged: () => void checks++,
      };
      await store.put(req);
      assert.equal(reads, 3);
      assert.equal(checks, 1);
      const head = await store.head(bucket, "db/read.sql");
      // The ETag S3 computed is the one the parts' MD5s give: the store sent the right ones.
      assert.equal(head?.etag, expectedEtag(full));
      assert.equal(
        await sha256OfStream((await store.get(bucket, "db/read.sql"))!.body),
        full.sha256Hex,
      );

      // A source that changed: the upload is aborted before completing, nothing is stored.
      await assert.rejects(
        store.put({
          ...req,
          key: "db/changed.sql",
          assertUnchanged: () => {
            throw new Error("file changed while it was uploaded");
          },
        }),
        /file changed/,
      );
      assert.equal(await store.head(bucket, "db/changed.sql"), undefined);
    },
  );

  register(
    "a put whose Content-MD5 is wrong is rejected and stores nothing",
    async ({ store, bucket }) => {
      const bytes = Buffer.from("the real content");
      const wrong = {
        ...digestBytes(bytes),
        md5Base64: digestBytes(Buffer.from("other")).md5Base64,
      };
      wrong.parts = [{ ...wrong.parts[0], md5Base64: wrong.md5Base64! }];
      await assert.rejects(
        store.put(putRequestFor(bucket, "bad.txt", bytes, { digest: wrong })),
        (err: Error) =>
          /BadDigest|InvalidDigest|Content-MD5|did not match/i.test(`${err.name} ${err.message}`),
      );
      assert.equal(await store.head(bucket, "bad.txt"), undefined);
    },
    skip.checksums,
  );

  register(
    "a multipart put with one wrong part MD5 is rejected and stores nothing",
    async ({ store, bucket }) => {
      const bytes = patternBytes(10 * MiB + 1, 7);
      const digest = digestBytes(bytes, 5 * MiB);
      digest.parts[1] = { ...digest.parts[1], md5Base64: digest.parts[0].md5Base64 };
      await assert.rejects(
        store.put(putRequestFor(bucket, "bad-multi.bin", bytes, { digest })),
        (err: Error) =>
          /BadDigest|InvalidDigest|Content-MD5|did not match/i.test(`${err.name} ${err.message}`),
      );
      assert.equal(await store.head(bucket, "bad-multi.bin"), undefined);
    },
    skip.checksums,
  );

  register("versions: two puts of a key give two versions, newest first", async (fx) => {
    const { store, bucket } = fx;
    assert.ok(fx.versioned, "this store is not versioned: pass skip.versioning");
    const v1 = await store.put(putRequestFor(bucket, "docs/a.txt", Buffer.from("one")));
    await new Promise((r) => setTimeout(r, 5));
    const v2 = await store.put(putRequestFor(bucket, "docs/a.txt", Buffer.from("two!")));
    await store.put(putRequestFor(bucket, "docs/b.txt", Buffer.from("b")));

    const versions = await collect(store.listVersions(bucket, "docs/a"));
    assert.equal(versions.length, 2);
    assert.deepEqual(versions.map((v) => [v.key, v.size, v.isLatest, v.isDeleteMarker]), [
      ["docs/a.txt", 4, true, false],
      ["docs/a.txt", 3, false, false],
    ]);
    if (v1.versionId && v2.versionId) {
      assert.deepEqual(versions.map((v) => v.versionId), [v2.versionId, v1.versionId]);
    }
    assert.notEqual(versions[0].versionId, versions[1].versionId);
    assert.ok(versions[0].lastModified.getTime() >= versions[1].lastModified.getTime());

    const oldId = versions[1].versionId;
    const old = await store.get(bucket, "docs/a.txt", oldId);
    assert.ok(old);
    assert.equal((await readAll(old.body)).toString(), "one");
    assert.equal(old.versionId, oldId);
    const oldHead = await store.head(bucket, "docs/a.txt", oldId);
    assert.equal(oldHead?.size, 3);
    const current = await store.get(bucket, "docs/a.txt");
    assert.ok(current);
    assert.equal((await readAll(current.body)).toString(), "two!");
    assert.equal(current.versionId, versions[0].versionId);

    const all = await collect(store.listVersions(bucket, "docs/"));
    assert.deepEqual(all.map((v) => v.key), ["docs/a.txt", "docs/a.txt", "docs/b.txt"]);
  }, skip.versioning);

  register("requestCounts grows with the requests made", async ({ store, bucket }) => {
    const before = store.requestCounts();
    await store.head(bucket, "missing");
    await store.put(putRequestFor(bucket, "c.txt", Buffer.from("c")));
    await collect(store.list(bucket, ""));
    const got = await store.get(bucket, "c.txt");
    if (got) await readAll(got.body);
    const after = store.requestCounts();
    assert.equal(delta(before, after, "HeadObject"), 1);
    assert.equal(delta(before, after, "PutObject"), 1);
    assert.equal(delta(before, after, "ListObjectsV2"), 1);
    assert.equal(delta(before, after, "GetObject"), 1);
    // A copy: callers cannot change the counters.
    after.PutObject = 1_000_000;
    assert.notEqual(store.requestCounts().PutObject, 1_000_000);
  });
}
