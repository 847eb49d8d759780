import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { compareKeys } from "./key_order.ts";

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const sign = (n: number) => Math.sign(n);

Deno.test("compareKeys: S3's order (UTF-8 bytes), not JavaScript's (UTF-16 units)", () => {
  const cases: Array<[string, string]> = [
    ["a", "b"],
    ["a", "ab"],
    ["a/b", "a-c"], // '/' (0x2f) after '-' (0x2d)
    ["a/b", "a0"],
    ["\u{1F600}.txt", "\uFFFD.txt"], // UTF-16 puts the emoji first, UTF-8 after
    ["\u{1F600}", "\uE000"],
    ["\uD7FF", "\uE000"],
    ["caf\u00e9", "cafe\u0301"],
    ["\u{10FFFF}", "\u{10000}"],
    ["x\u{1F600}y", "x\uFFFFy"],
    ["same", "same"],
    ["", "a"],
  ];
  for (const [a, b] of cases) {
    assert.equal(sign(compareKeys(a, b)), sign(utf8Order(a, b)), `${a} vs ${b}`);
    assert.equal(sign(compareKeys(b, a)), sign(utf8Order(b, a)), `${b} vs ${a}`);
  }
  // Where the two orders differ, JavaScript's own comparison is wrong for S3.
  assert.ok("\u{1F600}" < "\uE000" && compareKeys("\u{1F600}", "\uE000") > 0);
});

Deno.test("compareKeys sorts random strings exactly as their UTF-8 bytes sort", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pool = [
    "a",
    "z",
    "/",
    "-",
    ".",
    "\u00e9",
    "\uD7FF",
    "\uE000",
    "\uFFFD",
    "\u{1F600}",
    "\u{10000}",
  ];
  const words = Array.from(
    { length: 2000 },
    () =>
      Array.from(
        { length: 1 + Math.floor(rand() * 6) },
        () => pool[Math.floor(rand() * pool.length)],
      )
        .join(""),
  );
  const byUs = [...words].sort(compareKeys);
  const byBytes = [...words].sort(utf8Order);
  assert.deepEqual(byUs, byBytes);
});
