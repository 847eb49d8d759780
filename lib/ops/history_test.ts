import assert from "node:assert/strict";
import { formatHistory, historyJson } from "./history.ts";

Deno.test("formatHistory: a header and one aligned row a run; historyJson in snake_case", () => {
  const runs = [
    {
      startedAt: "2026-02-12T02:00:00.250Z",
      status: "FAILED",
      uploaded: 0,
      skipped: 0,
      errors: 1,
      bytesUploaded: 0,
      durationMs: 1234,
    },
    {
      startedAt: "2026-02-11T02:00:00.000Z",
      status: "OK",
      uploaded: 1200,
      skipped: 3,
      errors: 0,
      bytesUploaded: 5 * 1024 * 1024,
      durationMs: 61_000,
    },
  ];
  assert.equal(
    formatHistory(runs),
    [
      "STARTED               STATUS  UPLOADED  SKIPPED  ERRORS    BYTES  DURATION",
      "2026-02-12T02:00:00Z  FAILED         0        0       1      0 B     1.2 s",
      "2026-02-11T02:00:00Z  OK          1200        3       0  5.0 MiB    61.0 s",
      "",
    ].join("\n"),
  );
  assert.deepEqual(JSON.parse(historyJson(runs))[1], {
    started_at: "2026-02-11T02:00:00.000Z",
    status: "OK",
    uploaded: 1200,
    skipped: 3,
    errors: 0,
    bytes_uploaded: 5242880,
    duration_ms: 61000,
  });
});
