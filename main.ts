/**
 * s3backup: builds the command line, runs one command, and turns how it ended into the exit
 * code (cli/exit_code.ts). The only place that exits.
 */
import { describeError, type Outcome, S3BackupError } from "./lib/core/errors.ts";
import { buildProgram } from "./cli/program.ts";
import { exitCodeOf, outcomeOfError } from "./cli/exit_code.ts";
import { stderr } from "./cli/output.ts";

export async function main(args: string[]): Promise<number> {
  let outcome: Outcome = "ok";
  const program = buildProgram((o) => (outcome = o));
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    outcome = outcomeOfError(err);
    // commander printed its own usage errors; ours are one line; anything else is a bug.
    if (err instanceof S3BackupError) stderr(`s3backup: ${err.message}\n`);
    else if (outcome === "partial") {
      stderr(`s3backup: error: ${describeError(err)}\n`);
      if (Deno.env.get("S3BACKUP_DEBUG")) stderr(`${(err as Error)?.stack ?? ""}\n`);
    }
  }
  return exitCodeOf(outcome);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
