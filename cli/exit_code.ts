/**
 * The one place where how a command ended becomes a process exit code (SPEC "Exit codes"), as
 * rclone's lib/exitcode: every command and every error reach the process through here.
 */
import { CommanderError } from "@commander-js/extra-typings";
import { type Outcome, S3BackupError } from "../lib/core/errors.ts";

export const EXIT_CODES: Readonly<Record<Outcome, number>> = {
  ok: 0,
  partial: 1,
  usage: 2,
  locked: 3,
  unreachable: 4,
  sigint: 130,
  sigterm: 143,
};

export function exitCodeOf(outcome: Outcome): number {
  return EXIT_CODES[outcome];
}

/**
 * The outcome of an error that ended a command: ours carry theirs; commander's usage errors
 * (already printed) are usage, --help and --version ok; anything else is a failure.
 */
export function outcomeOfError(err: unknown): Outcome {
  if (err instanceof S3BackupError) return err.outcome;
  if (err instanceof CommanderError) return err.exitCode === 0 ? "ok" : "usage";
  return "partial";
}
