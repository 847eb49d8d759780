/**
 * -v/--verbose and -q/--quiet, on every command (SPEC): how much goes to the stderr log. The
 * flag wins over the config's `log`, which wins over "normal".
 */
import { type CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import type { LogLevel } from "../lib/core/ports.ts";

export interface LogFlags {
  verbose?: boolean;
  quiet?: boolean;
}

export const verboseOption = () =>
  new Option("-v, --verbose", "log every file, unchanged ones too").conflicts("quiet");
export const quietOption = () => new Option("-q, --quiet", "log warnings and errors only");

/** Adds -v and -q to a command that lacks them (program.ts: every command has them). */
export function addLogOptions(cmd: CommandUnknownOpts): void {
  if (!cmd.options.some((o) => o.long === "--verbose")) cmd.addOption(verboseOption());
  if (!cmd.options.some((o) => o.long === "--quiet")) cmd.addOption(quietOption());
}

/** The log level: -v or -q, else the config's `log`, else "normal". Pure. */
export function logLevelOf(flags: LogFlags, configured?: LogLevel): LogLevel {
  if (flags.verbose) return "verbose";
  if (flags.quiet) return "quiet";
  return configured ?? "normal";
}
