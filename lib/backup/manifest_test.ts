import assert from "node:assert/strict";
import { MANIFEST_REFRESH_MS, manifestDue } from "./manifest.ts";

Deno.test("manifestDue: new key set, an upload to the bucket, or a manifest older than 20 h", () => {
  const now = new Date("2026-02-11T02:00:00Z");
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const cases: Array<[string, { fingerprint?: string; writtenAt?: string }, boolean, boolean]> = [
    ["nothing known (first run, or state lost)", {}, false, true],
    [
      "same keys, written an hour ago",
      { fingerprint: "f", writtenAt: ago(3600_000) },
      false,
      false,
    ],
    [
      "same keys, but the run uploaded to it",
      { fingerprint: "f", writtenAt: ago(1000) },
      true,
      true,
    ],
    ["other keys", { fingerprint: "g", writtenAt: ago(1000) }, false, true],
    [
      "same keys, written 20 h ago",
      { fingerprint: "f", writtenAt: ago(MANIFEST_REFRESH_MS) },
      false,
      true,
    ],
    [
      "same keys, just under 20 h",
      { fingerprint: "f", writtenAt: ago(MANIFEST_REFRESH_MS - 1) },
      false,
      false,
    ],
    ["same keys, date unknown (older state)", { fingerprint: "f" }, false, true],
    [
      "same keys, date in the future (clock set back)",
      { fingerprint: "f", writtenAt: ago(-60_000) },
      false,
      true,
    ],
  ];
  for (const [name, last, uploaded, want] of cases) {
    assert.equal(manifestDue(last, "f", uploaded, now), want, name);
  }
});
