/** Shared exit handling for the infra CLI entry points. */
import { S3BackupError } from "../lib/core/errors.ts";
import { exitCodeOf } from "../cli/exit_code.ts";

/**
 * Runs a CLI body and exits with its code; S3BackupErrors (config, usage) print a one-line
 * message and exit with their code (2). Anything else is a bug and keeps its stack trace.
 */
export function runCli(body: () => Promise<number> | number): void {
  Promise.resolve()
    .then(body)
    .then((code) => Deno.exit(code))
    .catch((err) => {
      if (err instanceof S3BackupError) {
        console.error(`error: ${err.message}`);
        Deno.exit(exitCodeOf(err.outcome));
      }
      throw err;
    });
}
