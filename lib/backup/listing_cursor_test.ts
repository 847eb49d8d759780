import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ListingCursor, segmentsOf } from "./listing_cursor.ts";
import { bytesSource } from "../core/digest.ts";
import { MemoryStore } from "../../tests/fakes/memory_store.ts";

const obj = (key: string) => ({
  key,
  size: key.length,
  lastModified: new Date(0),
  storageClass: "",
});

Deno.test("segmentsOf: folders and the objects between them, in S3's order", () => {
  const segs = segmentsOf(
    [obj("a-b"), obj("a0"), obj("\u{1F600}"), obj("\uE000"), obj("Z")],
    ["b/", "a/", "\uE000/"],
  );
  assert.deepEqual(segs.map((s) => s.prefix ?? s.keys), [
    ["Z", "a-b"],
    "a/",
    ["a0"],
    "b/",
    ["\uE000"],
    "\uE000/",
    ["\u{1F600}"],
  ]);
});

async function bucketWith(keys: string[], pageSize: number): Promise<MemoryStore> {
  const store = new MemoryStore({ pageSize });
  store.createBucket("b");
  for (const key of keys) {
    await store.put({
      bucket: "b",
      key,
      source: bytesSource(new TextEncoder().encode(key)),
      metadata: {},
      contentType: "text/plain",
    });
  }
  return store;
}

Deno.test("ListingCursor: every key found in order, folders listed each by its prefix", async () => {
  const keys = Array.from({ length: 600 }, (_, i) => `d${i % 20}/f${i}`).concat(["top", "x"]);
  const store = await bucketWith(keys, 10);
  const cursor = await ListingCursor.open(store, "b", "", "x");
  const asked = [...keys, "d1/zz", "nope"].sort((a, b) => (Buffer.compare(
    Buffer.from(a),
    Buffer.from(b),
  )));
  const found: string[] = [];
  for (const k of asked) {
    await cursor.advanceTo(k);
    if (cursor.sizeOf(k) === k.length) found.push(k);
  }
  assert.deepEqual(found, asked.filter((k) => keys.includes(k) && k !== "x"), "x is skipped");
  // The first two pages (20 of the 30 keys of d0/), one level listing, then d0/ after what was
  // read (1 page) and each of the 19 other folders (30 keys: 3 pages) by its prefix.
  assert.equal(store.requestCounts().ListObjectsV2, 2 + 1 + 1 + 19 * 3);
});

Deno.test("ListingCursor: a listing that fails mid-way throws from advanceTo", async () => {
  const keys = Array.from({ length: 40 }, (_, i) => `${i < 20 ? "a" : "b"}/${i}`);
  const store = await bucketWith(keys, 5);
  const pages = store.listPages.bind(store);
  store.listPages = async function* (bucket: string, prefix: string, after?: string) {
    let n = 0;
    for await (const page of pages(bucket, prefix, after)) {
      if (prefix === "b/" && ++n > 1) throw new Error("SlowDown");
      yield page;
    }
  };
  const cursor = await ListingCursor.open(store, "b", "", "");
  await cursor.advanceTo("a/9");
  assert.equal(cursor.sizeOf("a/9"), 3);
  await assert.rejects(() => cursor.advanceTo("b/39"), /SlowDown/);
});

// The run manifest (the key left out) sits in its own folder, `.s3backup/`, before the others in
// S3's order: that folder was once taken for a key the first pages had missed, so every bucket of
// more than two pages was read again whole, page after page, and held in memory.
Deno.test("ListingCursor: the left-out key's folder is no sign of disorder", async () => {
  const manifest = "host/.s3backup/manifest.txt.gz";
  const keys = Array.from({ length: 600 }, (_, i) => `host/d${i % 20}/f${i}`).concat(manifest);
  const store = await bucketWith(keys, 10);
  let disordered = false;
  const cursor = await ListingCursor.open(store, "b", "host/", manifest, () => disordered = true);
  const asked = keys.filter((k) => k !== manifest).sort((a, b) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b))
  );
  for (const k of asked) {
    await cursor.advanceTo(k);
    assert.equal(cursor.sizeOf(k), k.length, k);
  }
  assert.equal(disordered, false);
  // Two first pages (the manifest and 19 keys of d0/), the level listing, the 11 other keys of d0/
  // (2 pages), then 19 folders of 3 pages; `.s3backup/` is never listed again.
  assert.equal(store.requestCounts().ListObjectsV2, 2 + 1 + 2 + 19 * 3);
});
