import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { SortedKeys } from "./sorted_keys.ts";

function naive(keys: Set<string>, atLeast: string, after?: string): string[] {
  return [...keys].sort().filter((k) => k >= atLeast && (after === undefined || k > after));
}

Deno.test("SortedKeys agrees with a sorted array through adds, deletes and block splits", () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const key = () => `d${rand(40)}/f${rand(3000)}`;
  const model = new Set(Array.from({ length: 500 }, key));
  const keys = new SortedKeys(model);
  for (let step = 0; step < 12_000; step++) {
    const k = key();
    if (rand(5) === 0) {
      model.delete(k);
      keys.delete(k);
    } else {
      model.add(k);
      keys.add(k);
    }
  }
  assertEquals([...keys.from("")], naive(model, ""));
  for (
    const [atLeast, after] of [["d1", undefined], ["d2/", "d2/f5"], ["d39/f2999", "d4"], [
      "e",
      undefined,
    ]]
  ) {
    assertEquals([...keys.from(atLeast!, after)], naive(model, atLeast!, after));
  }
});

Deno.test("SortedKeys: empty, and a key deleted twice", () => {
  const keys = new SortedKeys();
  assertEquals([...keys.from("")], []);
  keys.add("a");
  keys.delete("a");
  keys.delete("a");
  assertEquals([...keys.from("")], []);
});
