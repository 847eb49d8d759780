/** Exit codes of the CLI contract (SPEC.md). */
import { redactUserinfo } from "./redact.ts";

export const ExitCode = {
  ok: 0,
  partial: 1,
  usage: 2,
  locked: 3,
  sigint: 130,
  sigterm: 143,
} as const;

/** An error that aborts a command; it carries the exit code main.ts returns. */
export class S3BackupError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(redactUserinfo(message));
    this.name = new.target.name;
  }
}

/** Unusable configuration; the message names the offending key. */
export class ConfigError extends S3BackupError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** Bad command-line usage or arguments. */
export class UsageError extends S3BackupError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** The source tree to back up is missing or not a directory. */
export class SourceError extends S3BackupError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** Another run holds the lock in state_dir. */
export class LockHeldError extends S3BackupError {
  constructor(message: string) {
    super(message, ExitCode.locked);
  }
}

/** The run was stopped by a signal. */
export class InterruptedError extends S3BackupError {
  constructor(readonly signal: "SIGINT" | "SIGTERM") {
    super(`interrupted by ${signal}`, signal === "SIGINT" ? ExitCode.sigint : ExitCode.sigterm);
  }
}

/** A short, single-line description of any thrown value, for logs and reports. */
export function describeError(err: unknown): string {
  return redactUserinfo(describe(err));
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    const msg = err.message || err.name;
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}
