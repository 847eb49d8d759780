import assert from "node:assert/strict";
import { statusCheck } from "./status.ts";
import type { RunRecord } from "../core/ports.ts";

const run = (startedAt: string, status = "OK", errors = 0): RunRecord => ({
  startedAt,
  status,
  uploaded: 4,
  skipped: 10,
  errors,
  bytesUploaded: 2000,
  durationMs: 60_000,
});
const NOW = new Date("2026-02-12T03:01:00Z");
const base = { stateExists: true, stateFile: "/s/state.db", now: NOW, maxAgeMs: 26 * 3_600_000 };

Deno.test("statusCheck: OK within max-age, WARNING beyond it or without a successful run", () => {
  const cases: Array<[string, Parameters<typeof statusCheck>[0], boolean, RegExp]> = [
    [
      "a successful run 1 h ago",
      { ...base, lastOk: run("2026-02-12T02:00:00Z"), latest: run("2026-02-12T02:00:00Z") },
      true,
      /^S3BACKUP OK - last successful run ended 1h 0m ago \(2026-02-12T02:01:00Z: 4 uploaded, 10 skipped, 0 errors\) \| age=3600s;93600$/,
    ],
    [
      "exactly max-age is still OK",
      { ...base, maxAgeMs: 3_600_000, lastOk: run("2026-02-12T02:00:00Z") },
      true,
      /^S3BACKUP OK - /,
    ],
    [
      "older than max-age",
      { ...base, lastOk: run("2026-02-10T02:00:00Z"), maxAgeText: "26h" },
      false,
      /^S3BACKUP WARNING - last successful run ended 2d 1h ago .*, older than 26h \| age=176400s;93600$/,
    ],
    [
      "a later failed run is named; the age is still the successful one's",
      {
        ...base,
        lastOk: run("2026-02-11T02:00:00Z"),
        latest: run("2026-02-12T02:00:00Z", "FAILED", 3),
      },
      true,
      /^S3BACKUP OK - last successful run ended 1d 1h ago .*; the latest run ended FAILED 1h 0m ago \(4 uploaded, 10 skipped, 3 errors\) \| /,
    ],
    [
      "no state at all",
      { ...base, stateExists: false },
      false,
      /^S3BACKUP WARNING - no local state at \/s\/state\.db: no backup has run on this machine/,
    ],
    [
      "only failed runs",
      { ...base, latest: run("2026-02-12T02:00:00Z", "FAILED", 1) },
      false,
      /^S3BACKUP WARNING - no successful run recorded; the latest, 2026-02-12T02:00:00Z, ended FAILED/,
    ],
    [
      "a state with no run",
      { ...base },
      false,
      /^S3BACKUP WARNING - no run recorded in \/s\/state\.db$/,
    ],
  ];
  for (const [name, input, ok, re] of cases) {
    const got = statusCheck(input);
    assert.equal(got.ok, ok, name);
    assert.match(got.line, re, name);
    assert.doesNotMatch(got.line, /\n/, `${name}: one line`);
  }
});
