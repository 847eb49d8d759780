import assert from "node:assert/strict";
import { pointStats, versionHistory } from "./restore_points.ts";
import type { ObjectVersion } from "../core/ports.ts";

const v = (key: string, iso: string, size: number, isDeleteMarker = false): ObjectVersion => ({
  key,
  versionId: `${key}@${iso}`,
  isLatest: false,
  isDeleteMarker,
  lastModified: new Date(iso),
  size,
  storageClass: "STANDARD",
});

Deno.test("pointStats: per listed key, the newest version no later than the time", () => {
  // In listing order: per key newest first.
  const history = versionHistory([
    v("a", "2026-02-12T02:00:00Z", 30),
    v("a", "2026-02-11T02:00:00Z", 10),
    v("b", "2026-02-11T02:00:00Z", 5),
    v("c", "2026-02-12T02:00:00Z", 0, true),
    v("c", "2026-02-11T02:00:00Z", 7),
    // Same second: the listing gives the delete marker (the latest) first.
    v("d", "2026-02-11T02:00:00Z", 0, true),
    v("d", "2026-02-11T02:00:00Z", 9),
  ]);
  const cases: Array<[string, string[], { files: number; bytes: number; missing: number }]> = [
    ["2026-02-10T00:00:00Z", ["a", "b"], { files: 0, bytes: 0, missing: 2 }],
    ["2026-02-11T02:00:00Z", ["a", "b", "c"], { files: 3, bytes: 22, missing: 0 }],
    ["2026-02-11T12:00:00Z", ["a", "c", "d"], { files: 2, bytes: 17, missing: 1 }],
    ["2026-02-12T02:00:00Z", ["a", "b", "c"], { files: 2, bytes: 35, missing: 1 }],
    ["2026-02-13T00:00:00Z", ["a", "zz"], { files: 1, bytes: 30, missing: 1 }],
    ["2026-02-13T00:00:00Z", [], { files: 0, bytes: 0, missing: 0 }],
  ];
  for (const [time, keys, want] of cases) {
    assert.deepEqual(pointStats(keys, new Date(time), history), want, `${time} ${keys}`);
  }
});
