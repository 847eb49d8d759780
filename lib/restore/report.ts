/** The restore report: text for people (stdout) and JSON in snake_case like `run --json`. */
import type { RestoreReport } from "./restore.ts";

/** The JSON form: every key snake_case, as `run --json` publishes. */
export function restoreReportJson(r: RestoreReport): Record<string, unknown> {
  return {
    at: r.at,
    to: r.to,
    dry_run: r.dryRun,
    restored: r.restored,
    bytes: r.bytes,
    already_present: r.alreadyPresent,
    errors: r.failures.length,
    pending: r.pending.map((p) => ({ path: p.path, storage_class: p.storageClass, wait: p.wait })),
    failures: r.failures,
    missing: r.missing,
    conflicts: r.conflicts,
    symlinks: r.symlinks,
    planned: r.planned.map((p) => ({
      path: p.path,
      bucket: p.bucket,
      key: p.key,
      version_id: p.versionId,
      last_modified: p.lastModified,
      size: p.size,
    })),
    ...(r.nothing === undefined ? {} : { nothing_to_restore: r.nothing }),
  };
}

function firstLine(r: RestoreReport): string {
  if (r.conflicts.length > 0 || r.symlinks.length > 0) {
    return "Restore refused: files or symlinked folders exist under the target (use --overwrite).";
  }
  if (r.nothing !== undefined) return `Nothing restored: ${r.nothing}.`;
  if (r.dryRun) return "Restore dry run.";
  if (r.failures.length + r.missing.length === 0) return "Restore completed.";
  return r.restored === 0
    ? "Restore failed: nothing was restored."
    : "Restore completed with errors.";
}

export function formatRestoreReport(r: RestoreReport): string {
  const lines = [
    firstLine(r),
    `Files restored: ${r.restored}`,
    `Files pending (Glacier restore requested): ${r.pending.length}`,
    `Files already present with the same content: ${r.alreadyPresent}`,
    `Files missing (in the backup, no stored version): ${r.missing.length}`,
    `Errors encountered: ${r.failures.length}`,
    `As of: ${r.at}`,
    `Target: ${r.to}`,
  ];
  if (!r.dryRun) lines.push(`Bytes restored: ${r.bytes}`);
  if (r.conflicts.length > 0) lines.push("Existing files:", ...r.conflicts.map((p) => `  ${p}`));
  if (r.symlinks.length > 0) {
    lines.push(
      "Symlinked folders (never followed; --overwrite replaces the link with a folder):",
      ...r.symlinks.map((p) => `  ${p}`),
    );
  }
  for (const p of r.planned) {
    lines.push(
      `  would restore ${p.path} (version ${p.versionId}, ${p.lastModified}, ${p.size} bytes)`,
    );
  }
  if (r.pending.length > 0) {
    lines.push("Pending (run restore again once they are ready):");
    for (const p of r.pending) lines.push(`  ${p.path}: ${p.storageClass}, expected ${p.wait}`);
  }
  if (r.missing.length > 0) {
    lines.push(
      "Missing (listed in the backup as of --at, never stored; see that run's errors):",
      ...r.missing.map((p) => `  ${p}`),
    );
  }
  if (r.failures.length > 0) {
    lines.push("Errors:", ...r.failures.map((f) => `  ${f.path}: ${f.error}`));
  }
  return lines.join("\n") + "\n";
}
