/** Test assertions on node:assert (no JSR here, so no @std/assert). */
import nodeAssert from "node:assert/strict";

export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

export function assertEquals<T>(actual: unknown, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  nodeAssert.match(actual, re, msg);
}

export function assertThrows(
  fn: () => unknown,
  cls: new (...args: never[]) => Error,
  includes: string,
) {
  nodeAssert.throws(fn, (err: unknown) => {
    nodeAssert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
    nodeAssert.ok(
      (err as Error).message.includes(includes),
      `'${(err as Error).message}' lacks '${includes}'`,
    );
    return true;
  });
}
