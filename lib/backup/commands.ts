/** What dumps and hooks share: how a command's argv and its end are put in words. Pure. */
import type { CommandExit } from "../core/ports.ts";
import { redactUserinfo } from "../core/redact.ts";

/**
 * An argv as one line: each argument quoted when it would not read as one word, and a URL's
 * password masked (the line goes into the report, to SNS).
 */
export function showArgv(argv: string[]): string {
  return redactUserinfo(
    argv.map((a) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)).join(" "),
  );
}

/** Whether a command ended well: started, not timed out, no signal, exit code 0. */
export function succeeded(exit: CommandExit): boolean {
  return exit.startError === undefined && !exit.timedOut && exit.signal === undefined &&
    exit.code === 0;
}

/** "exited with code 1", "killed by SIGTERM", "timed out after 2h (killed)", "command not found: x". */
export function describeExit(exit: CommandExit, timeout: string): string {
  if (exit.startError !== undefined) return exit.startError;
  if (exit.timedOut) return `timed out after ${timeout} (killed)`;
  if (exit.signal !== undefined) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/** A failure's one line: what happened, then the command's last stderr lines. */
export function withStderr(what: string, stderr: string[] | undefined): string {
  return stderr && stderr.length > 0 ? `${what}; stderr: ${stderr.join(" | ")}` : what;
}
