/**
 * The run lock: an OS file lock (flock) on `state_dir/lock`, so overlapping runs (cron plus a
 * manual run) never interleave. The kernel releases it when the holder exits in any way (kill -9,
 * a crash, a reboot), so there is no stale lock to judge and no race between two runs that both
 * think an old lock is stale. The file's text (pid, host, since) only explains who holds it.
 */
import { join } from "node:path";
import { LockHeldError } from "../core/errors.ts";
import type { Lock } from "../core/ports.ts";

export const LOCK_FILE = "lock";

interface Holder {
  pid?: number;
  host?: string;
  since?: string;
}

function holderOf(file: Deno.FsFile): Holder {
  try {
    const buf = new Uint8Array(512);
    file.seekSync(0, Deno.SeekMode.Start);
    const n = file.readSync(buf) ?? 0;
    return JSON.parse(new TextDecoder().decode(buf.subarray(0, n))) as Holder;
  } catch {
    return {}; // the holder has not written its line yet
  }
}

/** Takes the lock or throws LockHeldError (exit 3) naming the holder. Never waits. */
export function acquireLock(stateDir: string, hostname: string): Lock {
  Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, LOCK_FILE);
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  if (!file.tryLockSync(true)) {
    const held = holderOf(file);
    file.close();
    const who = held.pid === undefined
      ? "another run holds the lock"
      : `another run holds the lock: pid ${held.pid} on ${held.host ?? "this host"} since ${
        held.since ?? "?"
      }`;
    throw new LockHeldError(`${who} (${path})`);
  }
  const line = JSON.stringify({ pid: Deno.pid, host: hostname, since: new Date().toISOString() });
  file.truncateSync(0);
  file.seekSync(0, Deno.SeekMode.Start);
  file.writeSync(new TextEncoder().encode(line));
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      // The file stays: removing it would let a newcomer lock a fresh inode while a waiter
      // still holds the old one open.
      file.truncateSync(0);
      file.unlockSync();
      file.close();
    },
  };
}
