/** restore of a dump: checked against the SHA-256 the run manifest recorded (not its metadata). */
import assert from "node:assert/strict";
import { MemoryStore } from "../../tests/fakes/memory_store.ts";
import { FixedClock } from "../../tests/fakes/fixed_clock.ts";
import { configFromToml } from "../config/config.ts";
import { sha256Hex } from "../core/digest.ts";
import { runRestore } from "./restore.ts";
import { encodeManifest, putManifest } from "../core/manifest.ts";
import { manifestKey } from "../core/layout.ts";
import type { Logger } from "../core/ports.ts";

const config = configFromToml({
  source: "/src",
  state_dir: "/state",
  categories: { database: { bucket: "dbs", extensions: [".sql"] } },
}, "/");

function logger() {
  const warnings: string[] = [];
  const log: Logger = {
    debug() {},
    verbose() {},
    info() {},
    warn: (m) => void warnings.push(m),
    error() {},
  };
  return { log, warnings };
}

async function putDump(store: MemoryStore, text: string) {
  const bytes = new TextEncoder().encode(text);
  const out = await store.putStream({
    bucket: "dbs",
    key: "dumps/prod.sql",
    body: (async function* () {
      yield bytes;
    })(),
    contentType: "application/sql",
    metadata: { dump: "prod", mtime: "2026-03-01T02:00:00.000Z" },
  });
  return { sha256: sha256Hex(bytes), versionId: out.versionId, size: bytes.length };
}

async function setup() {
  const clock = new FixedClock("2026-03-01T02:00:00Z");
  const store = new MemoryStore({ clock });
  store.createBucket("dbs");
  const night1 = await putDump(store, "CREATE TABLE t (x int);\n");
  await putManifest(
    store,
    "dbs",
    manifestKey(""),
    encodeManifest(["dumps/prod.sql"], [{ key: "dumps/prod.sql", ...night1 }]),
  );
  return { clock, store };
}

function restore(store: MemoryStore, to: string, log: Logger) {
  return runRestore(config, { store, logger: log }, {
    to,
    at: new Date("2026-03-05T00:00:00Z"),
    overwrite: false,
    dryRun: false,
    concurrency: 2,
  });
}

Deno.test("restore: a dump is checked against its manifest record, and restored", async () => {
  const { store } = await setup();
  const to = Deno.makeTempDirSync();
  const { log, warnings } = logger();
  try {
    const r = await restore(store, to, log);
    assert.equal(r.outcome, "ok", JSON.stringify(r.report));
    assert.equal(Deno.readTextFileSync(`${to}/dumps/prod.sql`), "CREATE TABLE t (x int);\n");
    assert.deepEqual(warnings, []);
  } finally {
    Deno.removeSync(to, { recursive: true });
  }
});

Deno.test("restore: a dump whose bytes differ from its manifest record is refused", async () => {
  const { store } = await setup();
  store.corrupt("dbs", "dumps/prod.sql", new TextEncoder().encode("CREATE TABLE t (y int);\n"));
  const to = Deno.makeTempDirSync();
  try {
    const r = await restore(store, to, logger().log);
    assert.equal(r.outcome, "partial");
    assert.equal(r.report.failures.length, 1);
    assert.match(r.report.failures[0].error, /^checksum mismatch: content SHA-256 \w+ differs/);
    assert.throws(() => Deno.statSync(`${to}/dumps/prod.sql`), "nothing left behind");
  } finally {
    Deno.removeSync(to, { recursive: true });
  }
});

Deno.test("restore: a newer dump version the manifest does not list is restored, with a warning", async () => {
  const { store, clock } = await setup();
  clock.advance(60_000);
  await putDump(store, "CREATE TABLE t (x int, y int);\n"); // its run's manifest never written
  const to = Deno.makeTempDirSync();
  const { log, warnings } = logger();
  try {
    const r = await restore(store, to, log);
    assert.equal(r.outcome, "ok");
    assert.equal(Deno.readTextFileSync(`${to}/dumps/prod.sql`), "CREATE TABLE t (x int, y int);\n");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /No SHA-256 recorded for the dump dumps\/prod\.sql/);
  } finally {
    Deno.removeSync(to, { recursive: true });
  }
});
