/** `s3backup history`: past runs from the local state, as a table or JSON. Pure. */
import type { RunRecord } from "../core/ports.ts";
import { humanBytes, isoSeconds } from "../core/duration.ts";

const COLUMNS = ["STARTED", "STATUS", "UPLOADED", "SKIPPED", "ERRORS", "BYTES", "DURATION"];

/** One row a run, newest first, columns aligned (numbers to the right). */
export function formatHistory(runs: RunRecord[]): string {
  const rows = runs.map((r) => [
    isoSeconds(new Date(r.startedAt)),
    r.status,
    String(r.uploaded),
    String(r.skipped),
    String(r.errors),
    humanBytes(r.bytesUploaded),
    `${(r.durationMs / 1000).toFixed(1)} s`,
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ")
      .trimEnd();
  return [COLUMNS, ...rows].map(line).join("\n") + "\n";
}

/** The --json form: snake_case keys, as every command's JSON. */
export function historyJson(runs: RunRecord[]): string {
  return JSON.stringify(runs.map((r) => ({
    started_at: r.startedAt,
    status: r.status,
    uploaded: r.uploaded,
    skipped: r.skipped,
    errors: r.errors,
    bytes_uploaded: r.bytesUploaded,
    duration_ms: r.durationMs,
  })));
}
