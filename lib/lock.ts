/** A lock file in state_dir so overlapping runs (cron + a manual run) never interleave. */
import { join } from "node:path";
import process from "node:process";
import { LockHeldError } from "./errors.ts";

export const LOCK_FILE = "lock";

export interface Lock {
  release(): void;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // ESRCH: gone. EPERM (another user's) or no permission to ask: cannot tell, so held.
    return (err as { code?: string }).code !== "ESRCH";
  }
}

function tryCreate(path: string, content: string): boolean {
  try {
    const f = Deno.openSync(path, { createNew: true, write: true, mode: 0o600 });
    f.writeSync(new TextEncoder().encode(content));
    f.close();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
}

/**
 * Takes the lock or throws LockHeldError (exit 3). A lock whose process is gone (a crash,
 * kill -9, reboot) is stale and taken over.
 */
export function acquireLock(stateDir: string, hostname: string): Lock {
  Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, LOCK_FILE);
  const content = JSON.stringify({
    pid: Deno.pid,
    host: hostname,
    since: new Date().toISOString(),
  });
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, content)) {
      return {
        release() {
          try {
            const held = JSON.parse(Deno.readTextFileSync(path));
            if (held.pid === Deno.pid) Deno.removeSync(path);
          } catch { /* already gone */ }
        },
      };
    }
    let holder: { pid?: number; host?: string; since?: string } = {};
    try {
      holder = JSON.parse(Deno.readTextFileSync(path));
    } catch {
      // Unreadable or half-written: treat as stale only if it is old.
      let mtime: number;
      try {
        mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
      } catch {
        continue; // released meanwhile: try again
      }
      const age = Date.now() - mtime;
      if (age < 10_000) throw new LockHeldError(`another run is starting (lock file ${path})`);
    }
    const sameHost = holder.host === undefined || holder.host === hostname;
    if (holder.pid !== undefined && (!sameHost || processAlive(holder.pid))) {
      throw new LockHeldError(
        `another run holds the lock: pid ${holder.pid} on ${holder.host ?? "this host"} since ${
          holder.since ?? "?"
        } (${path})`,
      );
    }
    try {
      Deno.removeSync(path); // stale: its process is gone
    } catch { /* raced with another taker */ }
  }
  throw new LockHeldError(`could not take the lock ${path}`);
}
