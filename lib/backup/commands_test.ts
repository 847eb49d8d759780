import assert from "node:assert/strict";
import { describeExit, showArgv, succeeded } from "./commands.ts";

Deno.test("showArgv: one line, quoted where needed, no URL password", () => {
  assert.equal(showArgv(["pg_dump", "--format=custom", "prod"]), "pg_dump --format=custom prod");
  assert.equal(showArgv(["sh", "-c", 'echo "a b"; exit 1']), 'sh -c "echo \\"a b\\"; exit 1"');
  assert.equal(
    showArgv(["pg_dump", "postgresql://backup:hunter2@db.lan/prod"]),
    "pg_dump postgresql://***@db.lan/prod",
  );
});

Deno.test("describeExit and succeeded: each way a command ends", () => {
  const base = { timedOut: false, stderrTail: [] };
  const cases: Array<[Parameters<typeof succeeded>[0], string, boolean]> = [
    [{ ...base, code: 0 }, "exited with code 0", true],
    [{ ...base, code: 2 }, "exited with code 2", false],
    [{ ...base, signal: "SIGKILL" }, "killed by SIGKILL", false],
    [{ ...base, signal: "SIGTERM", timedOut: true }, "timed out after 2h (killed)", false],
    [{ ...base, startError: "command not found: pg_dump" }, "command not found: pg_dump", false],
  ];
  for (const [exit, words, ok] of cases) {
    assert.equal(describeExit(exit, "2h"), words);
    assert.equal(succeeded(exit), ok, words);
  }
});
