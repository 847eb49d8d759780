import assert from "node:assert/strict";
import { buildPlan } from "./plan.ts";
import type { Listings } from "./listing.ts";
import { FileList } from "./scan.ts";
import { stateKey } from "../core/ports.ts";
import type { Category, StateRow } from "../core/types.ts";
import { sha256Hex } from "../core/digest.ts";
import { MemoryStore } from "../../tests/fakes/memory_store.ts";

const DOCS: Category = { name: "documents", bucket: "docs", extensions: [".txt"] };
const PHOTOS: Category = { name: "photos", bucket: "pics", extensions: [".jpg"] };
const OLD = 1_600_000_000_000; // file times long before the rows were recorded
const RECORDED = OLD + 86_400_000;

/** A file of the plan's tree: its stat, and what the state and the bucket know of it. */
interface Case {
  path: string;
  size: number;
  content?: string;
  row?: Partial<StateRow> | "none";
  remoteSize?: number | "none";
}

function setUp(cases: Case[]) {
  const root = Deno.makeTempDirSync({ prefix: "s3b-plan-" });
  const files = new FileList(root);
  const rows = new Map<string, StateRow>();
  const listed = new Map<string, Map<string, number>>([["docs", new Map()], ["pics", new Map()]]);
  cases.forEach((c, i) => {
    if (c.content !== undefined) Deno.writeTextFileSync(`${root}/${c.path}`, c.content);
    // A file read to decide must be the one the scan saw: its real inode and device.
    const st = c.content === undefined ? undefined : Deno.lstatSync(`${root}/${c.path}`);
    const ino = st?.ino ?? 100 + i;
    files.add(c.path, c.size, OLD, OLD, ino, st?.dev ?? 0);
    const bucket = c.path.endsWith(".jpg") ? "pics" : "docs";
    if (c.row !== "none") {
      rows.set(stateKey(bucket, c.path), {
        bucket,
        key: c.path,
        size: c.size,
        mtimeMs: OLD,
        ctimeMs: OLD,
        ino,
        sha256: c.content === undefined ? "0".repeat(64) : sha256Hex(enc(c.content)),
        recordedAtMs: RECORDED,
        ...c.row,
      });
    }
    if (c.remoteSize !== "none") listed.get(bucket)!.set(c.path, c.remoteSize ?? c.size);
  });
  files.sort();
  return { root, files, rows, listed };
}

const enc = (s: string) => new TextEncoder().encode(s);

async function plan(
  cases: Case[],
  listingsOf?: (l: Map<string, Map<string, number>>) => Listings<number>,
) {
  const { root, files, rows, listed } = setUp(cases);
  const lines: string[] = [];
  const log = (m: string) => lines.push(m);
  try {
    const p = await buildPlan({
      scan: {
        files,
        excluded: [],
        symlinks: [],
        special: [],
        invalidNames: [],
        failed: [],
        unseen: [],
      },
      categories: [DOCS, PHOTOS],
      unmatched: "skip",
      keyPrefix: "",
      state: rows,
      checksum: false,
      concurrency: 4,
      listings: Promise.resolve(listingsOf ? listingsOf(listed) : listed),
    }, {
      store: new MemoryStore(),
      logger: { debug: log, info: log, verbose: log, warn: log, error: log },
    });
    return { p, lines };
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

Deno.test("buildPlan: each file lands in one place; fast-path skips are counted and logged", async () => {
  const { p, lines } = await plan([
    { path: "same.txt", size: 4 },
    { path: "same.jpg", size: 9 },
    { path: "new.txt", size: 3, row: "none", remoteSize: "none" },
    { path: "gone.txt", size: 3, remoteSize: "none" },
    { path: "grown.txt", size: 5, remoteSize: 4 },
    { path: "touched.txt", size: 4, content: "same", row: { mtimeMs: OLD - 1 } },
    {
      path: "edited.txt",
      size: 4,
      content: "new!",
      row: { ctimeMs: OLD - 1, sha256: "ab".repeat(32) },
    },
    { path: "notes.md", size: 1, row: "none", remoteSize: "none" },
  ]);
  assert.equal(p.skipped, 2);
  assert.deepEqual(p.skippedByBucket, new Map([["pics", 1], ["docs", 1]]));
  assert.deepEqual(lines, [
    "File same.jpg already up to date in pics, skipping.",
    "File same.txt already up to date in docs, skipping.",
  ]);
  const items = p.items.map((i) => [i.key, i.bucket, i.action, i.reason, !!i.refreshState]);
  assert.deepEqual(items, [
    ["edited.txt", "docs", "upload", "changed", false],
    ["gone.txt", "docs", "upload", "missing-remote", false],
    ["grown.txt", "docs", "upload", "size-differs", false],
    ["new.txt", "docs", "upload", "new", false],
    ["touched.txt", "docs", "skip", "metadata-changed, same content", true],
  ]);
  assert.equal(p.hashed, 2, "only the files whose metadata left doubt were read");
  assert.deepEqual(p.unmatched, ["notes.md"]);
  assert.deepEqual(p.failed, []);
  assert.deepEqual(Object.fromEntries(p.present), {
    docs: ["edited.txt", "gone.txt", "grown.txt", "new.txt", "same.txt", "touched.txt"],
    pics: ["same.jpg"],
  });
});

Deno.test("buildPlan: a bucket that cannot be listed holds back its files, counted once", async () => {
  const { p, lines } = await plan(
    [
      { path: "a.txt", size: 1 },
      { path: "b.jpg", size: 1 },
      { path: "c.txt", size: 1 },
      { path: "d.jpg", size: 1 },
    ],
    (l) =>
      new Map<string, Map<string, number> | Error>([["docs", l.get("docs")!], [
        "pics",
        new Error("AccessDenied"),
      ]]),
  );
  assert.equal(p.skipped, 2);
  // Neither a failure per file nor a log line per file: the run reports the bucket once.
  assert.deepEqual(p.failed, []);
  assert.deepEqual(lines.filter((l) => l.includes("b.jpg") || l.includes("d.jpg")), []);
  assert.equal(p.unlistable.get("pics")?.files, 2);
  assert.equal(p.unlistable.get("pics")?.error.message, "AccessDenied");
  assert.deepEqual(p.items, []);
});
