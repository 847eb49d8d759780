import assert from "node:assert/strict";
import * as v from "valibot";
import { parseRate, rate, rateError } from "./rate.ts";
import { formatIssue } from "./schema.ts";

Deno.test("parseRate: bytes per second, K/M/G in powers of 1024, 0 or off for none", () => {
  const cases: [string, number | undefined][] = [
    ["4M", 4 * 1024 * 1024],
    ["4m", 4 * 1024 * 1024],
    ["10K", 10_240],
    ["1.5M", 1.5 * 1024 * 1024],
    ["1G", 1024 ** 3],
    ["2MiB", 2 * 1024 * 1024],
    ["2MB/s", 2 * 1024 * 1024],
    ["1048576", 1_048_576],
    ["1024", 1024],
    ["0", 0],
    ["off", 0],
    ["1023", undefined], // below 1K
    ["0.5K", undefined],
    ["", undefined],
    ["M", undefined],
    ["-1M", undefined],
    ["4T", undefined],
    ["fast", undefined],
    ["1e9", undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseRate(text), want, text);
  assert.match(rateError("100"), /below the minimum of 1K/);
  assert.match(rateError("fast"), /'fast' is not a rate: bytes per second/);
});

Deno.test("rate(): the config's bwlimit is a rate string or an integer, named on error", () => {
  const schema = v.object({ bwlimit: rate() });
  assert.deepEqual(v.parse(schema, { bwlimit: "10M" }), { bwlimit: 10 * 1024 * 1024 });
  assert.deepEqual(v.parse(schema, { bwlimit: 65536 }), { bwlimit: 65536 });
  const issue = (value: unknown) => {
    const r = v.safeParse(schema, { bwlimit: value });
    assert.ok(!r.success);
    return formatIssue(r.issues[0]);
  };
  assert.match(issue("10 megs"), /^'bwlimit' = '10 megs' is not a rate/);
  assert.match(issue(true), /^'bwlimit' must be a rate .*, got boolean$/);
  assert.match(issue(100), /^'bwlimit' = '100' is below the minimum/);
});
