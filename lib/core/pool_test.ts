import assert from "node:assert/strict";
import { forEachPool, Semaphore } from "./pool.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("forEachPool runs every item and never exceeds the limit", async () => {
  const cases: Array<{ items: number; limit: number; maxSeen: number }> = [
    { items: 0, limit: 4, maxSeen: 0 },
    { items: 1, limit: 4, maxSeen: 1 },
    { items: 3, limit: 8, maxSeen: 3 },
    { items: 40, limit: 4, maxSeen: 4 },
    { items: 25, limit: 1, maxSeen: 1 },
    { items: 5, limit: 0, maxSeen: 1 }, // a limit below 1 still makes progress
  ];
  for (const c of cases) {
    let inFlight = 0;
    let maxSeen = 0;
    const seen: number[] = [];
    const items = Array.from({ length: c.items }, (_, i) => i * 10);
    await forEachPool(items, c.limit, async (item, index) => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      assert.equal(item, index * 10);
      await tick((index * 7) % 5);
      seen.push(index);
      inFlight--;
    });
    assert.equal(maxSeen, c.maxSeen, JSON.stringify(c));
    assert.deepEqual([...seen].sort((a, b) => a - b), items.map((_, i) => i), JSON.stringify(c));
  }
});

Deno.test("forEachPool stops taking items once the signal is aborted", async () => {
  const controller = new AbortController();
  const started: number[] = [];
  await forEachPool(Array.from({ length: 100 }, (_, i) => i), 3, async (i) => {
    started.push(i);
    if (i === 10) controller.abort("SIGINT");
    await tick(1);
  }, controller.signal);
  // Items 0..10 started; at most the two other in-flight workers were already past the check.
  assert.ok(started.includes(10));
  assert.ok(started.length <= 13, `started ${started.length}`);
  assert.ok(Math.max(...started) <= 12);

  const already = new AbortController();
  already.abort();
  let calls = 0;
  await forEachPool([1, 2, 3], 2, () => {
    calls++;
    return Promise.resolve();
  }, already.signal);
  assert.equal(calls, 0);
});

Deno.test("forEachPool rethrows the first error and starts no item after it", async () => {
  const first = new Error("first");
  const second = new Error("second");
  const started: number[] = [];
  const finished: number[] = [];
  let startedAfterError = 0;
  let failed = false;
  await assert.rejects(
    forEachPool(Array.from({ length: 50 }, (_, i) => i), 4, async (i) => {
      if (failed) startedAfterError++;
      started.push(i);
      if (i === 5) {
        await tick(1);
        failed = true;
        throw first;
      }
      if (i === 6) {
        await tick(5);
        throw second; // in flight when the first failed: settles, but is not the one rethrown
      }
      await tick(3);
      finished.push(i);
    }),
    (err) => err === first,
  );
  assert.equal(startedAfterError, 0, `started after the error: ${startedAfterError}`);
  assert.ok(started.length < 50);
  // In-flight calls were allowed to settle before the rejection.
  for (const i of started.filter((i) => i !== 5 && i !== 6)) {
    assert.ok(finished.includes(i), `${i}`);
  }
});

Deno.test("Semaphore: never more than its slots held; every waiter gets a turn", async () => {
  const sem = new Semaphore(3);
  let held = 0;
  let most = 0;
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const release = await sem.acquire();
    held++;
    most = Math.max(most, held);
    await new Promise((r) => setTimeout(r, i % 3));
    held--;
    release();
    release(); // a second call does nothing
  }));
  assert.equal(most, 3);
  assert.equal(held, 0);
  // All slots free again: three acquire at once without waiting.
  const r = await Promise.all([sem.acquire(), sem.acquire(), sem.acquire()]);
  r.forEach((f) => f());
});

Deno.test("Semaphore of units: holders never exceed the budget; first come, first served", async () => {
  const budget = new Semaphore(10);
  let held = 0;
  let peak = 0;
  const order: number[] = [];
  const sizes = [6, 6, 3, 10, 1, 25];
  await Promise.all(sizes.map(async (n, i) => {
    const release = await budget.acquire(n);
    order.push(i);
    held += Math.min(n, 10);
    peak = Math.max(peak, held);
    await new Promise((r) => setTimeout(r, 5));
    held -= Math.min(n, 10);
    release();
  }));
  assert.ok(peak <= 10, `peak ${peak}`);
  // 3 (3 units) waits behind 1 (6 units) although it would fit: no overtaking, no starvation.
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
});
