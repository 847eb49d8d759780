import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import { DryRunStore } from "./dry_run_store.ts";
import { digestBytes } from "../digest.ts";
import type { ObjectStore, PutRequest } from "../ports.ts";
import { MemoryStore } from "../../tests/fakes/memory_store.ts";

function request(bucket: string, key: string, text: string): PutRequest {
  const bytes = Buffer.from(text);
  const digest = digestBytes(bytes, 1024);
  return {
    bucket,
    key,
    size: bytes.length,
    open: (s, e) => Readable.from([bytes.subarray(s, e)]),
    digest,
    contentType: "text/plain; charset=utf-8",
    metadata: { sha256: digest.sha256Hex },
  };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

Deno.test("DryRunStore.put records the write and never reaches the inner store", async () => {
  const inner = new MemoryStore();
  inner.createBucket("docs");
  const dry = new DryRunStore(inner);
  assert.deepEqual(await dry.put(request("docs", "a.txt", "hello")), {});
  assert.deepEqual(dry.wouldPut, ["docs/a.txt"]);
  assert.deepEqual(inner.keys("docs"), []);
  assert.equal(inner.requestCounts().PutObject, undefined);
  assert.equal(
    await (dry as ObjectStore).requestRestore("docs", "a.txt", undefined, {
      days: 1,
      tier: "Bulk",
    }),
    "started",
  );
  assert.deepEqual(dry.wouldRestore, ["docs/a.txt"]);
  assert.equal(inner.requestCounts().RestoreObject, undefined);
});

Deno.test("DryRunStore reads pass through to the inner store", async () => {
  const inner = new MemoryStore();
  inner.createBucket("docs");
  const { versionId } = await inner.put(request("docs", "a.txt", "v1"));
  await inner.put(request("docs", "a.txt", "v2"));
  const dry = new DryRunStore(inner);
  assert.deepEqual((await collect(dry.list("docs", ""))).map((o) => o.key), ["a.txt"]);
  assert.equal((await dry.head("docs", "a.txt"))?.size, 2);
  const old = await dry.get("docs", "a.txt", versionId);
  assert.ok(old);
  assert.equal(Buffer.concat(await collect(old.body)).toString(), "v1");
  assert.equal((await collect(dry.listVersions("docs", ""))).length, 2);
  assert.equal(await dry.head("docs", "missing"), undefined);
  assert.deepEqual(dry.requestCounts(), inner.requestCounts());
  assert.deepEqual(dry.requestCounts(), {
    PutObject: 2,
    ListObjectsV2: 1,
    HeadObject: 2,
    GetObject: 1,
    ListObjectVersions: 1,
  });
});
