/** Typed errors that end a command, and how any thrown value is described in one line. */
import { redactUserinfo } from "./redact.ts";

/**
 * How a command ended, in the terms of SPEC's exit codes (cli/exit_code.ts alone turns it into a
 * number): done; done with failures; bad usage, config or source; another run holds the lock;
 * S3 unreachable or refusing the identity; stopped by SIGINT or SIGTERM.
 */
export type Outcome = "ok" | "partial" | "usage" | "locked" | "unreachable" | "sigint" | "sigterm";

/** An error that ends a command with its outcome. */
export class S3BackupError extends Error {
  constructor(message: string, readonly outcome: Outcome) {
    super(redactUserinfo(message));
    this.name = new.target.name;
  }
}

/** Unusable configuration; the message names the offending key. */
export class ConfigError extends S3BackupError {
  constructor(message: string) {
    super(message, "usage");
  }
}

/** Bad command-line usage or arguments. */
export class UsageError extends S3BackupError {
  constructor(message: string) {
    super(message, "usage");
  }
}

/** The source tree to back up is missing, not a directory, or cannot be listed. */
export class SourceError extends S3BackupError {
  constructor(message: string) {
    super(message, "usage");
  }
}

/** Another run holds the lock in state_dir. */
export class LockHeldError extends S3BackupError {
  constructor(message: string) {
    super(message, "locked");
  }
}

/** No bucket could be listed: S3 unreachable, or the identity refused (credentials, keys). */
export class UnreachableError extends S3BackupError {
  constructor(message: string) {
    super(message, "unreachable");
  }
}

/** The outcome of a command that was stopped by the signal `reason` (SIGINT or SIGTERM). */
export function interrupted(reason: unknown): Outcome {
  return reason === "SIGTERM" ? "sigterm" : "sigint";
}

/** What the AWS SDK puts on a service error: the error code as name, and the HTTP status. */
interface ServiceErrorFields {
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Messages that say nothing (S3-compatible servers often send no message with the code). */
const GENERIC_MESSAGE = /^(|UnknownError|Unknown|Error|null|undefined|[0-9]{3})$/i;

/**
 * A short, single-line description of any thrown value, for logs and reports. A service error
 * also names its code and HTTP status (`Access Denied (AccessDenied, HTTP 403)`), and only those
 * when the message says nothing (`InvalidAccessKeyId (HTTP 403)` instead of `UnknownError`).
 */
export function describeError(err: unknown): string {
  return redactUserinfo(describe(err));
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & ServiceErrorFields;
  const status = e.$metadata?.httpStatusCode;
  const name = e.Code ?? (e.name && e.name !== "Error" ? e.name : undefined);
  const msg = e.message.trim();
  if (status !== undefined) {
    const code = name && !GENERIC_MESSAGE.test(name) ? name : undefined;
    if (GENERIC_MESSAGE.test(msg) || msg === code) {
      return code ? `${code} (HTTP ${status})` : `HTTP ${status}`;
    }
    return code && !msg.includes(code)
      ? `${msg} (${code}, HTTP ${status})`
      : `${msg} (HTTP ${status})`;
  }
  const text = GENERIC_MESSAGE.test(msg) ? (name ?? "unknown error") : msg;
  return e.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
}

/** What an admin should check when S3 refused or could not be reached, from the error. */
export function whatToCheck(err: unknown): string {
  const e = err as Error & ServiceErrorFields;
  const text = `${e?.name ?? ""} ${e?.Code ?? ""} ${e?.code ?? ""} ${e?.message ?? ""}`;
  const status = e?.$metadata?.httpStatusCode;
  if (/CredentialsProviderError|Could not load credentials/i.test(text)) {
    return "check the credentials: [aws] profile or AWS_PROFILE, ~/.aws/credentials of the user " +
      "running s3backup, the AWS_* environment variables, or the instance role";
  }
  if (/RequestTimeTooSkewed|Signature expired/i.test(text)) {
    return "check the server's clock (it is off by more than 15 minutes; enable NTP)";
  }
  if (
    /InvalidAccessKeyId|SignatureDoesNotMatch|InvalidToken|ExpiredToken|InvalidClientTokenId/i.test(
      text,
    )
  ) {
    return "check the access key id and secret (or the session token) the host uses";
  }
  if (/AccessDenied|Forbidden/i.test(text) || status === 403) {
    return "check that this identity's IAM policy covers the buckets " +
      "(deno task deploy-infra output shows what the stack grants)";
  }
  if (/NoSuchBucket/i.test(text) || status === 404) {
    return "check the bucket names in the config: they must exist (deno task deploy-infra creates them)";
  }
  if (
    /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|timed? ?out|getaddrinfo|connect/i
      .test(text)
  ) {
    return "check [aws] region / s3_endpoint and that this host can reach S3 (DNS, firewall, proxy)";
  }
  return "check the credentials, [aws] region and endpoint, and the bucket names";
}
