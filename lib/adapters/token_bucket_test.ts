import assert from "node:assert/strict";
import { burstOf, TokenBucket } from "./token_bucket.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

Deno.test("TokenBucket: a burst at once, then waits that add up to the rate", () => {
  const t = 0;
  const b = new TokenBucket(4 * MiB, { now: () => t });
  assert.equal(burstOf(4 * MiB), Math.floor((4 * MiB) / 10));
  assert.equal(burstOf(KiB), 64 * KiB, "at least one piece");
  // 20 MiB in 64 KiB pieces, taken as fast as allowed: the last waits ~5 s minus the burst.
  let last = 0;
  for (let sent = 0; sent < 20 * MiB; sent += 64 * KiB) last = b.reserve(64 * KiB);
  const expected = ((20 * MiB - burstOf(4 * MiB)) / (4 * MiB)) * 1000;
  assert.ok(Math.abs(last - expected) < 1, `${last} ms, expected ${expected}`);
});

Deno.test("TokenBucket: takers queue in order; time refills; a refund gives back", () => {
  let t = 0;
  const b = new TokenBucket(64 * KiB, { burst: 64 * KiB, now: () => t });
  assert.equal(b.reserve(64 * KiB), 0, "the burst");
  assert.equal(b.reserve(64 * KiB), 1000, "the next waits a second");
  assert.equal(b.reserve(64 * KiB), 2000, "and the one after it two: nobody jumps the queue");
  b.refund(64 * KiB); // one of them gave up: a second's worth less to wait for
  t = 1000;
  assert.equal(b.reserve(32 * KiB), 500);
  t = 100_000; // idle for long: back to a full burst, not more
  assert.equal(b.reserve(64 * KiB), 0);
  assert.equal(b.reserve(64 * KiB), 1000);
  assert.throws(() => new TokenBucket(0), RangeError);
});
