import assert from "node:assert/strict";
import { describeHealth, isCorrupt, isWriteFailure, saveCause } from "./sqlite_guard.ts";

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

Deno.test("describeHealth: what the report says for each state problem", () => {
  const file = "/var/lib/s3backup/state.db";
  assert.deepEqual(describeHealth(undefined), { rebuilt: false, warnings: [] });
  assert.deepEqual(describeHealth({ file, unsaved: 0 }), { rebuilt: false, warnings: [] });

  const rebuilt = describeHealth({
    file,
    corrupt: "database disk image is malformed",
    movedTo: `${file}.corrupt-1`,
    unsaved: 0,
  });
  assert.equal(rebuilt.rebuilt, true);
  assert.equal(rebuilt.failure, undefined, "recovered: a warning, not an error");
  assert.deepEqual(rebuilt.warnings, [
    `Local state ${file} was damaged (database disk image is malformed): moved to ${file}.corrupt-1` +
    " and rebuilt; files without a record are hashed and checked with HEAD, not uploaded again",
  ]);

  const dry = describeHealth({ file, corrupt: "file is not a database", unsaved: 0 });
  assert.equal(dry.rebuilt, false);
  assert.match(dry.warnings[0], /is damaged .*the next real run moves it aside/);

  const full = describeHealth({ file, saveError: "no space left on device in /x", unsaved: 4500 });
  assert.deepEqual(full.failure, {
    path: file,
    error: "could not save the local state: no space left on device in /x; 4,500 of this run's " +
      "file records were not written (their objects are in S3): the next run verifies them " +
      "again (hash, and HEAD where no record is left) instead of uploading them again",
  });
  const meta = describeHealth({ file, saveError: "no space left on device in /x", unsaved: 0 });
  assert.match(meta.failure!.error, /in \/x; the next run writes it again$/);
});
