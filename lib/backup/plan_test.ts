import assert from "node:assert/strict";
import { type PlanInput, startPlan } from "./plan.ts";
import { SqliteStateStore } from "../adapters/sqlite_state.ts";
import type { Category, Plan, PlanItem, StateRow } from "../core/types.ts";
import { sha256Hex } from "../core/digest.ts";
import { bytesSource } from "../core/digest.ts";
import { compareKeys } from "../core/key_order.ts";
import { decodeManifest } from "../core/manifest.ts";
import { MemoryStore } from "../../tests/fakes/memory_store.ts";

const DOCS: Category = { name: "documents", bucket: "docs", extensions: [".txt"] };
const PHOTOS: Category = { name: "photos", bucket: "pics", extensions: [".jpg"] };
const OLD = 1_600_000_000_000; // file times long before the rows were recorded

/** A file of the plan's tree, and what the state and the bucket know of it. */
interface Case {
  path: string;
  content: string;
  /** The state row (over the file's real stat); "none": no row. */
  row?: Partial<StateRow> | "none";
  /** The listed object's size; "none": not in the bucket. */
  remoteSize?: number | "none";
}

const enc = (s: string) => new TextEncoder().encode(s);
const bucketOf = (path: string) => (path.endsWith(".jpg") ? "pics" : "docs");

async function setUp(cases: Case[], pageSize = 1000) {
  const root = Deno.makeTempDirSync({ prefix: "s3b-plan-" });
  const stateDir = Deno.makeTempDirSync({ prefix: "s3b-plan-state-" });
  const store = new MemoryStore({ pageSize });
  store.createBucket("docs");
  store.createBucket("pics");
  const state = SqliteStateStore.open(stateDir);
  for (const c of cases) {
    const abs = `${root}/${c.path}`;
    Deno.mkdirSync(abs.slice(0, abs.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(abs, c.content);
    Deno.utimeSync(abs, new Date(OLD), new Date(OLD));
    const st = Deno.lstatSync(abs);
    const bucket = bucketOf(c.path);
    if (c.row !== "none") {
      state.record({
        bucket,
        key: c.path,
        size: st.size,
        mtimeMs: st.mtime!.getTime(),
        ctimeMs: st.ctime!.getTime(),
        ino: st.ino!,
        sha256: sha256Hex(enc(c.content)),
        recordedAtMs: Date.now() + 60_000, // well after the file's times: not racily clean
        ...c.row,
      });
    }
    if (c.remoteSize !== "none") {
      const body = enc("x".repeat(c.remoteSize ?? st.size));
      await store.put({
        bucket,
        key: c.path,
        source: bytesSource(body),
        metadata: {},
        contentType: "text/plain",
      });
    }
  }
  state.flush();
  return { root, stateDir, store, state };
}

async function plan(
  cases: Case[],
  over: Partial<PlanInput> & { pageSize?: number; setUp?: (s: MemoryStore) => void } = {},
) {
  const { root, stateDir, store, state } = await setUp(cases, over.pageSize);
  over.setUp?.(store);
  const lines: string[] = [];
  const log = (m: string) => lines.push(m);
  try {
    const planned = await startPlan({
      roots: [{ path: root, prefix: "" }],
      several: false,
      exclude: [],
      ownDirs: [],
      categories: [DOCS, PHOTOS],
      unmatched: "skip",
      keyPrefix: "",
      checksum: false,
      prune: true,
      ...over,
    }, {
      store,
      state,
      logger: { debug: log, info: log, verbose: log, warn: log, error: log },
    });
    const items: PlanItem[] = [];
    for await (const item of planned.items) items.push(item);
    const manifests = new Map(
      [...planned.manifests].map(([b, m]) => [b, [...decodeManifest(m.finish().bytes())]]),
    );
    const rows = (bucket: string) => state.rowsBetween(bucket, undefined).map((r) => r.key);
    return { p: planned.plan, items, lines, manifests, rows, store };
  } finally {
    state.close();
    Deno.removeSync(root, { recursive: true });
    Deno.removeSync(stateDir, { recursive: true });
  }
}

const brief = (items: PlanItem[]) =>
  items.map((i) => [i.key, i.bucket, i.reason, i.doubt?.expected ?? "-"]);

Deno.test("plan: each file lands in one place; fast-path skips are counted and logged", async () => {
  const { p, items, lines, manifests } = await plan([
    { path: "same.txt", content: "same" },
    { path: "same.jpg", content: "jpeg" },
    { path: "new.txt", content: "new", row: "none", remoteSize: "none" },
    { path: "gone.txt", content: "abc", remoteSize: "none" },
    { path: "grown.txt", content: "12345", remoteSize: 4 },
    { path: "touched.txt", content: "same", row: { mtimeMs: OLD - 1 } },
    { path: "unknown.txt", content: "?", row: "none" },
    { path: "notes.md", content: "m", row: "none", remoteSize: "none" },
  ]);
  assert.equal(p.skipped, 2);
  assert.deepEqual(p.skippedByBucket, new Map([["docs", 1], ["pics", 1]]));
  assert.deepEqual(lines.sort(), [
    "File same.jpg already up to date in pics, skipping.",
    "File same.txt already up to date in docs, skipping.",
  ]);
  assert.deepEqual(brief(items), [
    ["gone.txt", "docs", "missing-remote", "-"],
    ["grown.txt", "docs", "size-differs", "-"],
    ["new.txt", "docs", "new", "-"],
    ["touched.txt", "docs", "metadata-changed", "state"],
    ["unknown.txt", "docs", "no-state", "object"],
  ]);
  assert.equal(p.hashed, 2, "only the files whose metadata left doubt are to be read");
  assert.deepEqual(p.toUpload, { files: 3, bytes: 3 + 5 + 3 });
  assert.deepEqual(p.unmatched, ["notes.md"]);
  assert.deepEqual(p.failed, []);
  assert.equal(p.walked, true);
  assert.deepEqual(Object.fromEntries(manifests), {
    docs: ["gone.txt", "grown.txt", "new.txt", "same.txt", "touched.txt", "unknown.txt"],
    pics: ["same.jpg"],
  });
});

Deno.test("plan: a bucket that cannot be listed holds back its files, counted once", async () => {
  const { p, items, lines, manifests } = await plan(
    [
      { path: "a.txt", content: "a" },
      { path: "b.jpg", content: "b" },
      { path: "c.txt", content: "c" },
      { path: "d.jpg", content: "d" },
    ],
    {
      setUp: (s) =>
        s.failNext("ListObjectsV2", new Error("AccessDenied"), { times: 10 }) as unknown as void,
      categories: [PHOTOS],
    },
  );
  assert.equal(p.unlistable.get("pics")?.files, 2);
  assert.equal(p.unlistable.get("pics")?.error.message, "AccessDenied");
  // Neither a failure per file nor a log line per file: the run reports the bucket once.
  assert.deepEqual(p.failed, []);
  assert.deepEqual(lines, []);
  assert.deepEqual(items, []);
  assert.equal(manifests.size, 0, "no manifest for a bucket whose files were not looked at");
});

/** Names whose S3 (UTF-8) order differs from JavaScript's, and folders around "-" and "/". */
const ODD = [
  "a-b.txt",
  "a/x.txt",
  "a\uE000.txt",
  "a\u{1F600}.txt",
  "ab/c.txt",
  "\uFEFFbom.txt",
  "Z.txt",
];

Deno.test("plan: the walk and the listing merge in S3's order over many pages and folders", async () => {
  const many = Array.from({ length: 240 }, (_, i) => `f${String(i % 7)}/n${i}.txt`);
  const cases: Case[] = [...ODD, ...many].map((path) => ({ path, content: path }));
  const { p, items, manifests } = await plan(cases, { pageSize: 7 });
  // Every file is listed, found unchanged, skipped: none is mistaken for absent.
  assert.deepEqual(brief(items), []);
  assert.equal(p.skipped, cases.length);
  assert.deepEqual(manifests.get("docs"), cases.map((c) => c.path).sort(compareKeys));
});

for (const level of [true, false]) {
  Deno.test(
    `plan: a server that lists out of S3's order is read whole, nothing is missed (${
      level ? "folders listed one by one" : "one listing"
    })`,
    async () => {
      const inD = ["B.txt", "a.txt", "Z.txt", "c.txt", "_x.txt", "a-b.txt", "a\u{1F600}.txt"];
      const cases: Case[] = [...ODD, ...inD.map((n) => `d/${n}`), "b.txt", "c.txt"]
        .map((path) => ({ path, content: path }));
      const { p, items, lines } = await plan(cases, {
        pageSize: 2,
        setUp: (s) => {
          // As an emulator might: the keys in JavaScript's locale order instead of S3's.
          const pages = s.listPages.bind(s);
          s.listPages = async function* (bucket: string, prefix: string) {
            const all = [];
            for await (const page of pages(bucket, prefix)) all.push(...page);
            all.sort((a, b) => a.key.localeCompare(b.key));
            for (let i = 0; i < all.length; i += 2) yield all.slice(i, i + 2);
          };
          if (!level) (s as { listLevel?: unknown }).listLevel = undefined;
        },
      });
      assert.deepEqual(brief(items), []);
      assert.equal(p.skipped, cases.length);
      assert.ok(lines.some((l) => /out of S3's order/.test(l)), lines.join("\n"));
    },
  );
}

Deno.test("plan: state rows of files that are gone are pruned; unseen folders keep theirs", async () => {
  const cases: Case[] = [
    { path: "keep/a.txt", content: "a" },
    { path: "keep/b.txt", content: "b" },
    { path: "z.txt", content: "z" },
  ];
  const { root, stateDir, store, state } = await setUp(cases);
  const gone = (key: string): StateRow => ({
    bucket: "docs",
    key,
    size: 1,
    mtimeMs: OLD,
    ctimeMs: OLD,
    ino: 1,
    sha256: "0".repeat(64),
    recordedAtMs: OLD,
  });
  const keys = ["0-first.txt", "keep/a0.txt", "keep/zz.txt", "locked/old.txt", "zz.txt"];
  for (const k of keys) state.record(gone(k));
  state.record({ ...gone("keep/a.txt"), bucket: "pics" }); // another bucket's row: not this walk's
  state.flush();
  try {
    const run = async (prune: boolean) => {
      const planned = await startPlan({
        roots: [{ path: root, prefix: "" }],
        several: false,
        exclude: [],
        ownDirs: [],
        categories: [DOCS],
        unmatched: "skip",
        keyPrefix: "",
        checksum: false,
        prune,
        // As for a tree that could not be read (a missing [[sources]] tree, a locked folder).
        unseen: ["locked/"],
      }, { store, state, logger: { debug() {}, info() {}, verbose() {}, warn() {}, error() {} } });
      for await (const _ of planned.items);
      return planned.plan as Plan;
    };
    const dry = await run(false);
    assert.equal(dry.pruned, 0, "a dry run deletes nothing");
    assert.equal(state.rowsBetween("docs", undefined).length, 3 + keys.length);
    const p = await run(true);
    assert.equal(p.pruned, 4);
    assert.deepEqual(state.rowsBetween("docs", undefined).map((r) => r.key), [
      "keep/a.txt",
      "keep/b.txt",
      "locked/old.txt",
      "z.txt",
    ]);
    assert.equal(state.rowsBetween("pics", undefined).length, 1);
  } finally {
    state.close();
    Deno.removeSync(root, { recursive: true });
    Deno.removeSync(stateDir, { recursive: true });
  }
});
