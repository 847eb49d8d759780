/** The run's report: stdout text, --json, and the SNS subject and body within SNS limits. Pure. */
import type { Summary } from "../core/types.ts";
import { commandLines, commandsJson } from "./report_commands.ts";
import { oneLine, plural } from "../core/text.ts";

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
export const SNS_SUBJECT_MAX = 100;
/** SNS messages: at most 256 KiB (262,144 bytes) of UTF-8. */
export const SNS_MESSAGE_MAX_BYTES = 262_144;

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]} (${n} bytes)`;
}

function formatRequests(requests: Record<string, number>): string {
  const entries = Object.entries(requests).filter(([, n]) => n > 0).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  if (entries.length === 0) return "none";
  const total = entries.reduce((s, [, n]) => s + n, 0);
  return `${total} (${entries.map(([op, n]) => `${op}: ${n}`).join(", ")})`;
}

function headline(s: Summary): string {
  if (s.status === "INTERRUPTED") return s.dryRun ? "Dry run interrupted." : "Backup interrupted.";
  if (s.fatal) return s.dryRun ? "Dry run FAILED." : "Backup FAILED.";
  return s.dryRun ? "Dry run completed: nothing was uploaded." : "Backup completed.";
}

/**
 * The report's header and counts; the first four lines are the original script's (a dry run
 * says what it would upload instead: it never says it uploaded).
 */
export function summaryLines(s: Summary): string[] {
  const lines = [
    headline(s),
    s.dryRun ? `Files to upload: ${s.wouldUpload?.length ?? 0}` : `Files uploaded: ${s.uploaded}`,
    `Files skipped (already exist): ${s.skipped}`,
    `Errors encountered: ${s.errors}`,
  ];
  if (s.fatal) lines.push(`Reason: ${s.fatal}`);
  if (s.dryRun) lines.push("Dry run: no file was uploaded, no state written, no report sent.");
  lines.push(
    s.dryRun
      ? `Bytes to upload: ${formatBytes(s.bytesToUpload ?? 0)}`
      : `Bytes uploaded: ${formatBytes(s.bytesUploaded)}`,
    `Files excluded: ${s.excluded}`,
    `Files unmatched (not backed up): ${s.unmatched}`,
    `Symlinks skipped (not followed): ${s.symlinks}`,
    `Special files skipped (FIFOs, sockets, devices): ${s.special}`,
    `Names not valid UTF-8 (not backed up): ${s.invalidNames ?? 0}`,
    `Files hashed to detect changes: ${s.hashed}`,
    `Duration: ${(s.durationMs / 1000).toFixed(2)} s`,
    `S3 requests: ${formatRequests(s.requests)}`,
    `Source: ${s.source}`,
    `Host: ${s.host}`,
  );
  return lines;
}

function failureLines(s: Summary): string[] {
  return s.failures.map((f) => `  ${oneLine(f.path)}: ${oneLine(f.error)}`);
}

/** Where the report went (stdout only: the SNS message cannot know its own fate). */
function notificationLines(s: Summary): string[] {
  const { sns, heartbeat } = s.notifications;
  const lines: string[] = [];
  if (sns) {
    lines.push(
      sns.sent ? "Report sent to SNS." : `Report NOT sent to SNS: ${oneLine(sns.error ?? "")}`,
    );
  }
  if (heartbeat) {
    lines.push(
      heartbeat.sent ? "Heartbeat sent." : `Heartbeat NOT sent: ${oneLine(heartbeat.error ?? "")}`,
    );
  }
  return lines;
}

/** The report names at most this many uploaded files, then says how many more there were. */
export const LISTED_UPLOADS_MAX = 50;

/** The first LISTED_UPLOADS_MAX uploaded files, and how many were left out. */
export function listedUploads(s: Summary): { listed: string[]; omitted: number } {
  const listed = (s.uploadedFiles ?? []).slice(0, LISTED_UPLOADS_MAX);
  return { listed, omitted: Math.max(0, s.uploaded - listed.length) };
}

/** "What changed last night": the uploaded files, the first 50, as s3://bucket/key. */
function uploadedLines(s: Summary): string[] {
  const { listed, omitted } = listedUploads(s);
  if (listed.length === 0) return [];
  return [
    `Uploaded (${s.uploaded}):`,
    ...listed.map((k) => `  ${oneLine(k)}`),
    ...(omitted > 0 ? [`  ... and ${omitted} more`] : []),
  ];
}

function warningLines(s: Summary): string[] {
  const w = s.warnings ?? [];
  return w.length > 0 ? ["Warnings:", ...w.map((line) => `  ${oneLine(line)}`)] : [];
}

/** The stdout report. */
export function formatReport(s: Summary): string {
  const lines = summaryLines(s);
  lines.push(...commandLines(s).map(oneLine));
  lines.push(...warningLines(s));
  if (s.failures.length > 0) lines.push("Errors:", ...failureLines(s));
  lines.push(...uploadedLines(s));
  if (s.wouldUpload) {
    lines.push(
      `Would upload (${s.wouldUpload.length}):`,
      ...s.wouldUpload.map((k) => `  ${oneLine(k)}`),
    );
  }
  lines.push(...notificationLines(s));
  return lines.join("\n") + "\n";
}

/** The --json report: one object. */
export function reportJson(s: Summary): string {
  return JSON.stringify({
    status: s.status,
    host: s.host,
    source: s.source,
    dry_run: s.dryRun,
    started_at: s.startedAt,
    uploaded: s.uploaded,
    skipped: s.skipped,
    errors: s.errors,
    excluded: s.excluded,
    unmatched: s.unmatched,
    symlinks: s.symlinks,
    special: s.special,
    invalid_names: s.invalidNames ?? 0,
    bytes_uploaded: s.bytesUploaded,
    hashed: s.hashed,
    duration_ms: s.durationMs,
    requests: s.requests,
    failures: s.failures,
    warnings: s.warnings ?? [],
    state_rebuilt: s.stateRebuilt ?? false,
    ...(s.uploadedFiles
      ? {
        uploaded_files: listedUploads(s).listed,
        uploaded_files_omitted: listedUploads(s).omitted,
      }
      : {}),
    ...(s.wouldUpload ? { would_upload: s.wouldUpload } : {}),
    ...(s.bytesToUpload !== undefined ? { bytes_to_upload: s.bytesToUpload } : {}),
    ...(s.fatal ? { fatal: s.fatal } : {}),
    ...commandsJson(s),
    notifications: s.notifications,
  });
}

/** "OK" only when everything was done; any error, fatal or interruption says otherwise. */
export function outcomeWord(s: Summary): "OK" | "FAILED" | "INTERRUPTED" {
  if (s.status === "INTERRUPTED") return "INTERRUPTED";
  return s.fatal || s.errors > 0 ? "FAILED" : "OK";
}

function asciiOnly(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}

/** SNS subject: names the host and the outcome, ASCII, ≤ 100 characters. */
export function snsSubject(s: Summary): string {
  const word = outcomeWord(s);
  const tail = s.fatal
    ? (s.uploaded > 0 ? `: ${s.uploaded} uploaded, then stopped` : ": nothing was backed up")
    : `: ${s.uploaded} uploaded, ${s.skipped} skipped, ${plural(s.errors, "error")}`;
  const dry = s.dryRun ? " (dry run)" : "";
  const fixed = `s3backup ${word} on ${tail}${dry}`;
  const room = SNS_SUBJECT_MAX - fixed.length;
  let host = asciiOnly(s.host);
  if (host.length > room) host = host.slice(0, Math.max(1, room - 1)) + "~";
  return asciiOnly(`s3backup ${word} on ${host}${tail}${dry}`).slice(0, SNS_SUBJECT_MAX);
}

const utf8 = new TextEncoder();

/**
 * SNS body: the report (the uploaded files listed up to LISTED_UPLOADS_MAX); the error list is
 * cut to fit 256 KiB, saying how many were cut.
 */
export function snsMessage(s: Summary, maxBytes = SNS_MESSAGE_MAX_BYTES): string {
  const head = [
    ...summaryLines(s),
    ...commandLines(s).map(oneLine),
    ...warningLines(s),
    ...uploadedLines(s),
  ].join("\n") + "\n";
  const failures = failureLines(s);
  if (failures.length === 0) return head;
  const reserve = 200; // room for the "... cut" line
  let used = utf8.encode(head).length + utf8.encode("Errors:\n").length + reserve;
  const kept: string[] = [];
  for (const line of failures) {
    const size = utf8.encode(line).length + 1;
    if (used + size > maxBytes) break;
    kept.push(line);
    used += size;
  }
  const cut = failures.length - kept.length;
  const tail = cut > 0 ? [`  ... and ${cut} more errors not listed (message size limit)`] : [];
  return head + ["Errors:", ...kept, ...tail].join("\n") + "\n";
}
