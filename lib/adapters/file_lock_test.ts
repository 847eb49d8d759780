import assert from "node:assert/strict";
import { acquireLock, LOCK_FILE } from "./file_lock.ts";
import { LockHeldError } from "../core/errors.ts";

const LOCK_MODULE = new URL("./file_lock.ts", import.meta.url).href;

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

/**
 * A process that takes the lock (or reports that it could not) and then waits to be killed;
 * with `at`, it first waits for that moment, so that racers start together.
 */
function holder(dir: string, at = 0): Deno.ChildProcess {
  const code = `
    import { acquireLock } from ${JSON.stringify(LOCK_MODULE)};
    while (Date.now() < ${at}) {}
    try { acquireLock(${JSON.stringify(dir)}, "host-a"); console.log("LOCKED"); }
    catch (e) { console.log("HELD " + e.message); Deno.exit(3); }
    setInterval(() => {}, 1000);`;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** The first line a holder prints: LOCKED, or HELD with the message. */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0];
}

Deno.test(
  "acquireLock: a second acquire while held throws LockHeldError (exit 3) naming the holder",
  withDir((dir) => {
    const lock = acquireLock(dir, "host-a");
    try {
      assert.throws(() => acquireLock(dir, "host-a"), (err: unknown) => {
        assert.ok(err instanceof LockHeldError);
        assert.equal(err.outcome, "locked");
        assert.match(err.message, new RegExp(`pid ${Deno.pid} on host-a since \\d{4}-`));
        return true;
      });
    } finally {
      lock.release();
    }
  }),
);

Deno.test(
  "acquireLock: the lock file is private (0600); release frees it; twice is harmless",
  withDir((dir) => {
    const lock = acquireLock(dir, "host-a");
    assert.equal(Deno.statSync(`${dir}/${LOCK_FILE}`).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    lock.release();
    lock.release();
    acquireLock(dir, "host-a").release();
  }),
);

Deno.test(
  "acquireLock: a lock file left with a dead holder's text is free (the kernel says so)",
  withDir((dir) => {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(
      `${dir}/${LOCK_FILE}`,
      JSON.stringify({ pid: 999_999, host: "host-a", since: "2026-01-01T00:00:00.000Z" }),
    );
    acquireLock(dir, "host-a").release();
  }),
);

Deno.test(
  "acquireLock: of processes racing for it exactly one wins; kill -9 of the winner frees it",
  withDir(async (dir) => {
    // A dead run's text in the file: a pid-file lock let two racers both judge it stale.
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${dir}/${LOCK_FILE}`, JSON.stringify({ pid: 999_999, host: "host-a" }));
    const start = Date.now() + 1500; // after every racer's start-up
    const racers = Array.from({ length: 6 }, () => holder(dir, start));
    const lines = await Promise.all(racers.map(firstLine));
    const winners = racers.filter((_, i) => lines[i] === "LOCKED");
    assert.equal(winners.length, 1, lines.join("\n"));
    for (const line of lines) {
      if (line !== "LOCKED") assert.match(line, /^HELD another run holds the lock/, line);
    }
    const [winner] = winners;
    winner.kill("SIGKILL");
    await winner.status;
    // No stale-lock logic: the next taker gets it at once.
    const next = holder(dir);
    assert.equal(await firstLine(next), "LOCKED");
    next.kill("SIGKILL");
    await next.status;
    for (const r of racers) {
      if (r !== winner) await r.status;
      await r.stdout.cancel().catch(() => {});
    }
    await next.stdout.cancel().catch(() => {});
  }),
);
