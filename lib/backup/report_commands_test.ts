import assert from "node:assert/strict";
import { commandLines, commandsJson } from "./report_commands.ts";
import { summarize } from "./summary.ts";
import { formatReport, snsMessage } from "./report.ts";
import type { DumpOutcome, HookOutcome } from "../core/types.ts";

const FACTS = {
  host: "db1",
  source: "/srv",
  dryRun: false,
  startedAt: new Date("2026-02-11T02:00:00Z"),
  endedAt: new Date("2026-02-11T02:05:00Z"),
  requests: {},
  interrupted: false,
};

const DUMPS: DumpOutcome[] = [
  {
    name: "shop",
    bucket: "acme-db",
    key: "dumps/shop.dump",
    status: "uploaded",
    bytes: 48_213_327,
    durationMs: 21_400,
    sha256: "ab".repeat(32),
    versionId: "v9",
  },
  {
    name: "globals",
    bucket: "acme-db",
    key: "dumps/globals.sql",
    status: "failed",
    bytes: 120,
    durationMs: 500,
    error: "exited with code 1",
    stderr: ['pg_dumpall: error: role "s3backup" does not exist'],
  },
];

const HOOKS: HookOutcome[] = [
  { phase: "before", command: "/usr/local/sbin/snapshot-up", status: "ok", durationMs: 1200 },
  {
    phase: "after",
    command: "/usr/local/sbin/snapshot-down",
    status: "failed",
    durationMs: 30,
    error: "exited with code 5",
  },
];

Deno.test("a failed dump or hook is a failure of the run (FAILED, counted in the errors)", () => {
  const s = summarize({ ...FACTS, dumps: DUMPS, hooks: HOOKS });
  assert.equal(s.status, "FAILED");
  assert.equal(s.errors, 2);
  assert.deepEqual(s.failures, [
    { path: "after hook /usr/local/sbin/snapshot-down", error: "exited with code 5" },
    {
      path: "dump globals",
      error: 'exited with code 1; stderr: pg_dumpall: error: role "s3backup" does not exist ' +
        "(no new version of s3://acme-db/dumps/globals.sql)",
    },
  ]);
  const ok = summarize({ ...FACTS, dumps: [DUMPS[0]], hooks: [HOOKS[0]] });
  assert.equal(ok.status, "OK");
  assert.equal(ok.errors, 0);
});

Deno.test("report lines: dumps and hooks, after the counts; the SNS body has them too", () => {
  const s = summarize({ ...FACTS, dumps: DUMPS, hooks: HOOKS });
  assert.deepEqual(commandLines(s), [
    "Dumps: 1 uploaded, 1 failed",
    "  shop: 46.0 MiB (48213327 bytes) in 21.40 s -> s3://acme-db/dumps/shop.dump",
    "  globals: FAILED after 0.50 s: exited with code 1 (no new version)",
    "Hooks: 1 ok, 1 failed",
    "  before: /usr/local/sbin/snapshot-up: ok in 1.20 s",
    "  after: /usr/local/sbin/snapshot-down: FAILED after 0.03 s: exited with code 5",
  ]);
  const text = formatReport(s);
  assert.ok(text.startsWith("Backup completed.\nFiles uploaded: 0\n"), "the first lines stay");
  assert.ok(text.includes("Dumps: 1 uploaded, 1 failed\n"));
  assert.ok(snsMessage(s).includes("  shop: 46.0 MiB"));
  assert.deepEqual(commandLines(summarize(FACTS)), [], "nothing when none are configured");
});

Deno.test("--json: dumps and hooks in snake_case, only when configured", () => {
  const s = summarize({ ...FACTS, dumps: DUMPS, hooks: HOOKS });
  assert.deepEqual(commandsJson(s), {
    dumps: [
      {
        name: "shop",
        bucket: "acme-db",
        key: "dumps/shop.dump",
        status: "uploaded",
        bytes: 48_213_327,
        duration_ms: 21_400,
        sha256: "ab".repeat(32),
        version_id: "v9",
      },
      {
        name: "globals",
        bucket: "acme-db",
        key: "dumps/globals.sql",
        status: "failed",
        bytes: 120,
        duration_ms: 500,
        error: "exited with code 1",
        stderr: ['pg_dumpall: error: role "s3backup" does not exist'],
      },
    ],
    hooks: [
      {
        phase: "before",
        command: "/usr/local/sbin/snapshot-up",
        status: "ok",
        duration_ms: 1200,
      },
      {
        phase: "after",
        command: "/usr/local/sbin/snapshot-down",
        status: "failed",
        duration_ms: 30,
        error: "exited with code 5",
      },
    ],
  });
  assert.deepEqual(commandsJson(summarize(FACTS)), {});
});

Deno.test("dry run: what would run", () => {
  const s = summarize({
    ...FACTS,
    dryRun: true,
    result: { skipped: 0, wouldUpload: [], bytesToUpload: 0 },
    dumps: [{ ...DUMPS[0], status: "would-run", bytes: 0, durationMs: 0 }],
    hooks: [{ ...HOOKS[0], status: "would-run", durationMs: 0 }],
  });
  assert.deepEqual(commandLines(s), [
    "Dumps to run: 1",
    "  shop: would run -> s3://acme-db/dumps/shop.dump",
    "Hooks to run: 1",
    "  before: /usr/local/sbin/snapshot-up: would run",
  ]);
});
