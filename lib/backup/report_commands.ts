/** The report's lines and JSON for the dumps and the hooks of a run. Pure. */
import type { DumpOutcome, HookOutcome, Summary } from "../core/types.ts";

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]} (${n} bytes)`;
}

function dumpLine(d: DumpOutcome): string {
  const where = `s3://${d.bucket}/${d.key}`;
  switch (d.status) {
    case "uploaded":
      return `  ${d.name}: ${bytes(d.bytes)} in ${seconds(d.durationMs)} -> ${where}`;
    case "would-run":
      return `  ${d.name}: would run -> ${where}`;
    case "not-run":
      return `  ${d.name}: not run (interrupted)`;
    default:
      return `  ${d.name}: FAILED after ${seconds(d.durationMs)}: ${d.error} (no new version)`;
  }
}

function hookLine(h: HookOutcome): string {
  const state = h.status === "ok"
    ? `ok in ${seconds(h.durationMs)}`
    : h.status === "would-run"
    ? "would run"
    : `FAILED after ${seconds(h.durationMs)}: ${h.error}`;
  return `  ${h.phase}: ${h.command}: ${state}`;
}

/** "Dumps: 1 uploaded, 1 failed" and a line per dump; "Hooks: …" likewise. Empty when none. */
export function commandLines(s: Summary): string[] {
  const lines: string[] = [];
  const count = <T extends { status: string }>(list: T[], status: string) =>
    list.filter((x) => x.status === status).length;
  if (s.dumps && s.dumps.length > 0) {
    const d = s.dumps;
    lines.push(
      s.dryRun
        ? `Dumps to run: ${d.length}`
        : `Dumps: ${count(d, "uploaded")} uploaded, ${count(d, "failed")} failed` +
          (count(d, "not-run") > 0 ? `, ${count(d, "not-run")} not run` : ""),
      ...d.map(dumpLine),
    );
  }
  if (s.hooks && s.hooks.length > 0) {
    const h = s.hooks;
    lines.push(
      s.dryRun
        ? `Hooks to run: ${h.length}`
        : `Hooks: ${count(h, "ok")} ok, ${count(h, "failed")} failed`,
      ...h.map(hookLine),
    );
  }
  return lines;
}

/** The `dumps` and `hooks` of the --json report (snake_case), when configured. */
export function commandsJson(s: Summary): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.dumps) {
    out.dumps = s.dumps.map((d) => ({
      name: d.name,
      bucket: d.bucket,
      key: d.key,
      status: d.status,
      bytes: d.bytes,
      duration_ms: d.durationMs,
      ...(d.sha256 ? { sha256: d.sha256 } : {}),
      ...(d.versionId ? { version_id: d.versionId } : {}),
      ...(d.error ? { error: d.error } : {}),
      ...(d.stderr ? { stderr: d.stderr } : {}),
    }));
  }
  if (s.hooks) {
    out.hooks = s.hooks.map((h) => ({
      phase: h.phase,
      command: h.command,
      status: h.status,
      duration_ms: h.durationMs,
      ...(h.error ? { error: h.error } : {}),
      ...(h.stderr ? { stderr: h.stderr } : {}),
    }));
  }
  return out;
}
