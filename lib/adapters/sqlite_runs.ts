/**
 * The run history (the `runs` table of state_dir/state.db), read-only, for `history` and
 * `status`. Opening it never creates or changes anything, so a monitoring check cannot disturb
 * a run in progress.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { RunRecord } from "../core/ports.ts";
import { STATE_FILE } from "./sqlite_state.ts";

const SELECT = `SELECT started_at, status, uploaded, skipped, errors, bytes_uploaded, duration_ms
  FROM runs`;

function toRecord(r: Record<string, unknown>): RunRecord {
  return {
    startedAt: String(r.started_at),
    status: String(r.status),
    uploaded: Number(r.uploaded),
    skipped: Number(r.skipped),
    errors: Number(r.errors),
    bytesUploaded: Number(r.bytes_uploaded),
    durationMs: Number(r.duration_ms),
  };
}

export class RunHistory {
  private constructor(readonly file: string, readonly db: DatabaseSync | undefined) {}

  /** The history in stateDir; empty when there is no state there (no run yet on this machine). */
  static open(stateDir: string): RunHistory {
    const file = join(stateDir, STATE_FILE);
    try {
      Deno.statSync(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return new RunHistory(file, undefined);
      throw new Error(cannotRead(file, err));
    }
    try {
      const db = new DatabaseSync(file, { readOnly: true });
      return new RunHistory(file, db);
    } catch (err) {
      throw new Error(cannotRead(file, err));
    }
  }

  /** Whether a state database exists. */
  get exists(): boolean {
    return this.db !== undefined;
  }

  /** The latest runs, newest first. */
  recent(limit: number): RunRecord[] {
    return this.#all(`${SELECT} ORDER BY id DESC LIMIT ?`, limit);
  }

  /** The latest run with this status (e.g. "OK"). */
  lastWith(status: string): RunRecord | undefined {
    return this.#all(`${SELECT} WHERE status = ? ORDER BY id DESC LIMIT 1`, status)[0];
  }

  #all(sql: string, ...params: Array<string | number>): RunRecord[] {
    if (!this.db) return [];
    try {
      return this.db.prepare(sql).all(...params).map((r) => toRecord(r));
    } catch (err) {
      // A database created but never written (a run killed at once) has no tables yet.
      if (/no such table/.test((err as Error).message)) return [];
      throw new Error(cannotRead(this.file, err));
    }
  }

  close(): void {
    this.db?.close();
  }
}

function cannotRead(file: string, err: unknown): string {
  const why = (err as Error)?.message ?? String(err);
  const hint = err instanceof Deno.errors.PermissionDenied || /permission|EACCES/i.test(why)
    ? " (run it as the user that runs the backups, e.g. sudo -u s3backup)"
    : "";
  return `cannot read the run history in ${file}: ${why}${hint}`;
}
