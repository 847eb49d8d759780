/**
 * s3backup: builds the command line, runs one command, and turns how it ended into the exit
 * code (cli/exit_code.ts). The only place that exits.
 *
 * Start-up (bench/README.md, Start-up): this file imports almost nothing; commander (which
 * brings up Deno's Node layer, ~20 ms) is loaded after the `--version` fast path, and each
 * command imports its own code, the AWS SDK included, when it runs.
 */
import { describeError, type Outcome, S3BackupError } from "./lib/core/errors.ts";
import { VERSION_LINE } from "./lib/core/version.ts";
import { stderr, stdout } from "./cli/output.ts";

/** `s3backup --version` (or -V) alone: what commander prints for it, without loading it. */
export function isVersionOnly(args: string[]): boolean {
  return args.length === 1 && (args[0] === "--version" || args[0] === "-V");
}

export async function main(args: string[]): Promise<number> {
  if (isVersionOnly(args)) {
    stdout(`${VERSION_LINE}\n`);
    return 0; // exitCodeOf("ok"), cli/startup_test.ts checks both
  }
  const { buildProgram } = await import("./cli/program.ts");
  const { exitCodeOf, outcomeOfError } = await import("./cli/exit_code.ts");
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
