/**
 * Local state in node:sqlite: what was backed up, keyed by bucket and key. WAL mode; rows are
 * queued and written in batches, one transaction each. A lost or corrupt database only costs
 * a re-verification against the buckets (see change.ts), never a lost change.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import {
  type OpenUpload,
  type RunRecord,
  stateKey,
  type StateLookup,
  type StateStore,
} from "./ports.ts";
import type { StateRow } from "./types.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  ctime_ms REAL NOT NULL,
  ino INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  recorded_at_ms INTEGER NOT NULL,
  PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  status TEXT NOT NULL,
  uploaded INTEGER NOT NULL,
  skipped INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  bytes_uploaded INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS open_uploads (
  upload_id TEXT PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
`;

const COLUMNS = "bucket, key, size, mtime_ms, ctime_ms, ino, sha256, recorded_at_ms";
type RawRow = Record<string, number | string>;
/** The columns under StateRow's names: a row needs no copy (rows are null-prototype objects). */
const ROW_COLUMNS =
  "bucket, key, size, mtime_ms AS mtimeMs, ctime_ms AS ctimeMs, ino, sha256, recorded_at_ms AS recordedAtMs";

function toRow(r: RawRow): StateRow {
  return {
    bucket: String(r.bucket),
    key: String(r.key),
    size: Number(r.size),
    mtimeMs: Number(r.mtime_ms),
    ctimeMs: Number(r.ctime_ms),
    ino: Number(r.ino),
    sha256: String(r.sha256),
    recordedAtMs: Number(r.recorded_at_ms),
  };
}

const BATCH_ROWS = 500;
const BATCH_MS = 2000;

export const STATE_FILE = "state.db";

/** Creates a private folder (0700) and a private file (0600) before SQLite opens it. */
function preparePrivateFile(dir: string, file: string): void {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = Deno.openSync(file, { create: true, read: true, write: true, mode: 0o600 });
  f.close();
  Deno.chmodSync(file, 0o600);
}

export class SqliteStateStore implements StateStore {
  readonly #db: DatabaseSync;
  readonly #upsert: StatementSync;
  #queue: StateRow[] = [];
  #lastFlush = Date.now();

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#upsert = db.prepare(
      `INSERT INTO files (bucket, key, size, mtime_ms, ctime_ms, ino, sha256, recorded_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
         ctime_ms = excluded.ctime_ms, ino = excluded.ino, sha256 = excluded.sha256,
         recorded_at_ms = excluded.recorded_at_ms`,
    );
  }

  /**
   * Opens (creating if needed) state_dir/state.db. A corrupt database is moved aside and a new
   * one started: the next run re-verifies against the buckets, it never loses a change.
   */
  static open(
    stateDir: string,
    onCorrupt?: (movedTo: string, why: string) => void,
  ): SqliteStateStore {
    const path = join(stateDir, STATE_FILE);
    preparePrivateFile(stateDir, path);
    try {
      return new SqliteStateStore(SqliteStateStore.#openAt(path));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (!/not a database|malformed|corrupt/i.test(why)) throw err;
      const aside = `${path}.corrupt-${Date.now()}`;
      Deno.renameSync(path, aside);
      for (const ext of ["-wal", "-shm"]) {
        try {
          Deno.renameSync(path + ext, aside + ext);
        } catch { /* absent */ }
      }
      onCorrupt?.(aside, why);
      preparePrivateFile(stateDir, path);
      return new SqliteStateStore(SqliteStateStore.#openAt(path));
    }
  }

  static #openAt(path: string): DatabaseSync {
    const db = new DatabaseSync(path);
    try {
      db.exec(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
      );
      db.exec(SCHEMA);
      db.prepare("SELECT count(*) FROM files").get();
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** An in-memory database: dry runs read the real one through this when it exists. */
  static openReadOnlyCopy(stateDir: string): SqliteStateStore {
    const path = join(stateDir, STATE_FILE);
    try {
      Deno.statSync(path);
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        db.exec("PRAGMA query_only = 1;");
        db.prepare("SELECT count(*) FROM files").get();
        return new SqliteStateStore(db);
      } catch (err) {
        db.close();
        throw err;
      }
    } catch {
      // Missing, empty or corrupt: read as empty (a real run would rebuild it).
      const db = new DatabaseSync(":memory:");
      db.exec(SCHEMA);
      return new SqliteStateStore(db);
    }
  }

  loadAll(): Map<string, StateRow> {
    // Row by row: .all() held every raw row alongside the map.
    const rows = this.#db.prepare(`SELECT ${COLUMNS} FROM files`).iterate() as Iterable<RawRow>;
    const map = new Map<string, StateRow>();
    for (const r of rows) {
      const row = toRow(r);
      map.set(stateKey(row.bucket, row.key), row);
    }
    return map;
  }

  /**
   * Rows read as planning goes instead of a Map of every row: planning 100,000 files held
   * ~55 MiB of rows and keys for the whole run. Announced keys (prefetch, ~1,000 at a time) are
   * read in one query per bucket, ~5× cheaper per row than a query per file; any other key by
   * itself. A key the query could not match only means no row: the file is hashed, not lost.
   */
  lookup(): StateLookup {
    const one = this.#db.prepare(`SELECT ${COLUMNS} FROM files WHERE bucket = ? AND key = ?`);
    const many = this.#db.prepare(
      `SELECT ${ROW_COLUMNS} FROM files WHERE bucket = ? AND key IN (SELECT value FROM json_each(?))`,
    );
    /** Prefetched rows; null: announced and absent. */
    let fetched = new Map<string, StateRow | null>();
    return {
      prefetch: (keys: string[]) => {
        fetched = new Map();
        const byBucket = new Map<string, string[]>();
        for (const k of keys) {
          fetched.set(k, null);
          const sep = k.indexOf("\0");
          const bucket = k.slice(0, sep);
          const list = byBucket.get(bucket) ?? [];
          list.push(k.slice(sep + 1));
          byBucket.set(bucket, list);
        }
        for (const [bucket, list] of byBucket) {
          for (const row of many.all(bucket, JSON.stringify(list)) as unknown as StateRow[]) {
            fetched.set(stateKey(bucket, row.key), row);
          }
        }
      },
      get: (k: string) => {
        const known = fetched.get(k);
        if (known !== undefined) return known ?? undefined;
        const sep = k.indexOf("\0");
        const r = one.get(k.slice(0, sep), k.slice(sep + 1)) as RawRow | undefined;
        return r === undefined ? undefined : toRow(r);
      },
    };
  }

  record(row: StateRow): void {
    this.#queue.push(row);
    if (this.#queue.length >= BATCH_ROWS || Date.now() - this.#lastFlush >= BATCH_MS) this.flush();
  }

  flush(): void {
    this.#lastFlush = Date.now();
    if (this.#queue.length === 0) return;
    const rows = this.#queue;
    this.#queue = [];
    this.#db.exec("BEGIN");
    try {
      for (const r of rows) {
        this.#upsert.run(
          r.bucket,
          r.key,
          r.size,
          r.mtimeMs,
          r.ctimeMs,
          r.ino,
          r.sha256,
          r.recordedAtMs,
        );
      }
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  getMeta(name: string): string | undefined {
    try {
      const row = this.#db.prepare(`SELECT value FROM meta WHERE name = ?`).get(name) as
        | { value: string }
        | undefined;
      return row?.value;
    } catch {
      return undefined; // a read-only view of an older database without the table
    }
  }

  setMeta(name: string, value: string): void {
    this.#db.prepare(
      `INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    ).run(name, value);
  }

  recordRun(run: RunRecord): void {
    this.#db.prepare(
      `INSERT INTO runs (started_at, status, uploaded, skipped, errors, bytes_uploaded, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      run.startedAt,
      run.status,
      run.uploaded,
      run.skipped,
      run.errors,
      run.bytesUploaded,
      run.durationMs,
    );
  }

  /** Multipart uploads journaled by the store and still open, oldest first. */
  openUploads(): OpenUpload[] {
    try {
      return this.#db.prepare(
        `SELECT bucket, key, upload_id FROM open_uploads ORDER BY started_at_ms, upload_id`,
      ).all().map((r) => ({
        bucket: String(r.bucket),
        key: String(r.key),
        uploadId: String(r.upload_id),
      }));
    } catch {
      return []; // a read-only view of an older database without the table
    }
  }

  /** Written at once (not batched): it must be on disk before the upload's first part. */
  addOpenUpload(u: OpenUpload): void {
    this.#db.prepare(
      `INSERT OR REPLACE INTO open_uploads (upload_id, bucket, key, started_at_ms) VALUES (?, ?, ?, ?)`,
    ).run(u.uploadId, u.bucket, u.key, Date.now());
  }

  removeOpenUpload(uploadId: string): void {
    this.#db.prepare(`DELETE FROM open_uploads WHERE upload_id = ?`).run(uploadId);
  }

  close(): void {
    this.flush();
    this.#db.close();
  }
}

/** A state that records nothing (dry runs): reads come from a read-only view of the real one. */
export class ReadOnlyState implements StateStore {
  constructor(private readonly inner: StateStore) {}
  loadAll(): Map<string, StateRow> {
    return this.inner.loadAll();
  }
  lookup(): StateLookup {
    return this.inner.lookup?.() ?? this.inner.loadAll();
  }
  record(_row: StateRow): void {}
  getMeta(name: string): string | undefined {
    return this.inner.getMeta(name);
  }
  setMeta(_name: string, _value: string): void {}
  flush(): void {}
  close(): void {
    this.inner.close();
  }
}
