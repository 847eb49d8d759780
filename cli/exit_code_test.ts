import assert from "node:assert/strict";
import { CommanderError } from "@commander-js/extra-typings";
import { EXIT_CODES, exitCodeOf, outcomeOfError } from "./exit_code.ts";
import {
  ConfigError,
  LockHeldError,
  SourceError,
  UnreachableError,
  UsageError,
} from "../lib/core/errors.ts";

Deno.test("exit codes are SPEC's table, and each error class lands on its row", () => {
  assert.deepEqual(EXIT_CODES, {
    ok: 0,
    partial: 1,
    usage: 2,
    locked: 3,
    unreachable: 4,
    sigint: 130,
    sigterm: 143,
  });
  const cases: Array<[unknown, number]> = [
    [new ConfigError("x"), 2],
    [new UsageError("x"), 2],
    [new SourceError("x"), 2],
    [new LockHeldError("x"), 3],
    [new UnreachableError("x"), 4],
    [new CommanderError(0, "commander.helpDisplayed", ""), 0],
    [new CommanderError(1, "commander.unknownOption", ""), 2],
    [new Error("a bug"), 1],
  ];
  for (const [err, code] of cases) assert.equal(exitCodeOf(outcomeOfError(err)), code, String(err));
});
