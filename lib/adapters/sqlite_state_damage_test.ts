/**
 * The local state under damage (issue 13, item 4): a database with damaged pages, and a disk
 * that fills up under state_dir. Neither may fail a run, lose the record of an upload silently,
 * or hide the cause. Full disks are real (a small tmpfs), not simulated.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteStateStore, STATE_FILE } from "./sqlite_state.ts";
import type { StateRow } from "../core/types.ts";
import { checkpoint, leafPages, rootPage, smashCells } from "../../tests/support/sqlite_pages.ts";
import {
  CAN_MOUNT_TMPFS,
  fillTmpfs,
  mountTmpfs,
  resizeTmpfs,
  unmountTmpfs,
} from "../../tests/support/tmpfs.ts";

function row(i: number, over: Partial<StateRow> = {}): StateRow {
  return {
    bucket: "acme-docs",
    key: `dir/sub/file-${String(i).padStart(5, "0")}.pdf`,
    size: 1000 + i,
    mtimeMs: 1_770_000_000_000 + i,
    ctimeMs: 1_770_000_001_000 + i,
    ino: 10_000 + i,
    sha256: i.toString(16).padStart(64, "0"),
    recordedAtMs: 1_770_000_100_000 + i,
    ...over,
  };
}

const RUN = {
  startedAt: "2026-02-11T02:00:00.000Z",
  status: "OK",
  uploaded: 1,
  skipped: 2,
  errors: 0,
  bytesUploaded: 3,
  durationMs: 4,
};

/** The file rows of a state.db, after SQLite's own integrity check passed. */
function savedRows(path: string): StateRow[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const check = db.prepare("PRAGMA integrity_check").all().map((r) => Object.values(r)[0]);
    assert.deepEqual(check, ["ok"], `integrity_check of ${path}`);
    return db.prepare(
      `SELECT bucket, key, size, mtime_ms AS mtimeMs, ctime_ms AS ctimeMs, ino, sha256,
         recorded_at_ms AS recordedAtMs FROM files ORDER BY key`,
    ).all().map((r) => ({ ...r }) as unknown as StateRow);
  } finally {
    db.close();
  }
}

function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const base = Deno.makeTempDirSync({ prefix: "s3b-damage-" });
    try {
      await fn(`${base}/state`);
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  };
}

const ROWS = 3000;

/** A state of ROWS file rows, a few meta values and runs, written and closed like a run does. */
function seed(dir: string): string {
  const s = SqliteStateStore.open(dir);
  for (let i = 0; i < ROWS; i++) s.record(row(i));
  for (let i = 0; i < 20; i++) s.setMeta(`manifest:b${i}:k`, `fingerprint-${i}`);
  for (let i = 0; i < 20; i++) s.recordRun(RUN);
  s.close();
  const path = `${dir}/${STATE_FILE}`;
  checkpoint(path);
  return path;
}

/** Each place a run touches the state, and the page whose damage it must notice there. */
const CASES: Array<{
  name: string;
  damage: (path: string) => void;
  use: (s: SqliteStateStore) => void;
}> = [
  {
    name: "planning's key ranges (a leaf of the files table)",
    damage: (p) => smashCells(p, leafPages(p, rootPage(p, "files"))[10]),
    use: (s) => {
      // Rows of a database found corrupt are not trusted: every file is then verified.
      assert.deepEqual(s.rowsBetween("acme-docs", undefined, undefined), []);
    },
  },
  {
    name: "planning's forgetting of gone files (a leaf of the files table)",
    damage: (p) => smashCells(p, leafPages(p, rootPage(p, "files"))[0]),
    use: (s) => s.forget("acme-docs", [row(0).key, row(1).key]),
  },
  {
    name: "a batch flushed during the uploads (a leaf of the files table)",
    damage: (p) => smashCells(p, leafPages(p, rootPage(p, "files"))[0]),
    use: (s) => {
      for (let i = 0; i < 10; i++) s.record(row(i, { sha256: "e".repeat(64) }));
      s.flush();
    },
  },
  {
    name: "getMeta before a manifest is written (the meta table)",
    damage: (p) => smashCells(p, rootPage(p, "meta")),
    use: (s) => assert.equal(s.getMeta("manifest:b3:k"), undefined),
  },
  {
    name: "setMeta after a manifest was written (the meta table)",
    damage: (p) => smashCells(p, rootPage(p, "meta")),
    use: (s) => s.setMeta("manifest:b3:k", "new"),
  },
  {
    name: "recordRun at the end of a run (the runs table)",
    damage: (p) => smashCells(p, rootPage(p, "runs")),
    use: (s) => s.recordRun(RUN),
  },
];

for (const c of CASES) {
  Deno.test(
    `SqliteStateStore: damage found by ${c.name} moves state.db aside and goes on anew`,
    withDir((dir) => {
      const path = seed(dir);
      c.damage(path);
      const damaged = Deno.readFileSync(path);
      const moved: Array<[string, string]> = [];
      const s = SqliteStateStore.open(dir, (to, why) => moved.push([to, why]));
      c.use(s);
      // The run goes on: what it records now is kept in the new database.
      s.record(row(ROWS + 1));
      s.setMeta("after", "yes");
      s.recordRun(RUN);
      const health = s.health();
      s.close();
      assert.equal(moved.length, 1, "moved aside once");
      const [aside, why] = moved[0];
      assert.match(why, /malformed/);
      // Kept for a post-mortem: every page as it was (SQLite rewrites only the header at open).
      assert.deepEqual(Deno.readFileSync(aside).subarray(4096), damaged.subarray(4096));
      assert.equal(health.corrupt, why);
      assert.equal(health.movedTo, aside);
      assert.equal(health.saveError, undefined);
      assert.equal(health.unsaved, 0);
      const rows = savedRows(path);
      assert.ok(rows.some((r) => r.key === row(ROWS + 1).key), "later rows saved");
      if (c.name.startsWith("a batch")) {
        // The batch that met the damage is written to the new database, not lost.
        const batch = rows.filter((r) => r.sha256 === "e".repeat(64));
        assert.equal(batch.length, 10);
      }
      const again = SqliteStateStore.open(dir, () => assert.fail("the new state.db is sound"));
      assert.equal(again.getMeta("after"), "yes");
      again.close();
    }),
  );
}

Deno.test(
  "openReadOnlyCopy (dry run) of a damaged state.db reads as empty and moves nothing",
  withDir((dir) => {
    const path = seed(dir);
    smashCells(path, leafPages(path, rootPage(path, "files"))[0]);
    const before = Deno.readFileSync(path);
    const ro = SqliteStateStore.openReadOnlyCopy(dir);
    assert.deepEqual(ro.rowsBetween("acme-docs", undefined, row(0).key), []);
    const health = ro.health();
    ro.close();
    assert.match(health.corrupt ?? "", /malformed/);
    assert.equal(health.movedTo, undefined);
    assert.deepEqual(Deno.readFileSync(path), before);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [STATE_FILE]);
  }),
);

Deno.test(
  "openReadOnlyCopy (dry run) of a file that is not a database says so, reads as empty",
  withDir((dir) => {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${dir}/${STATE_FILE}`, "not SQLite\n".repeat(100));
    const ro = SqliteStateStore.openReadOnlyCopy(dir);
    assert.equal(ro.loadAll().size, 0);
    assert.deepEqual(ro.health(), {
      file: `${dir}/${STATE_FILE}`,
      corrupt: "file is not a database",
      unsaved: 0,
    });
    ro.close();
  }),
);

const tmpfsOpts = { ignore: !CAN_MOUNT_TMPFS, sanitizeResources: false, sanitizeOps: false };
if (!CAN_MOUNT_TMPFS) console.warn("SKIPPED: the full-disk tests need to mount a tmpfs (root)");

/** Runs fn with a tmpfs of `size` mounted at dir. */
function onTmpfs(size: string, fn: (dir: string) => void): () => Promise<void> {
  return withDir((dir) => {
    Deno.mkdirSync(dir, { recursive: true });
    mountTmpfs(dir, size);
    try {
      fn(dir);
    } finally {
      unmountTmpfs(dir);
    }
  });
}

Deno.test(
  {
    name: "SqliteStateStore on a disk that fills up: flush never throws, counts what it lost",
    ...tmpfsOpts,
  },
  onTmpfs("256k", (dir) => {
    const s = SqliteStateStore.open(dir);
    const total = 6000;
    for (let i = 0; i < total; i++) s.record(row(i)); // batches flush as they fill
    s.setMeta("manifest:b:k", "fp"); // may be lost too: never throws
    s.recordRun(RUN);
    s.flush();
    const full = s.health();
    assert.match(full.saveError ?? "", /no space left on device/);
    assert.ok(full.saveError!.includes(dir), full.saveError);
    assert.ok(full.unsaved > 0 && full.unsaved <= total, `unsaved ${full.unsaved}`);
    // Room again: later batches are saved, and nothing was half-written.
    resizeTmpfs(dir, "16m");
    for (let i = total; i < total + 10; i++) s.record(row(i));
    s.close();
    const health = s.health();
    assert.equal(health.unsaved, full.unsaved, "no further rows lost");
    const saved = savedRows(`${dir}/${STATE_FILE}`).length;
    assert.equal(saved + full.unsaved, total + 10, "every row saved or counted as lost");
  }),
);

Deno.test(
  {
    name: "SqliteStateStore.open on a full disk still runs (in memory), saving nothing",
    ...tmpfsOpts,
  },
  onTmpfs("128k", (dir) => {
    fillTmpfs(dir);
    const s = SqliteStateStore.open(dir);
    s.record(row(1));
    s.flush();
    s.setMeta("m", "v");
    assert.equal(s.getMeta("m"), "v", "usable for this run");
    s.recordRun(RUN);
    s.close();
    const health = s.health();
    assert.match(health.saveError ?? "", /no space left on device/);
    assert.equal(health.unsaved, 1);
  }),
);
