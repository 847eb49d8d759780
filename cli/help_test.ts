import assert from "node:assert/strict";
import { buildProgram } from "./program.ts";

// `status --help` once printed "(default: 26h) (default: {"ms":93600000,...})": a default given
// as an object must show its text, once.
Deno.test("every command's --help shows each option's default once, as text", () => {
  const program = buildProgram(() => {});
  const commands = [program, ...program.commands];
  assert(commands.length > 5, "the program defines its commands");
  for (const command of commands) {
    const help = command.helpInformation().replace(/\s+/g, " ");
    const perOption = help.split(/ (?=-{1,2}[a-z])/);
    for (const option of perOption) {
      const defaults = option.match(/\(default:/g)?.length ?? 0;
      assert(defaults <= 1, `${command.name()}: ${option}`);
    }
    assert.equal(help.includes('{"'), false, `${command.name()} --help shows an object: ${help}`);
    assert.equal(help.includes("[object"), false, `${command.name()} --help: ${help}`);
  }
});
