/**
 * The optional heartbeat (`[notify] ping_url`), healthchecks.io's protocol: a GET on
 * `<url>/start` when a run begins, on `<url>` after a successful run and on `<url>/fail` after
 * a failed one. A monitor that stops hearing the ping raises the alarm for a run that never
 * happened (the machine was off, cron broke), and one that heard a start and no end for a run
 * that hung or was killed: no report sent by the run itself can do either.
 *
 * Never throws: a heartbeat that cannot be delivered returns a reason for the log and does not
 * change the run's exit code (the monitor notices the missing ping by itself).
 */
import type { Heartbeat, HeartbeatEvent } from "../core/ports.ts";

export const HEARTBEAT_TIMEOUT_MS = 10_000;

export interface HeartbeatOptions {
  timeoutMs?: number;
  /** Injected for tests; globalThis.fetch by default. */
  fetch?: typeof fetch;
  /** Aborts the ping early (the run's own signal). */
  signal?: AbortSignal;
}

/** `<url>/start`, `<url>` on success, `<url>/fail`; a query string stays at the end. Pure. */
export function heartbeatUrl(base: string, event: HeartbeatEvent): string {
  const url = new URL(base);
  if (event !== "success") url.pathname = `${url.pathname.replace(/\/+$/, "")}/${event}`;
  return url.href;
}

/** A URL fit to print in a log: no userinfo, no query string (either may hold a secret). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * Sends the heartbeat. Returns undefined when the endpoint answered 2xx, else why it did not
 * (invalid URL, network error, timeout, HTTP status).
 */
export async function sendHeartbeat(
  base: string,
  event: HeartbeatEvent,
  opts: HeartbeatOptions = {},
): Promise<string | undefined> {
  let url: string;
  try {
    url = heartbeatUrl(base, event);
  } catch {
    return `heartbeat URL is not a valid URL`;
  }
  const timeoutMs = opts.timeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const doFetch = opts.fetch ?? fetch;
  try {
    const res = await doFetch(url, {
      method: "GET",
      signal,
      redirect: "follow",
      headers: { "user-agent": "s3backup-heartbeat" },
    });
    await res.body?.cancel().catch(() => {});
    if (res.ok) return undefined;
    return `heartbeat ${redactUrl(url)}: HTTP ${res.status}${
      res.statusText ? ` ${res.statusText}` : ""
    }`;
  } catch (err) {
    if (timeout.aborted) {
      return `heartbeat ${redactUrl(url)}: no answer within ${timeoutMs / 1000} s`;
    }
    const why = (err instanceof Error ? err.message : String(err)).replaceAll(url, redactUrl(url));
    return `heartbeat ${redactUrl(url)}: ${why}`;
  }
}

/** The Heartbeat port over sendHeartbeat: a ping that was not delivered throws its reason. */
export function httpHeartbeat(base: string, opts: HeartbeatOptions = {}): Heartbeat {
  return {
    async ping(event: HeartbeatEvent) {
      const why = await sendHeartbeat(base, event, opts);
      if (why) throw new Error(why);
    },
  };
}
