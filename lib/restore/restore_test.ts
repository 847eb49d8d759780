/** restore's decisions against the versioned in-memory store: Glacier, point in time, safety. */
import assert from "node:assert/strict";
import { MemoryStore } from "../../tests/fakes/memory_store.ts";
import { FixedClock } from "../../tests/fakes/fixed_clock.ts";
import { configFromToml } from "../config/config.ts";
import { bytesSource } from "../core/digest.ts";
import { formatRestoreReport, runRestore } from "./restore.ts";
import { encodeManifest, putManifest } from "../core/manifest.ts";
import { manifestKey } from "../core/layout.ts";
import type { Logger } from "../core/ports.ts";

const quiet: Logger = { debug() {}, info() {}, verbose() {}, warn() {}, error() {} };
const config = configFromToml({
  source: "/src",
  state_dir: "/state",
  categories: { documents: { bucket: "docs", extensions: [".txt"] } },
}, "/");

async function putText(store: MemoryStore, key: string, text: string) {
  const source = bytesSource(new TextEncoder().encode(text));
  await store.put({
    bucket: "docs",
    key,
    source,
    contentType: "text/plain",
    metadata: { sha256: source.sha256, mtime: "2026-01-01T00:00:00.000Z" },
  });
}

function restore(store: MemoryStore, to: string, at: Date, extra = {}) {
  return runRestore(config, { store, logger: quiet }, {
    to,
    at,
    overwrite: false,
    dryRun: false,
    concurrency: 4,
    ...extra,
  });
}

Deno.test("restore: Glacier objects are requested, reported pending (exit 1), restored on a later rerun", async () => {
  const clock = new FixedClock("2026-03-01T00:00:00Z");
  const store = new MemoryStore({ clock });
  store.createBucket("docs");
  await putText(store, "a.txt", "hot file");
  await putText(store, "old/b.txt", "archived file");
  store.setStorageClass("docs", "old/b.txt", "GLACIER");
  const to = Deno.makeTempDirSync();
  const now = new Date("2026-03-02T00:00:00Z");
  try {
    const first = await restore(store, to, now);
    assert.equal(first.outcome, "partial");
    assert.equal(first.report.restored, 1);
    assert.deepEqual(first.report.pending, [{
      path: "old/b.txt",
      storageClass: "GLACIER",
      wait: "3-5 hours",
    }]);
    assert.equal(store.requestCounts().RestoreObject, 1);
    assert.equal(Deno.readTextFileSync(`${to}/a.txt`), "hot file");
    assert.throws(() => Deno.statSync(`${to}/old/b.txt`));

    // Still thawing: no second restore request, still pending; a.txt is skipped as identical.
    const second = await restore(store, to, now);
    assert.equal(second.outcome, "partial");
    assert.equal(second.report.pending.length, 1);
    assert.equal(second.report.alreadyPresent, 1);
    assert.equal(store.requestCounts().RestoreObject, 1);

    store.completeRestores();
    const third = await restore(store, to, now);
    assert.equal(third.outcome, "ok", JSON.stringify(third.report));
    assert.equal(third.report.restored, 1);
    assert.equal(Deno.readTextFileSync(`${to}/old/b.txt`), "archived file");
    assert.equal(Deno.statSync(`${to}/old/b.txt`).mtime!.toISOString(), "2026-01-01T00:00:00.000Z");
  } finally {
    Deno.removeSync(to, { recursive: true });
  }
});

Deno.test("restore: the newest version at --at; a delete marker then means absent", async () => {
  const clock = new FixedClock("2026-03-01T00:00:00Z");
  const store = new MemoryStore({ clock });
  store.createBucket("docs");
  await putText(store, "a.txt", "v1");
  await putText(store, "gone.txt", "was here");
  clock.set("2026-03-02T00:00:00Z");
  await putText(store, "a.txt", "v2");
  store.deleteObject("docs", "gone.txt");
  const then = Deno.makeTempDirSync();
  const now = Deno.makeTempDirSync();
  try {
    assert.equal((await restore(store, then, new Date("2026-03-01T12:00:00Z"))).outcome, "ok");
    assert.equal(Deno.readTextFileSync(`${then}/a.txt`), "v1");
    assert.equal(Deno.readTextFileSync(`${then}/gone.txt`), "was here");
    assert.equal((await restore(store, now, new Date("2026-03-03T00:00:00Z"))).outcome, "ok");
    assert.equal(Deno.readTextFileSync(`${now}/a.txt`), "v2");
    assert.throws(() => Deno.statSync(`${now}/gone.txt`));
  } finally {
    Deno.removeSync(then, { recursive: true });
    Deno.removeSync(now, { recursive: true });
  }
});

Deno.test("restore: keys that would escape the target folder are refused and reported", async () => {
  const store = new MemoryStore();
  store.createBucket("docs");
  const parent = Deno.makeTempDirSync();
  const to = `${parent}/target`;
  try {
    for (const key of ["../escape.txt", "a/../../escape2.txt", "/abs.txt", "ok.txt", "a//b.txt"]) {
      await putText(store, key, "x");
    }
    const r = await restore(store, to, new Date(Date.now() + 1000));
    assert.equal(r.outcome, "partial");
    assert.equal(r.report.restored, 1);
    assert.deepEqual(
      r.report.failures.map((f) => f.path).sort(),
      [
        "s3://docs//abs.txt",
        "s3://docs/../escape.txt",
        "s3://docs/a//b.txt",
        "s3://docs/a/../../escape2.txt",
      ].sort(),
    );
    assert.deepEqual([...Deno.readDirSync(parent)].map((e) => e.name), ["target"]);
    assert.deepEqual([...Deno.readDirSync(to)].map((e) => e.name), ["ok.txt"]);
  } finally {
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("restore: a checksum mismatch is an error and leaves nothing behind", async () => {
  const store = new MemoryStore();
  store.createBucket("docs");
  await putText(store, "a.txt", "good content");
  store.corrupt("docs", "a.txt", new TextEncoder().encode("evil content"));
  const to = Deno.makeTempDirSync();
  try {
    const r = await restore(store, to, new Date(Date.now() + 1000));
    assert.equal(r.outcome, "partial");
    assert.match(r.report.failures[0].error, /checksum mismatch/);
    assert.deepEqual([...Deno.readDirSync(to)], []);
  } finally {
    Deno.removeSync(to, { recursive: true });
  }
});

Deno.test("restore: bytes restored is the sum of every file restored concurrently", async () => {
  const store = new MemoryStore();
  store.createBucket("docs");
  const sizes = [42, 1000, 7, 123_456, 1, 65_536, 300, 99];
  for (const [i, n] of sizes.entries()) await putText(store, `f${i}.txt`, "z".repeat(n));
  const to = Deno.makeTempDirSync();
  try {
    const r = await restore(store, to, new Date(Date.now() + 1000));
    assert.equal(r.outcome, "ok");
    assert.equal(r.report.restored, sizes.length);
    assert.equal(r.report.bytes, sizes.reduce((a, b) => a + b, 0));
  } finally {
    Deno.removeSync(to, { recursive: true });
  }
});

Deno.test("restore: --at before the first backup says so and exits 1", async () => {
  const clock = new FixedClock("2026-03-01T00:00:00Z");
  const store = new MemoryStore({ clock });
  store.createBucket("docs");
  await putText(store, "a.txt", "v1");
  const to = Deno.makeTempDirSync();
  try {
    const r = await restore(store, to, new Date("2026-02-01T00:00:00Z"));
    assert.equal(r.outcome, "partial");
    assert.equal(r.report.restored, 0);
    assert.match(
      r.report.nothing ?? "",
      /--at 2026-02-01T00:00:00\.000Z is before the first backup \(2026-03-01T00:00:00\.000Z\)/,
    );
    const empty = new MemoryStore({ clock });
    empty.createBucket("docs");
    const none = await restore(empty, to, new Date("2026-03-02T00:00:00Z"));
    assert.equal(none.outcome, "partial");
    assert.match(none.report.nothing ?? "", /nothing has been backed up/);
  } finally {
    Deno.removeSync(to, { recursive: true });
  }
});

Deno.test("restore: a file in the run manifest with no stored version is listed missing, exit 1", async () => {
  const clock = new FixedClock("2026-03-01T00:00:00Z");
  const store = new MemoryStore({ clock });
  store.createBucket("docs");
  await putText(store, "a.txt", "stored");
  // The run's upload of never.txt failed; the manifest still lists what the source held.
  await putManifest(store, "docs", manifestKey(""), encodeManifest(["a.txt", "never.txt"]));
  const to = Deno.makeTempDirSync();
  try {
    const r = await restore(store, to, new Date("2026-03-02T00:00:00Z"));
    assert.equal(r.outcome, "partial");
    assert.equal(r.report.restored, 1);
    assert.deepEqual(r.report.missing, ["never.txt"]);
    assert.match(formatRestoreReport(r.report), /\n {2}never\.txt\n/);
  } finally {
    Deno.removeSync(to, { recursive: true });
  }
});
