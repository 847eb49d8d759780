import assert from "node:assert/strict";
import { skippedLine } from "./run.ts";
import type { PlanItem } from "../core/types.ts";

function item(bucket: string, action: "upload" | "skip"): PlanItem {
  return {
    file: { relPath: "f", absPath: "/f", size: 1, mtimeMs: 0, ctimeMs: 0, ino: 0, dev: 0 },
    category: "c",
    bucket,
    key: "f",
    action,
    reason: action === "upload" ? "new" : "metadata-changed, same content",
  };
}

Deno.test("skippedLine: one line counting the unchanged files per bucket", () => {
  const cases: Array<[Map<string, number>, PlanItem[], string | undefined]> = [
    [new Map(), [], undefined],
    [new Map(), [item("docs", "upload")], undefined],
    [new Map([["docs", 1]]), [], "Skipped 1 unchanged file: 1 in docs."],
    [
      new Map([["pics", 5_000], ["docs", 15_000]]),
      [],
      "Skipped 20,000 unchanged files: 15,000 in docs, 5,000 in pics.",
    ],
    [
      // Files read to decide and found the same are skipped too.
      new Map([["docs", 2]]),
      [item("docs", "skip"), item("db", "skip"), item("docs", "upload")],
      "Skipped 4 unchanged files: 1 in db, 3 in docs.",
    ],
  ];
  for (const [skippedByBucket, items, want] of cases) {
    assert.equal(skippedLine({ skippedByBucket, items }), want);
  }
});
