/** The s3backup command line: one commander program, one file per command. */
import { Argument, Command } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import { VERSION_LINE } from "../lib/core/version.ts";
import { completionScript, SHELLS, specFromCommander } from "./completions.ts";
import { defineRun } from "./run.ts";
import { defineVerify } from "./verify.ts";
import { defineRestore } from "./restore.ts";
import { defineInit } from "./init.ts";
import { defineHistory } from "./history.ts";
import { defineStatus } from "./status.ts";
import { defineSnapshots } from "./snapshots.ts";
import { defineFleet } from "./fleet.ts";
import { definePolicy } from "./policy.ts";
import { stdout } from "./output.ts";
import { addLogOptions } from "./log_options.ts";

/** The program; each command calls `done` with how it ended. */
export function buildProgram(done: (o: Outcome) => void): Command {
  const program = new Command()
    .name("s3backup")
    .description("Incremental, versioned backups of a server's files to Amazon S3.")
    .version(VERSION_LINE, "-V, --version")
    .showHelpAfterError()
    .exitOverride();
  defineRun(program, done);
  defineVerify(program, done);
  defineRestore(program, done);
  defineInit(program, done);
  defineHistory(program, done);
  defineSnapshots(program, done);
  defineStatus(program, done);
  defineFleet(program, done);
  definePolicy(program, done);
  program.command("completions")
    .description("print the shell completion script for bash, zsh or fish")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action((shell) => {
      stdout(completionScript(shell, specFromCommander(program)));
      done("ok");
    });
  // -v/-q on every command (SPEC), those defined without them included.
  for (const command of program.commands) addLogOptions(command);
  return program as unknown as Command;
}
