/**
 * How S3Store reads the SDK's errors (which mean "missing"), the restore header, and how a
 * request cut by the run's signal fails. Retries are the SDK's own (every body is bytes).
 */
import type { ObjectHead } from "../../core/ports.ts";

export interface SdkError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

export function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  const status = e?.$metadata?.httpStatusCode;
  if (e?.name === "NoSuchBucket" || e?.Code === "NoSuchBucket") return false;
  return status === 404 || e?.name === "NotFound" || e?.name === "NoSuchKey" ||
    e?.name === "NoSuchVersion";
}

export function restoreState(header: string | undefined): ObjectHead["restore"] {
  if (!header) return undefined;
  const ongoing = /ongoing-request="true"/.test(header);
  const expiry = /expiry-date="([^"]+)"/.exec(header)?.[1];
  return { ongoing, expiry: expiry ? new Date(expiry) : undefined };
}

/** The error a request cut by `signal` fails with: an AbortError naming why (e.g. SIGTERM). */
export function abortReason(signal: AbortSignal): Error {
  const reason = signal.reason;
  const why = reason instanceof Error
    ? (reason.name === "TimeoutError" ? "timed out" : reason.message)
    : String(reason ?? "aborted");
  return Object.assign(new Error(`aborted: ${why}`), { name: "AbortError" });
}

/**
 * `promise`, or a rejection as soon as `signal` aborts, whichever comes first. The SDK waits out
 * a retry's backoff (seconds under throttling) before it looks at the signal again.
 */
export async function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return await promise;
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  promise.catch(() => {}); // it may still reject after the race was lost
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
