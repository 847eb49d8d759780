/**
 * The state database behind a guard: how it fails, told apart and put in words an admin can act
 * on. A damaged file (found by any read or write) is moved aside and replaced by a new one; a
 * write that fails otherwise (a full disk) is counted, never thrown. node:sqlite in Deno gives
 * only SQLite's message, not its result code, so the messages are what is matched.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { join } from "node:path";
import type { StateHealth } from "../core/ports.ts";

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** SQLITE_CORRUPT ("database disk image is malformed", "malformed database schema"), SQLITE_NOTADB. */
export function isCorrupt(err: unknown): boolean {
  return /malformed|not a database|corrupt/i.test(messageOf(err));
}

/** SQLITE_FULL: SQLite returns it only when a write failed with ENOSPC or EDQUOT. */
const FULL = /database or disk is full|no space left/i;

/** Failures of writing, not damage: a full disk, an I/O error (e.g. growing the -shm file). */
export function isWriteFailure(err: unknown): boolean {
  return FULL.test(messageOf(err)) || /disk I\/O error/i.test(messageOf(err));
}

/** Whether the file system under dir is full now: one small probe write tells (ENOSPC, EDQUOT). */
function diskFull(dir: string): boolean {
  const probe = join(dir, `.space-check-${Deno.pid}`);
  try {
    Deno.writeFileSync(probe, new Uint8Array(4096));
    return false;
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === "ENOSPC" || code === "EDQUOT";
  } finally {
    try {
      Deno.removeSync(probe);
    } catch { /* never created */ }
  }
}

/** Why a write to the state failed, naming state_dir: "no space left on device" when it is so. */
export function saveCause(err: unknown, dir: string): string {
  const msg = messageOf(err);
  if (FULL.test(msg) || diskFull(dir)) return `no space left on device in ${dir} (SQLite: ${msg})`;
  return `${msg} (${dir})`;
}

/** Moves a damaged database and its -wal / -shm companions aside; returns where it went. */
export function moveAside(path: string, now = Date.now()): string {
  const aside = `${path}.corrupt-${now}`;
  Deno.renameSync(path, aside);
  for (const ext of ["-wal", "-shm"]) {
    try {
      Deno.renameSync(path + ext, aside + ext);
    } catch { /* absent */ }
  }
  return aside;
}

/** Where a database lives and how to make one; SqliteStateStore supplies the schema. */
export interface DbPlace {
  stateDir: string;
  /** The file (a read-only view may hold an in-memory copy instead). */
  path: string;
  /** A read-only view (dry run, verify): damage is reported, nothing is moved. */
  readOnly: boolean;
  /** Opens the file with the schema in place (throws as SQLite does). */
  openFile(path: string): DatabaseSync;
  /** An empty in-memory database with the schema. */
  memory(): DatabaseSync;
  onCorrupt?: (movedTo: string, why: string) => void;
}

export class GuardedDb {
  #db: DatabaseSync;
  readonly #place: DbPlace;
  /** Statements of the current database (a replaced database gets new ones). */
  #statements = new Map<string, StatementSync>();
  /** True when rows go to memory only, because the file could not be opened or replaced. */
  #volatile = false;
  #health: StateHealth;

  constructor(db: DatabaseSync, place: DbPlace) {
    this.#db = db;
    this.#place = place;
    this.#health = { file: place.path, unsaved: 0 };
  }

  /** Opens place.path; damage moves it aside, a disk that takes no writes leaves memory. */
  static open(place: DbPlace): GuardedDb {
    try {
      return new GuardedDb(place.openFile(place.path), place);
    } catch (err) {
      if (!isCorrupt(err) && !isWriteFailure(err)) throw err;
      const guarded = new GuardedDb(place.memory(), place);
      if (isCorrupt(err)) guarded.#replace(err);
      else guarded.#goVolatile(err);
      return guarded;
    }
  }

  health(): StateHealth {
    return { ...this.#health };
  }

  /** A statement of the current database, prepared once. */
  prepare(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (st === undefined) {
      st = this.#db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /** A read; damage replaces the database and gives `fallback` (no row: the file is verified). */
  read<T>(read: () => T, fallback: T): T {
    try {
      return read();
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      this.#replace(err);
      return fallback;
    }
  }

  /**
   * A write of `rows` rows (0 for meta and run history). Damage replaces the database and the
   * write is tried once more there; any other failure is counted with its cause, never thrown.
   */
  write(write: () => void, rows: number): void {
    if (this.#volatile) {
      this.#health.unsaved += rows;
      write(); // into memory: this run still reads what it wrote
      return;
    }
    for (let attempt = 0;; attempt++) {
      try {
        write();
        return;
      } catch (err) {
        // A failed COMMIT leaves the transaction open; SQLITE_FULL may already have ended it.
        if (this.#db.isTransaction) {
          try {
            this.#db.exec("ROLLBACK");
          } catch { /* ended meanwhile */ }
        }
        if (isCorrupt(err) && attempt === 0) {
          this.#replace(err);
          if (!this.#volatile) continue;
        } else {
          this.#health.saveError ??= saveCause(err, this.#place.stateDir);
        }
        this.#health.unsaved += rows;
        return;
      }
    }
  }

  close(): void {
    this.#statements.clear();
    try {
      this.#db.close();
    } catch (err) {
      this.#health.saveError ??= saveCause(err, this.#place.stateDir);
    }
  }

  /** Leaves the current database for an empty one; a damaged file is moved aside first. */
  #replace(err: unknown): void {
    const why = messageOf(err);
    this.#health.corrupt ??= why;
    this.#statements.clear();
    try {
      this.#db.close();
    } catch { /* already closed */ }
    this.#db = this.#place.memory();
    const { path, readOnly } = this.#place;
    if (readOnly || this.#volatile) return;
    try {
      const aside = moveAside(path);
      this.#health.movedTo = aside;
      this.#place.onCorrupt?.(aside, why);
      const db = this.#place.openFile(path);
      this.#db.close();
      this.#db = db;
    } catch (e) {
      this.#goVolatile(e);
    }
  }

  /** Goes on in memory: this run's rows cannot be saved (counted as unsaved). */
  #goVolatile(err: unknown): void {
    this.#volatile = true;
    this.#health.saveError ??= saveCause(err, this.#place.stateDir);
  }
}
