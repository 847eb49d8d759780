import assert from "node:assert/strict";
import { skippedLine } from "./run.ts";

Deno.test("skippedLine: one line counting the unchanged files per bucket", () => {
  const cases: Array<[Map<string, number>, string | undefined]> = [
    [new Map(), undefined],
    [new Map([["docs", 0]]), undefined],
    [new Map([["docs", 1]]), "Skipped 1 unchanged file: 1 in docs."],
    [
      new Map([["pics", 5_000], ["docs", 15_000]]),
      "Skipped 20,000 unchanged files: 15,000 in docs, 5,000 in pics.",
    ],
  ];
  for (const [skippedByBucket, want] of cases) assert.equal(skippedLine(skippedByBucket), want);
});
