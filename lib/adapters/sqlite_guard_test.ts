import assert from "node:assert/strict";
import { isCorrupt, isWriteFailure, saveCause } from "./sqlite_guard.ts";

Deno.test("state_guard: SQLite's messages sorted into damage and failed writes", () => {
  const cases: Array<[string, "corrupt" | "write" | "other"]> = [
    ["database disk image is malformed", "corrupt"],
    ["malformed database schema (files) - near 'x'", "corrupt"],
    ["file is not a database", "corrupt"],
    ["database or disk is full", "write"],
    ["disk I/O error", "write"],
    ["No space left on device (os error 28)", "write"],
    ["unable to open database file", "other"],
    ["Permission denied (os error 13)", "other"],
  ];
  for (const [msg, kind] of cases) {
    const err = new Error(msg);
    const got = isCorrupt(err) ? "corrupt" : isWriteFailure(err) ? "write" : "other";
    assert.equal(got, kind, msg);
  }
});

Deno.test("state_guard: SQLITE_FULL is named as a full disk under state_dir", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.equal(
      saveCause(new Error("database or disk is full"), dir),
      `no space left on device in ${dir} (SQLite: database or disk is full)`,
    );
    // An I/O error on a disk with room is not blamed on space (the probe write succeeds).
    assert.equal(saveCause(new Error("disk I/O error"), dir), `disk I/O error (${dir})`);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "the probe leaves nothing behind");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
