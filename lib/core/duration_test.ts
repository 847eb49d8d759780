import assert from "node:assert/strict";
import { formatAge, humanBytes, isoSeconds, parseDuration } from "./duration.ts";

Deno.test("parseDuration: s, m, h, d, combined; anything else is undefined", () => {
  const cases: Array<[string, number | undefined]> = [
    ["26h", 26 * 3_600_000],
    ["90m", 90 * 60_000],
    ["3600s", 3_600_000],
    ["2d", 2 * 86_400_000],
    ["1d12h", 36 * 3_600_000],
    ["1h30m", 90 * 60_000],
    ["1.5h", 90 * 60_000],
    [" 26h ", 26 * 3_600_000],
    ["0h", undefined],
    ["26", undefined],
    ["h", undefined],
    ["-1h", undefined],
    ["26 h", undefined],
    ["1w", undefined],
    ["", undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseDuration(text), want, JSON.stringify(text));
});

Deno.test("formatAge, isoSeconds, humanBytes", () => {
  const cases: Array<[number, string]> = [
    [0, "0s"],
    [-5000, "0s"],
    [45_999, "45s"],
    [303_000, "5m 3s"],
    [5 * 3_600_000 + 3 * 60_000, "5h 3m"],
    [2 * 86_400_000 + 5 * 3_600_000 + 59_000, "2d 5h"],
  ];
  for (const [ms, want] of cases) assert.equal(formatAge(ms), want);
  assert.equal(isoSeconds(new Date("2026-02-11T02:00:05.123Z")), "2026-02-11T02:00:05Z");
  assert.equal(isoSeconds(new Date("2026-02-11T02:00:05.123Z"), true), "2026-02-11T02:00:06Z");
  assert.equal(isoSeconds(new Date("2026-02-11T02:00:05.000Z"), true), "2026-02-11T02:00:05Z");
  assert.equal(humanBytes(1023), "1023 B");
  assert.equal(humanBytes(1536), "1.5 KiB");
  assert.equal(humanBytes(5 * 1024 ** 3), "5.0 GiB");
});
