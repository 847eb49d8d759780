import assert from "node:assert/strict";
import { stateNotes, summarize, UNWATCHED_WARNING, withNotifications } from "./summary.ts";
import type { Plan } from "../core/types.ts";

Deno.test("stateNotes: what the report says for each state problem", () => {
  const file = "/var/lib/s3backup/state.db";
  assert.deepEqual(stateNotes(undefined), { rebuilt: false, warnings: [] });
  assert.deepEqual(stateNotes({ file, unsaved: 0 }), { rebuilt: false, warnings: [] });

  const rebuilt = stateNotes({
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

  const dry = stateNotes({ file, corrupt: "file is not a database", unsaved: 0 });
  assert.equal(dry.rebuilt, false);
  assert.match(dry.warnings[0], /is damaged .*the next real run moves it aside/);

  const full = stateNotes({ file, saveError: "no space left on device in /x", unsaved: 4500 });
  assert.deepEqual(full.failure, {
    path: file,
    error: "could not save the local state: no space left on device in /x; 4,500 of this run's " +
      "file records were not written (their objects are in S3): the next run verifies them " +
      "again (hash, and HEAD where no record is left) instead of uploading them again",
  });
  const meta = stateNotes({ file, saveError: "no space left on device in /x", unsaved: 0 });
  assert.match(meta.failure!.error, /in \/x; the next run writes it again$/);
});

function plan(over: Partial<Plan> = {}): Plan {
  return {
    skipped: 0,
    skippedByBucket: new Map(),
    excluded: ["x.tmp"],
    unmatched: [],
    failed: [{ path: "bad.txt", error: "permission denied" }],
    symlinks: [],
    special: [],
    invalidNames: [],
    hashed: 2,
    unlistable: new Map(),
    unseen: [],
    toUpload: { files: 0, bytes: 0 },
    walked: true,
    pruned: 0,
    ...over,
  };
}

const facts = {
  host: "h",
  source: "/src",
  dryRun: false,
  startedAt: new Date(0),
  endedAt: new Date(1500),
  requests: { PutObject: 3 },
  interrupted: false,
};

Deno.test("summarize: counts, failures from every step, and a status that agrees with them", () => {
  const cases: Array<
    { name: string; f: Parameters<typeof summarize>[0]; status: string; errors: number }
  > = [
    {
      name: "a file failed in planning and one in upload",
      f: {
        ...facts,
        plan: plan(),
        result: {
          uploaded: 3,
          skipped: 7,
          bytesUploaded: 30,
          failures: [{ path: "c", error: "x" }],
          notStarted: 0,
          uploadedKeys: ["s3://b/a", "s3://b/b", "s3://b/d"],
          uploadedTo: new Set(["b"]),
        },
      },
      status: "FAILED",
      errors: 2,
    },
    {
      name: "all good",
      f: {
        ...facts,
        plan: plan({ failed: [] }),
        result: {
          uploaded: 1,
          skipped: 0,
          bytesUploaded: 1,
          failures: [],
          notStarted: 0,
          uploadedKeys: ["s3://b/a"],
          uploadedTo: new Set(["b"]),
        },
      },
      status: "OK",
      errors: 0,
    },
    {
      name: "interrupted with files not started",
      f: {
        ...facts,
        interrupted: true,
        plan: plan({ failed: [] }),
        result: {
          uploaded: 1,
          skipped: 0,
          bytesUploaded: 1,
          failures: [],
          notStarted: 4,
          uploadedKeys: ["s3://b/a"],
          uploadedTo: new Set(["b"]),
        },
      },
      status: "INTERRUPTED",
      errors: 1,
    },
    {
      name: "fatal before anything",
      f: { ...facts, fatal: "source directory does not exist" },
      status: "FAILED",
      errors: 1,
    },
    {
      name: "a state that could not be saved",
      f: {
        ...facts,
        plan: plan({ failed: [] }),
        result: {
          uploaded: 1,
          skipped: 0,
          bytesUploaded: 1,
          failures: [],
          notStarted: 0,
          uploadedKeys: ["s3://b/a"],
          uploadedTo: new Set(["b"]),
        },
        state: { file: "/s/state.db", saveError: "no space left on device", unsaved: 1 },
      },
      status: "FAILED",
      errors: 1,
    },
  ];
  for (const c of cases) {
    const s = summarize(c.f);
    assert.equal(s.status, c.status, c.name);
    assert.equal(s.errors, c.errors, c.name);
    assert.equal(s.durationMs, 1500, c.name);
    if (!c.f.fatal) assert.equal(s.errors, s.failures.length, c.name);
  }
  const s = summarize(cases[0].f);
  assert.deepEqual(s.uploadedFiles, ["s3://b/a", "s3://b/b", "s3://b/d"]);
  assert.deepEqual([s.uploaded, s.skipped, s.bytesUploaded, s.excluded, s.hashed], [
    3,
    7,
    30,
    1,
    2,
  ]);
});

Deno.test("summarize: a dry run reports what it would upload and never an upload", () => {
  const s = summarize({
    ...facts,
    dryRun: true,
    plan: plan({ failed: [] }),
    result: { skipped: 4, wouldUpload: ["s3://b/k"], bytesToUpload: 9 },
  });
  assert.deepEqual([s.uploaded, s.bytesUploaded, s.skipped], [0, 0, 4]);
  assert.deepEqual(s.wouldUpload, ["s3://b/k"]);
  assert.equal(s.bytesToUpload, 9);
});

Deno.test("withNotifications: a report that reached nobody makes an OK run FAILED", () => {
  const ok = summarize({ ...facts, plan: plan({ failed: [] }) });
  assert.equal(withNotifications(ok, { sns: { sent: true } }).status, "OK");
  assert.equal(withNotifications(ok, { sns: { sent: false, error: "x" } }).status, "FAILED");
  assert.equal(withNotifications(ok, { heartbeat: { sent: false, error: "x" } }).status, "FAILED");
  const interrupted = summarize({ ...facts, interrupted: true });
  assert.equal(withNotifications(interrupted, { sns: { sent: false } }).status, "INTERRUPTED");
});

Deno.test("summarize: a run that reports to nobody warns so, first, in the report", () => {
  const watched = summarize({ ...facts, plan: plan({ failed: [] }) });
  assert.deepEqual(watched.warnings, []);
  const unwatched = summarize({ ...facts, unwatched: true, fatal: "S3 unreachable" });
  assert.deepEqual(unwatched.warnings, [UNWATCHED_WARNING]);
  assert.match(UNWATCHED_WARNING, /nobody will be told when a run fails/);
});
