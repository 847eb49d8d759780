import assert from "node:assert/strict";
import { acquireLock, LOCK_FILE } from "./lock.ts";
import { ExitCode, LockHeldError } from "./errors.ts";

function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const base = Deno.makeTempDirSync({ prefix: "s3b-lock-" });
    try {
      await fn(`${base}/state`);
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  };
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" }).spawn();
  const pid = child.pid;
  await child.status;
  return pid;
}

function readLock(dir: string): { pid: number; host: string; since: string } {
  return JSON.parse(Deno.readTextFileSync(`${dir}/${LOCK_FILE}`));
}

Deno.test(
  "acquireLock: a second acquire while held throws LockHeldError (exit 3)",
  withDir((dir) => {
    const lock = acquireLock(dir, "host-a");
    try {
      assert.throws(() => acquireLock(dir, "host-a"), (err: unknown) => {
        assert.ok(err instanceof LockHeldError);
        assert.equal(err.exitCode, ExitCode.locked);
        assert.equal(err.exitCode, 3);
        assert.ok(err.message.includes(String(Deno.pid)), err.message);
        return true;
      });
      const held = readLock(dir);
      assert.equal(held.pid, Deno.pid);
      assert.equal(held.host, "host-a");
      assert.ok(!Number.isNaN(Date.parse(held.since)));
    } finally {
      lock.release();
    }
  }),
);

Deno.test(
  "acquireLock: the lock file is private (0600) and release removes it",
  withDir((dir) => {
    const lock = acquireLock(dir, "host-a");
    const path = `${dir}/${LOCK_FILE}`;
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    lock.release();
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    lock.release(); // twice is harmless
    // Free again.
    acquireLock(dir, "host-a").release();
  }),
);

Deno.test(
  "acquireLock: a lock left by a dead process on this host is taken over",
  withDir(async (dir) => {
    const pid = await deadPid();
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(
      `${dir}/${LOCK_FILE}`,
      JSON.stringify({ pid, host: "host-a", since: "2026-01-01T00:00:00.000Z" }),
    );
    const lock = acquireLock(dir, "host-a");
    assert.equal(readLock(dir).pid, Deno.pid);
    lock.release();
    assert.throws(() => Deno.statSync(`${dir}/${LOCK_FILE}`), Deno.errors.NotFound);
  }),
);

Deno.test(
  "acquireLock: a lock held by another host is respected, even if its pid is free here",
  withDir(async (dir) => {
    const pid = await deadPid();
    Deno.mkdirSync(dir, { recursive: true });
    const held = JSON.stringify({ pid, host: "host-b", since: "2026-01-01T00:00:00.000Z" });
    Deno.writeTextFileSync(`${dir}/${LOCK_FILE}`, held);
    assert.throws(() => acquireLock(dir, "host-a"), LockHeldError);
    assert.equal(Deno.readTextFileSync(`${dir}/${LOCK_FILE}`), held);
  }),
);

Deno.test(
  "acquireLock: a half-written lock file is respected while fresh",
  withDir((dir) => {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${dir}/${LOCK_FILE}`, "");
    assert.throws(() => acquireLock(dir, "host-a"), LockHeldError);
    // Old and unreadable: stale.
    const old = new Date(Date.now() - 60_000);
    Deno.utimeSync(`${dir}/${LOCK_FILE}`, old, old);
    acquireLock(dir, "host-a").release();
  }),
);

Deno.test(
  "release does not remove a lock another process has taken since",
  withDir((dir) => {
    const lock = acquireLock(dir, "host-a");
    const other = JSON.stringify({ pid: 1, host: "host-a", since: "2026-01-01T00:00:00.000Z" });
    Deno.writeTextFileSync(`${dir}/${LOCK_FILE}`, other);
    lock.release();
    assert.equal(Deno.readTextFileSync(`${dir}/${LOCK_FILE}`), other);
  }),
);
