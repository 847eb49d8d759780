/** The ObjectStore contract against the in-memory fake, plus the fake's own test helpers. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { MemoryStore } from "../fakes/memory_store.ts";
import { FixedClock } from "../fakes/fixed_clock.ts";
import { RecordingNotifier } from "../fakes/recording_notifier.ts";
import { objectStoreContract, putRequestFor } from "./object_store_contract.ts";

let n = 0;
objectStoreContract("MemoryStore", () => {
  const store = new MemoryStore();
  const bucket = `contract-${++n}`;
  store.createBucket(bucket);
  return Promise.resolve({
    store,
    bucket,
    versioned: true,
    cleanup: () => Promise.resolve(),
    contentType: (key) => Promise.resolve(store.contentTypeOf(bucket, key)),
  });
});

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

Deno.test("MemoryStore: lastModified from the clock; delete markers hide the object", async () => {
  const clock = new FixedClock("2026-02-11T02:00:00Z");
  const store = new MemoryStore({ clock });
  store.createBucket("b");
  const v1 = await store.put(putRequestFor("b", "k.txt", Buffer.from("one")));
  clock.advance(60_000);
  store.deleteObject("b", "k.txt");
  assert.equal(await store.head("b", "k.txt"), undefined);
  assert.equal(await store.get("b", "k.txt"), undefined);
  assert.deepEqual(await collect(store.list("b", "")), []);
  const versions = await collect(store.listVersions("b", ""));
  assert.deepEqual(
    versions.map((v) => [v.isDeleteMarker, v.isLatest, v.lastModified.toISOString()]),
    [[true, true, "2026-02-11T02:01:00.000Z"], [false, false, "2026-02-11T02:00:00.000Z"]],
  );
  // The old version is still there.
  const old = await store.get("b", "k.txt", v1.versionId);
  assert.ok(old);
  assert.equal(await text(old.body), "one");
  assert.equal(old.lastModified.toISOString(), "2026-02-11T02:00:00.000Z");
  // Deleting behind the tool's back is not a request the tool made.
  assert.equal(store.requestCounts().DeleteObject, undefined);
});

Deno.test("MemoryStore.corrupt changes the bytes, keeps metadata and ETag", async () => {
  const store = new MemoryStore();
  store.createBucket("b");
  const req = putRequestFor("b", "k.txt", Buffer.from("good"));
  await store.put(req);
  const before = await store.head("b", "k.txt");
  store.corrupt("b", "k.txt", Buffer.from("evil"));
  const after = await store.get("b", "k.txt");
  assert.ok(after && before);
  assert.equal(await text(after.body), "evil");
  assert.equal(after.etag, before.etag);
  assert.equal(after.metadata.sha256, req.source.sha256);
});

Deno.test("MemoryStore: Glacier objects must be restored before a GET", async () => {
  const clock = new FixedClock("2026-02-11T02:00:00Z");
  const store = new MemoryStore({ clock });
  store.createBucket("b");
  await store.put(putRequestFor("b", "old.pdf", Buffer.from("archived")));
  await store.put(putRequestFor("b", "hot.pdf", Buffer.from("standard")));
  store.setStorageClass("b", "old.pdf", "GLACIER");
  assert.equal(
    (await collect(store.list("b", ""))).find((o) => o.key === "old.pdf")?.storageClass,
    "GLACIER",
  );

  await assert.rejects(store.get("b", "old.pdf"), { name: "InvalidObjectState" });
  const opts = { days: 7, tier: "Bulk" };
  assert.equal(await store.requestRestore("b", "old.pdf", undefined, opts), "started");
  assert.deepEqual((await store.head("b", "old.pdf"))?.restore, {
    ongoing: true,
    expiry: undefined,
  });
  assert.equal(await store.requestRestore("b", "old.pdf", undefined, opts), "in-progress");
  await assert.rejects(store.get("b", "old.pdf"), { name: "InvalidObjectState" });

  assert.equal(store.completeRestores(), 1);
  assert.deepEqual((await store.head("b", "old.pdf"))?.restore, {
    ongoing: false,
    expiry: new Date("2026-02-18T02:00:00Z"),
  });
  const got = await store.get("b", "old.pdf");
  assert.ok(got);
  assert.equal(await text(got.body), "archived");
  assert.equal(await store.requestRestore("b", "old.pdf", undefined, opts), "ready");

  // Only archived objects can be restored; missing ones are NoSuchKey.
  await assert.rejects(store.requestRestore("b", "hot.pdf", undefined, opts), {
    name: "InvalidObjectState",
  });
  await assert.rejects(store.requestRestore("b", "nope.pdf", undefined, opts), {
    name: "NoSuchKey",
  });
  assert.equal(store.requestCounts().RestoreObject, 5);
});

Deno.test("MemoryStore: SHA-256 mismatch, short body and missing buckets are refused", async () => {
  const store = new MemoryStore();
  store.createBucket("b");
  const bytes = Buffer.from("content");
  const req = putRequestFor("b", "k", bytes);
  await assert.rejects(
    store.put({ ...req, source: { ...req.source, sha256: "0".repeat(64) } }),
    { name: "BadDigest" },
  );
  await assert.rejects(
    store.put({ ...req, source: { ...req.source, size: bytes.length + 1 } }),
    { name: "IncompleteBody" },
  );
  await assert.rejects(store.put({ ...req, bucket: "nope" }), { name: "NoSuchBucket" });
  await assert.rejects(collect(store.list("nope", "")), { name: "NoSuchBucket" });
  assert.deepEqual(store.keys("b"), []);
});

Deno.test("MemoryStore.failNext injects a failure on the next request of an operation", async () => {
  const store = new MemoryStore();
  store.createBucket("b");
  const boom = Object.assign(new Error("slow down"), { name: "SlowDown" });
  store.failNext("PutObject", boom, { key: "a" });
  await store.put(putRequestFor("b", "other", Buffer.from("x"))); // another key: unaffected
  await assert.rejects(store.put(putRequestFor("b", "a", Buffer.from("x"))), (e) => e === boom);
  await store.put(putRequestFor("b", "a", Buffer.from("x"))); // once only
  assert.deepEqual(store.keys("b"), ["a", "other"]);
  assert.equal(store.requestCounts().PutObject, 3);
});

Deno.test("FixedClock and RecordingNotifier", async () => {
  const clock = new FixedClock("2026-02-11T02:00:00Z", { stepMs: 250 });
  assert.equal(clock.now().toISOString(), "2026-02-11T02:00:00.000Z");
  assert.equal(clock.now().toISOString(), "2026-02-11T02:00:00.250Z");
  clock.advance(1000);
  assert.equal(clock.peekMs(), Date.parse("2026-02-11T02:00:01.500Z"));
  clock.set("2030-01-01T00:00:00Z");
  assert.equal(clock.now().getUTCFullYear(), 2030);
  assert.throws(() => new FixedClock("not a date"));

  const n = new RecordingNotifier();
  assert.throws(() => n.last());
  await n.publish("s", "m");
  assert.deepEqual(n.last(), { subject: "s", message: "m" });
  n.failWith = new Error("SNS down");
  await assert.rejects(n.publish("s2", "m2"), /SNS down/);
  assert.equal(n.published.length, 2);
});
