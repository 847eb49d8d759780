/**
 * The ObjectStore contract: what the core relies on from any store, through the port alone
 * (a source with its size, SHA-256 and ranges; never S3's part sizes or MD5s). One suite, run
 * against the in-memory fake, the S3 adapter over fauxqs, and the S3 adapter over Ceph RGW, so
 * the fake cannot drift from the real thing.
 *
 * A runner passes `skip` reasons for what its server cannot do (fauxqs: versioning, checksum
 * verification); those cases are registered as ignored, with the reason in their name.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type {
  ObjectStore,
  PutRequest,
  StreamPutRequest,
  UploadSource,
} from "../../lib/core/ports.ts";
import { bytesSource, sha256OfStream } from "../../lib/core/digest.ts";
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
  };
}

const MiB = 1024 * 1024;

export function putRequestFor(
  bucket: string,
  key: string,
  bytes: Uint8Array,
  opts: { source?: UploadSource; contentType?: string } = {},
): PutRequest {
  const source = opts.source ?? bytesSource(bytes);
  return {
    bucket,
    key,
    source,
    contentType: opts.contentType ?? "application/octet-stream",
    metadata: { sha256: source.sha256, mtime: "2026-02-11T02:00:00.000Z" },
  };
}

export function streamRequestFor(
  bucket: string,
  key: string,
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): StreamPutRequest {
  const iterable = Symbol.asyncIterator in body ? body : (async function* () {
    yield* body as Iterable<Uint8Array>;
  })();
  return {
    bucket,
    key,
    body: iterable,
    contentType: "application/octet-stream",
    metadata: { dump: "small", mtime: "2026-02-11T02:00:00.000Z" },
  };
}

/** The bytes as a pipe gives them: chunks of uneven sizes (64 KiB - 1, then 100,003, …). */
export function* chunked(bytes: Uint8Array): Generator<Uint8Array> {
  const sizes = [65_535, 100_003, 1_048_573];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    yield bytes.subarray(at, at + n);
    at += n;
  }
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
      await store.put(req);

      const head = await store.head(bucket, key);
      assert.ok(head, "head after put");
      assert.equal(head.key, key);
      assert.equal(head.size, bytes.length);
      assert.equal(await store.contentMatches(head, req.source), "match");
      const other = bytesSource(Buffer.from("Meeting notes\nline 2wo\n"));
      assert.equal(await store.contentMatches(head, other), "mismatch", "same size, other bytes");
      assert.equal(head.metadata.sha256, req.source.sha256);
      assert.equal(head.metadata.mtime, "2026-02-11T02:00:00.000Z");
      assert.ok(head.lastModified instanceof Date && !Number.isNaN(head.lastModified.getTime()));

      const got = await store.get(bucket, key);
      assert.ok(got, "get after put");
      assert.equal(got.size, bytes.length);
      assert.equal(got.metadata.sha256, req.source.sha256);
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
      assert.ok(o.etag, o.key);
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

  register(
    "large content (over a part) round-trips; ranges are read, and checked unchanged once",
    async ({ store, bucket }) => {
      const bytes = patternBytes(20 * MiB + 123, 42);
      const whole = bytesSource(bytes);
      let reads = 0;
      let checks = 0;
      const source: UploadSource = {
        ...whole,
        read: (start, end) => {
          reads++;
          return whole.read(start, end);
        },
        assertUnchanged: () => void checks++,
      };
      await store.put(putRequestFor(bucket, "db/big.sql.gz", bytes, { source }));
      assert.ok(reads >= 1);
      assert.equal(checks, 1, "checked once, before the object became visible");
      const head = await store.head(bucket, "db/big.sql.gz");
      assert.ok(head);
      assert.equal(head.size, bytes.length);
      assert.equal(head.metadata.sha256, whole.sha256);
      assert.equal(await store.contentMatches(head, whole), "match");
      const got = await store.get(bucket, "db/big.sql.gz");
      assert.ok(got);
      assert.equal(await sha256OfStream(got.body), whole.sha256);

      // A source that changed: the upload is aborted before completing, nothing is stored.
      await assert.rejects(
        store.put(putRequestFor(bucket, "db/changed.sql", bytes, {
          source: {
            ...whole,
            assertUnchanged: () => {
              throw new Error("file changed while it was uploaded");
            },
          },
        })),
        /file changed/,
      );
      assert.equal(await store.head(bucket, "db/changed.sql"), undefined);
    },
  );

  register(
    "a source that cannot be read fails the put and stores nothing",
    async ({ store, bucket }) => {
      const bytes = patternBytes(12 * MiB, 3);
      const whole = bytesSource(bytes);
      const failing: UploadSource = {
        ...whole,
        read: (start, end) =>
          end > MiB ? Promise.reject(new Error("permission denied")) : whole.read(start, end),
      };
      await assert.rejects(
        store.put(putRequestFor(bucket, "db/unreadable.sql", bytes, { source: failing })),
        /permission denied/,
      );
      assert.equal(await store.head(bucket, "db/unreadable.sql"), undefined);
    },
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

  register(
    "putStream: content of unknown size round-trips, one part or several, with its metadata",
    async ({ store, bucket }) => {
      const small = await store.putStream(streamRequestFor(bucket, "dumps/small.sql", [
        Buffer.from("CREATE TABLE t (x int);\n"),
        new Uint8Array(),
        Buffer.from("INSERT INTO t VALUES (1);\n"),
      ]));
      assert.equal(small.size, 50);
      const got = await store.get(bucket, "dumps/small.sql");
      assert.ok(got);
      assert.equal(
        (await readAll(got.body)).toString(),
        "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n",
      );
      assert.equal(got.metadata.dump, "small");

      // Over two 8 MiB parts, in chunks that never line up with a part's end.
      const bytes = patternBytes(20 * MiB + 123, 7);
      const big = await store.putStream(streamRequestFor(bucket, "dumps/big.dump", chunked(bytes)));
      assert.equal(big.size, bytes.length);
      const head = await store.head(bucket, "dumps/big.dump");
      assert.equal(head?.size, bytes.length);
      assert.equal(head?.metadata.dump, "small");
      const back = await store.get(bucket, "dumps/big.dump");
      assert.ok(back);
      assert.equal(await sha256OfStream(back.body), bytesSource(bytes).sha256);
    },
  );

  register(
    "putStream: a body that throws, early or after parts were sent, stores nothing",
    async ({ store, bucket, versioned }) => {
      const key = "dumps/prod.dump";
      await store.putStream(streamRequestFor(bucket, key, [Buffer.from("last night's dump")]));
      const broken = (after: number) =>
        (async function* () {
          yield* chunked(patternBytes(after, 9));
          throw new Error("pg_dump exited with code 1");
        })();
      for (const after of [1000, 12 * MiB]) {
        await assert.rejects(
          store.putStream(streamRequestFor(bucket, key, broken(after))),
          /pg_dump exited with code 1/,
          `a body that throws after ${after} bytes`,
        );
      }
      const got = await store.get(bucket, key);
      assert.ok(got);
      assert.equal((await readAll(got.body)).toString(), "last night's dump");
      if (versioned) {
        const versions = await collect(store.listVersions(bucket, key));
        assert.equal(versions.length, 1, "no version was made by the failed uploads");
      }
    },
  );

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
