/** Shared command-line handling for the infra entry points (commander, as main.ts uses). */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { S3BackupError, UsageError } from "../lib/core/errors.ts";
import { exitCodeOf } from "../cli/exit_code.ts";

/** A command with the options every infra entry point takes; errors are thrown, not printed. */
export function infraCommand(name: string, description: string) {
  return new Command()
    .name(name)
    .description(description)
    .option(
      "-c, --config <path>",
      "config file (default: $S3BACKUP_CONFIG, ./s3backup.toml, /etc/s3backup/s3backup.toml)",
    )
    .option("--out <dir>", "synth output folder (default: infra/cdktf.out)")
    .option("--state <file>", "local Terraform state file (default: infra/terraform.tfstate)")
    .exitOverride()
    // Usage errors become one UsageError line (runCli); help still prints.
    .configureOutput({ writeErr: () => {} });
}

/** Parses user arguments; commander's usage errors become UsageErrors naming the usage. */
export function parseWith(program: Command<unknown[], Record<string, unknown>>, args: string[]) {
  try {
    program.parse(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode !== 0) {
      throw new UsageError(
        `${err.message.replace(/^error: /, "")}\nusage: ${program.name()} ${program.usage()}`,
      );
    }
    throw err;
  }
}

/**
 * Runs a CLI body and exits with its code; S3BackupErrors (config, usage) print a one-line
 * message and exit with their code (2); --help exits 0. Anything else is a bug and keeps its
 * stack trace.
 */
export function runCli(body: () => Promise<number> | number): void {
  Promise.resolve()
    .then(body)
    .then((code) => Deno.exit(code))
    .catch((err) => {
      if (err instanceof CommanderError && err.exitCode === 0) Deno.exit(0);
      if (err instanceof S3BackupError) {
        console.error(`error: ${err.message}`);
        Deno.exit(exitCodeOf(err.outcome));
      }
      throw err;
    });
}
