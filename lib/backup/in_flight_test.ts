import assert from "node:assert/strict";
import { InFlightLimit } from "./in_flight.ts";

/** Finishes rounds of uploads at `perSecond(limit)` files a second; the limits seen after each. */
function rounds(perSecond: (limit: number) => number, n: number, fail?: number): number[] {
  let t = 0;
  const limit = new InFlightLimit(16, 64, () => t);
  const seen: number[] = [];
  for (let r = 0; r < n; r++) {
    const l = limit.limit;
    for (let i = 0; i < l; i++) {
      t += 1000 / perSecond(l);
      limit.finished(!(fail === r && i === 0));
    }
    seen.push(limit.limit);
  }
  return seen;
}

Deno.test("InFlightLimit: grows while more in flight means more done, not past the maximum", () => {
  const cases: Array<[string, (limit: number) => number, number[]]> = [
    // A 20 ms round trip: each upload in flight finishes 50 a second.
    ["request-bound (20 ms)", (l) => l * 50, [32, 64, 64, 64]],
    // Loopback: the CPU does 2,000 a second however many are in flight.
    ["CPU-bound (loopback)", () => 2000, [32, 32, 32, 32]],
    // Gains that fade: 16 → 32 pays, 32 → 64 pays less than a tenth.
    ["saturating", (l) => Math.min(l, 33) * 50, [32, 64, 64, 64]],
  ];
  for (const [name, perSecond, want] of cases) assert.deepEqual(rounds(perSecond, 4), want, name);
});

Deno.test("InFlightLimit: a failed upload halves the limit and stops growth", () => {
  assert.deepEqual(rounds((l) => l * 50, 4, 1), [32, 16, 16, 16]);
});

Deno.test("InFlightLimit: workers beyond the limit wait until it grows or the work ends", async () => {
  let t = 0;
  const limit = new InFlightLimit(2, 8, () => t);
  let admitted = 0;
  const waiting = [2, 3, 5].map((w) => limit.admit(w).then(() => admitted++));
  await limit.admit(1);
  assert.equal(admitted, 0);
  t = 10;
  limit.finished(true);
  limit.finished(true); // a round of 2: the limit doubles to 4
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(admitted, 2, "workers 2 and 3 go");
  limit.close();
  await Promise.all(waiting);
  assert.equal(admitted, 3);
});
