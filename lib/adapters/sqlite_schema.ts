/** The local state's SQLite schema, its statements, and how the database file is opened. */
import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import type { StateRow } from "../core/types.ts";

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

export const COLUMNS = "bucket, key, size, mtime_ms, ctime_ms, ino, sha256, recorded_at_ms";
export type RawRow = Record<string, number | string>;
export type Meta = { value: string };
/** The columns under StateRow's names: a row needs no copy (rows are null-prototype objects). */
const ROW_COLUMNS =
  "bucket, key, size, mtime_ms AS mtimeMs, ctime_ms AS ctimeMs, ino, sha256, recorded_at_ms AS recordedAtMs";

export function toRow(r: RawRow): StateRow {
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

export const BATCH_ROWS = 500;
export const BATCH_MS = 2000;

export const UPSERT =
  `INSERT INTO files (bucket, key, size, mtime_ms, ctime_ms, ino, sha256, recorded_at_ms)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
     ctime_ms = excluded.ctime_ms, ino = excluded.ino, sha256 = excluded.sha256,
     recorded_at_ms = excluded.recorded_at_ms`;
/**
 * A key range of a bucket, in key order (BINARY collation compares UTF-8 bytes: S3's order).
 * Two statements, not `(? IS NULL OR key <= ?)`: with that, SQLite cannot bound the index scan
 * and reads to the end of the bucket's rows on every query.
 */
export const RANGE =
  `SELECT ${ROW_COLUMNS} FROM files WHERE bucket = ? AND key > ? AND key <= ? ORDER BY key`;
export const RANGE_TO_END =
  `SELECT ${ROW_COLUMNS} FROM files WHERE bucket = ? AND key > ? ORDER BY key`;
export const FORGET =
  `DELETE FROM files WHERE bucket = ? AND key IN (SELECT value FROM json_each(?))`;

/** Creates a private folder (0700) and a private file (0600) before SQLite opens it. */
function preparePrivateFile(dir: string, file: string): void {
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = Deno.openSync(file, { create: true, read: true, write: true, mode: 0o600 });
  f.close();
  Deno.chmodSync(file, 0o600);
}

/** Opens the file (created private) with the schema in place. */
export function openAt(path: string): DatabaseSync {
  preparePrivateFile(dirname(path), path);
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

export function memoryDb(): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  db.exec(SCHEMA);
  return db;
}
