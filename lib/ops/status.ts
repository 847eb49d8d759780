/**
 * `s3backup status`: one line for a monitoring system (the Nagios/Icinga plugin convention:
 * `S3BACKUP OK - …` with exit 0, `S3BACKUP WARNING - …` with exit 1, then performance data).
 * Pure: the caller reads the history and maps `ok` to the exit code.
 */
import type { RunRecord } from "../core/ports.ts";
import { formatAge, isoSeconds } from "../core/duration.ts";

export interface StatusInput {
  /** The latest run whose status is OK. */
  lastOk?: RunRecord;
  /** The latest run, whatever its status. */
  latest?: RunRecord;
  /** Whether a state database exists at all. */
  stateExists: boolean;
  stateFile: string;
  now: Date;
  maxAgeMs: number;
  /** How the user wrote max-age ("26h"); default: formatted from maxAgeMs. */
  maxAgeText?: string;
}

export interface StatusResult {
  ok: boolean;
  line: string;
}

const endOf = (r: RunRecord) => new Date(new Date(r.startedAt).getTime() + r.durationMs);

/** The run's counts, as the report's first lines give them. */
const counts = (r: RunRecord) => `${r.uploaded} uploaded, ${r.skipped} skipped, ${r.errors} errors`;

export function statusCheck(i: StatusInput): StatusResult {
  const limit = i.maxAgeText ?? formatAge(i.maxAgeMs);
  if (!i.lastOk) {
    const why = !i.stateExists
      ? `no local state at ${i.stateFile}: no backup has run on this machine with this config`
      : i.latest
      ? `no successful run recorded; the latest, ${
        isoSeconds(new Date(i.latest.startedAt))
      }, ended ${i.latest.status} (${counts(i.latest)})`
      : `no run recorded in ${i.stateFile}`;
    return { ok: false, line: `S3BACKUP WARNING - ${why}` };
  }
  const ended = endOf(i.lastOk);
  const age = i.now.getTime() - ended.getTime();
  const ok = age <= i.maxAgeMs;
  let text = `last successful run ended ${formatAge(age)} ago (${isoSeconds(ended)}: ` +
    `${counts(i.lastOk)})`;
  if (!ok) text += `, older than ${limit}`;
  const latest = i.latest;
  if (
    latest && latest.status !== "OK" && new Date(latest.startedAt) > new Date(i.lastOk.startedAt)
  ) {
    const latestAge = formatAge(i.now.getTime() - endOf(latest).getTime());
    text += `; the latest run ended ${latest.status} ${latestAge} ago (${counts(latest)})`;
  }
  const perf = `age=${Math.max(0, Math.floor(age / 1000))}s;${Math.round(i.maxAgeMs / 1000)}`;
  return { ok, line: `S3BACKUP ${ok ? "OK" : "WARNING"} - ${text} | ${perf}` };
}
