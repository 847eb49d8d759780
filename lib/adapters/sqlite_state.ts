/**
 * Local state in node:sqlite: what was backed up, keyed by bucket and key. WAL mode; rows are
 * queued and written in batches, one transaction each. A lost, damaged or unwritable database
 * only costs a re-verification against the buckets (see change.ts), never a lost change.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import {
  type OpenUpload,
  type RunRecord,
  type StateHealth,
  stateKey,
  type StateStore,
} from "../core/ports.ts";
import type { StateRow } from "../core/types.ts";
import { GuardedDb } from "./sqlite_guard.ts";
import {
  BATCH_MS,
  BATCH_ROWS,
  COLUMNS,
  FORGET,
  memoryDb,
  type Meta,
  openAt,
  RANGE,
  RANGE_TO_END,
  type RawRow,
  toRow,
  UPSERT,
} from "./sqlite_schema.ts";

export const STATE_FILE = "state.db";

/**
 * The state of a run. Neither damage nor a failed write fails a run (see GuardedDb): a damaged
 * database, found by any read or write, is moved aside and replaced by a new one, so the run
 * goes on as after a lost state (files hashed, objects checked with HEAD); a write that fails
 * otherwise (a full disk) is counted and its cause kept for the report (health()).
 */
export class SqliteStateStore implements StateStore {
  readonly #db: GuardedDb;
  #queue: StateRow[] = [];
  #lastFlush = Date.now();

  private constructor(db: GuardedDb) {
    this.#db = db;
  }

  /**
   * Opens (creating if needed) state_dir/state.db. A damaged database is moved aside and a new
   * one started; on a disk that takes no writes the run goes on in memory (see health()).
   * Other failures (permissions) throw.
   */
  static open(
    stateDir: string,
    onCorrupt?: (movedTo: string, why: string) => void,
  ): SqliteStateStore {
    const path = join(stateDir, STATE_FILE);
    const place = { stateDir, path, readOnly: false, openFile: openAt, memory: memoryDb };
    return new SqliteStateStore(GuardedDb.open({ ...place, onCorrupt }));
  }

  /**
   * A read-only view (dry runs, verify): missing, empty or damaged reads as empty (a real run
   * would rebuild it); damage is reported by health(), nothing on disk changes.
   */
  static openReadOnlyCopy(stateDir: string): SqliteStateStore {
    const path = join(stateDir, STATE_FILE);
    const place = { stateDir, path, readOnly: true, openFile: openAt, memory: memoryDb };
    const empty = () => new SqliteStateStore(new GuardedDb(memoryDb(), place));
    let db: DatabaseSync;
    try {
      Deno.statSync(path);
      db = new DatabaseSync(path, { readOnly: true });
    } catch {
      return empty();
    }
    const guarded = new GuardedDb(db, place);
    try {
      guarded.read(() => {
        guarded.exec("PRAGMA query_only = 1;");
        guarded.prepare("SELECT count(*) FROM files").get();
      }, undefined);
      return new SqliteStateStore(guarded);
    } catch {
      guarded.close();
      return empty(); // an empty file (a crash right after it was created): no tables
    }
  }

  /** Damage found and writes that failed so far (reported by the run). */
  health(): StateHealth {
    return this.#db.health();
  }

  loadAll(): Map<string, StateRow> {
    return this.#db.read(() => {
      // Row by row: .all() held every raw row alongside the map.
      const rows = this.#db.prepare(`SELECT ${COLUMNS} FROM files`).iterate() as Iterable<RawRow>;
      const map = new Map<string, StateRow>();
      for (const r of rows) {
        const row = toRow(r);
        map.set(stateKey(row.bucket, row.key), row);
      }
      return map;
    }, new Map());
  }

  /**
   * The rows of a key range, read as planning goes (one query per ~1,000 files) instead of a
   * Map of every row: planning 100,000 files held ~55 MiB of rows and keys for the whole run.
   * Rows of a database found damaged are not trusted: the range reads as empty (files hashed).
   */
  rowsBetween(bucket: string, after: string | undefined, upTo?: string): StateRow[] {
    return this.#db.read(
      () =>
        (upTo === undefined
          ? this.#db.prepare(RANGE_TO_END).all(bucket, after ?? "")
          : this.#db.prepare(RANGE).all(bucket, after ?? "", upTo)) as unknown as StateRow[],
      [],
    );
  }

  /** Deletes the rows of files that no longer exist (pending rows are written first). */
  forget(bucket: string, keys: string[]): void {
    if (keys.length === 0) return;
    this.flush();
    this.#db.write(() => {
      this.#db.prepare(FORGET).run(bucket, JSON.stringify(keys));
    }, 0);
  }

  record(row: StateRow): void {
    this.#queue.push(row);
    if (this.#queue.length >= BATCH_ROWS || Date.now() - this.#lastFlush >= BATCH_MS) this.flush();
  }

  /** Writes the queued rows in one transaction; a failure is counted (health()), not thrown. */
  flush(): void {
    this.#lastFlush = Date.now();
    if (this.#queue.length === 0) return;
    const rows = this.#queue;
    this.#queue = [];
    this.#db.write(() => {
      const upsert = this.#db.prepare(UPSERT);
      this.#db.exec("BEGIN");
      for (const r of rows) {
        upsert.run(r.bucket, r.key, r.size, r.mtimeMs, r.ctimeMs, r.ino, r.sha256, r.recordedAtMs);
      }
      this.#db.exec("COMMIT");
    }, rows.length);
  }

  getMeta(name: string): string | undefined {
    try {
      const sql = `SELECT value FROM meta WHERE name = ?`;
      return this.#db.read(
        () => (this.#db.prepare(sql).get(name) as Meta | undefined)?.value,
        undefined,
      );
    } catch {
      return undefined; // a read-only view of an older database without the table
    }
  }

  setMeta(name: string, value: string): void {
    this.#db.write(() => {
      this.#db.prepare(
        `INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      ).run(name, value);
    }, 0);
  }

  recordRun(run: RunRecord): void {
    this.#db.write(() => {
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
    }, 0);
  }

  /** Multipart uploads journaled by the store and still open, oldest first. */
  openUploads(): OpenUpload[] {
    try {
      const sql =
        `SELECT bucket, key, upload_id FROM open_uploads ORDER BY started_at_ms, upload_id`;
      return this.#db.read(
        () =>
          this.#db.prepare(sql).all().map((r) => ({
            bucket: String(r.bucket),
            key: String(r.key),
            uploadId: String(r.upload_id),
          })),
        [],
      );
    } catch {
      return []; // a read-only view of an older database without the table
    }
  }

  addOpenUpload(u: OpenUpload): void {
    this.#db.write(() => {
      this.#db.prepare(
        `INSERT OR REPLACE INTO open_uploads (upload_id, bucket, key, started_at_ms) VALUES (?, ?, ?, ?)`,
      ).run(u.uploadId, u.bucket, u.key, Date.now());
    }, 0);
  }

  removeOpenUpload(uploadId: string): void {
    this.#db.write(() => {
      this.#db.prepare(`DELETE FROM open_uploads WHERE upload_id = ?`).run(uploadId);
    }, 0);
  }

  close(): void {
    this.flush();
    this.#db.close();
  }
}
