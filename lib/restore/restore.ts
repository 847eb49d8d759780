/**
 * `s3backup restore`: writes the backed-up files under --to as they were at --at. Each file is
 * streamed to a temporary file, its SHA-256 checked against the value recorded at upload, then
 * renamed into place with its original mtime. Archived (Glacier) objects get a restore request
 * and are reported pending. Nothing is overwritten without --overwrite.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import type { Config } from "../config/config.ts";
import type { Logger, ObjectStore } from "../core/ports.ts";
import type { PathFailure } from "../core/types.ts";
import { describeError, type Outcome } from "../core/errors.ts";
import { forEachPool } from "../core/pool.ts";
import { sha256File } from "../core/digest.ts";
import { DUMP_METADATA, MTIME_METADATA, SHA256_METADATA } from "../core/layout.ts";
import { RestoreTarget } from "./target.ts";
import { candidates, nothingBecause } from "./select.ts";
import { plural } from "../core/text.ts";
import { archiveState, expectedWait, type RestoreCandidate } from "./plan.ts";

export interface RestoreOptions {
  to: string;
  at: Date;
  category?: string;
  prefix?: string;
  overwrite: boolean;
  dryRun: boolean;
  concurrency: number;
}

export { formatRestoreReport, restoreReportJson } from "./report.ts";

export interface RestoreReport {
  at: string;
  to: string;
  dryRun: boolean;
  restored: number;
  bytes: number;
  pending: Array<{ path: string; storageClass: string; wait: string }>;
  failures: PathFailure[];
  /** Dry run: what would be restored. */
  planned: Array<
    {
      path: string;
      bucket: string;
      key: string;
      versionId: string;
      lastModified: string;
      size: number;
    }
  >;
  /** Files that exist under --to and would be overwritten (refused without --overwrite). */
  conflicts: string[];
  /** Folders under --to that are symlinks: never followed, refused without --overwrite. */
  symlinks: string[];
  /** Files the backup held at --at (its manifest) with no stored version at or before --at. */
  missing: string[];
  /** Files already under --to with exactly the content to restore (skipped). */
  alreadyPresent: number;
  /** Why there was nothing to restore (e.g. --at before the first backup); exit 1. */
  nothing?: string;
}

/** True when --to already holds this file with exactly the version's content. */
async function alreadyRestored(
  c: RestoreCandidate,
  to: string,
  store: ObjectStore,
): Promise<boolean> {
  const path = join(to, c.relPath);
  try {
    const st = await Deno.lstat(path);
    if (!st.isFile || st.size !== c.version.size) return false;
    const head = await store.head(c.bucket, c.key, versionOf(c));
    const recorded = head?.metadata[SHA256_METADATA]?.toLowerCase() ?? c.expectedSha256;
    if (!recorded) return false;
    // No symlink is followed: the folders were checked, the file itself is opened O_NOFOLLOW.
    const expect = { dev: st.dev, ino: st.ino ?? undefined };
    return await sha256File({ absPath: path, size: st.size, ...expect }) === recorded;
  } catch {
    return false;
  }
}

function versionOf(c: RestoreCandidate): string | undefined {
  return c.version.versionId === "null" ? undefined : c.version.versionId;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Restores one file; returns its size in bytes. */
async function restoreOne(
  c: RestoreCandidate,
  target: RestoreTarget,
  store: ObjectStore,
  log: Logger,
  overwrite: boolean,
): Promise<number> {
  const got = await store.get(c.bucket, c.key, versionOf(c));
  if (got === undefined) throw new Error("object version vanished");
  target.ensureFolders(c.relPath, overwrite);
  target.assertInside(c.relPath);
  const path = join(target.to, c.relPath);
  const tmp = join(dirname(path), `.s3backup-restore-${crypto.randomUUID()}.tmp`);
  const hash = createHash("sha256");
  let size = 0;
  try {
    using file = await Deno.open(tmp, { createNew: true, write: true, mode: 0o600 });
    for await (const chunk of got.body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
    }
    const sha = hash.digest("hex");
    const expected = got.metadata[SHA256_METADATA]?.toLowerCase() ?? c.expectedSha256;
    if (expected === undefined) {
      log.warn(
        got.metadata[DUMP_METADATA] !== undefined
          ? `No SHA-256 recorded for the dump ${c.relPath} (this version is not in the run ` +
            `manifest as of --at); restored unchecked`
          : `No recorded SHA-256 for ${c.relPath} (not uploaded by s3backup); restored unchecked`,
      );
    } else if (sha !== expected) {
      throw new Error(
        `checksum mismatch: content SHA-256 ${sha} differs from the recorded ${expected}`,
      );
    }
    if (size !== got.size && got.size > 0) {
      throw new Error(`size mismatch: got ${size} of ${got.size} bytes`);
    }
    const recordedMtime = got.metadata[MTIME_METADATA];
    const mtime = recordedMtime ? new Date(recordedMtime) : c.version.lastModified;
    await Deno.chmod(tmp, 0o644);
    if (!Number.isNaN(mtime.getTime())) await Deno.utime(tmp, mtime, mtime);
    target.assertInside(c.relPath);
    await Deno.rename(tmp, path);
    return size;
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** What one file's restore came to. */
type FileResult =
  | { restored: number }
  | { pending: RestoreReport["pending"][number] }
  | { failure: PathFailure };

async function restoreOrRequest(
  c: RestoreCandidate,
  config: Config,
  deps: { store: ObjectStore; logger: Logger },
  target: RestoreTarget,
  overwrite: boolean,
): Promise<FileResult> {
  const { store, logger } = deps;
  try {
    const head = c.version.storageClass === "STANDARD"
      ? undefined
      : await store.head(c.bucket, c.key, c.version.versionId);
    const state = archiveState(head?.storageClass ?? c.version.storageClass, head);
    if (state.kind !== "readable") {
      const outcome = state.kind === "restoring"
        ? "in-progress"
        : await store.requestRestore(c.bucket, c.key, c.version.versionId, config.restore);
      if (outcome !== "ready") {
        const wait = expectedWait(c.version.storageClass, config.restore.tier);
        logger.info(
          `Restore of ${c.relPath} from ${c.version.storageClass} requested; expected ${wait}`,
        );
        return { pending: { path: c.relPath, storageClass: c.version.storageClass, wait } };
      }
    }
    logger.info(
      `Restoring ${c.relPath} (version ${c.version.versionId} of ${c.version.lastModified.toISOString()})`,
    );
    return { restored: await restoreOne(c, target, store, logger, overwrite) };
  } catch (err) {
    logger.error(`Error restoring ${c.relPath}: ${describeError(err)}`);
    return { failure: { path: c.relPath, error: describeError(err) } };
  }
}

export async function runRestore(
  config: Config,
  deps: { store: ObjectStore; logger: Logger },
  opts: RestoreOptions,
): Promise<{ report: RestoreReport; outcome: Outcome }> {
  const { store, logger } = deps;
  const report: RestoreReport = {
    at: opts.at.toISOString(),
    to: opts.to,
    dryRun: opts.dryRun,
    restored: 0,
    bytes: 0,
    pending: [],
    failures: [],
    planned: [],
    conflicts: [],
    symlinks: [],
    missing: [],
    alreadyPresent: 0,
  };
  const found = await candidates(config, store, opts);
  let list = found.list;
  report.failures.push(...found.failures);
  for (const f of found.failures) {
    const verb = found.unsafe.includes(f) ? "Refusing to restore" : "Cannot restore";
    logger.error(`${verb} ${f.path}: ${f.error}`);
  }
  report.missing = found.missing;
  if (found.missing.length > 0) {
    logger.error(
      `${plural(found.missing.length, "file")} listed in the backup as of ${report.at} ` +
        `had no stored version by then (an upload that failed, or a version deleted from ` +
        `the bucket): they cannot be restored`,
    );
  }
  if (list.length === 0 && found.missing.length === 0 && found.failures.length === 0) {
    report.nothing = nothingBecause(found, opts);
    logger.error(`Nothing to restore: ${report.nothing}`);
  }
  const target = new RestoreTarget(opts.to);

  if (!opts.overwrite) {
    const links = new Set<string>();
    const open: RestoreCandidate[] = [];
    for (const c of list) {
      const link = target.symlinkIn(c.relPath);
      if (link === undefined) open.push(c);
      else links.add(link);
    }
    report.symlinks = [...links].sort();
    const existing = open.filter((c) => exists(join(opts.to, c.relPath)));
    // A file already restored with the very content of that version (a rerun after Glacier
    // restores finished) is skipped, not a conflict.
    const same: boolean[] = [];
    await forEachPool(existing, opts.concurrency, async (c, i) => {
      same[i] = await alreadyRestored(c, opts.to, store);
    });
    const identical = new Set(existing.filter((_, i) => same[i]));
    report.alreadyPresent = identical.size;
    report.conflicts = existing.filter((c) => !identical.has(c)).map((c) => c.relPath);
    list = list.filter((c) => !identical.has(c));
    if (report.conflicts.length > 0 || report.symlinks.length > 0) {
      const files = report.conflicts.length;
      const links = report.symlinks.length;
      const what = [
        files > 0 ? `${plural(files, "file")} ${files === 1 ? "exists" : "exist"}` : "",
        links > 0
          ? `${plural(links, "folder")} ${links === 1 ? "is a symlink" : "are symlinks"} ` +
            `(never followed)`
          : "",
      ].filter(Boolean).join(" and ");
      logger.error(
        `Under ${opts.to}, ${what}; nothing was restored ` +
          `(use --overwrite to replace them, or restore into an empty folder)`,
      );
      return { report, outcome: "partial" };
    }
  }
  if (opts.dryRun) {
    report.planned = list.map((c) => ({
      path: c.relPath,
      bucket: c.bucket,
      key: c.key,
      versionId: c.version.versionId,
      lastModified: c.version.lastModified.toISOString(),
      size: c.version.size,
    }));
    return { report, outcome: outcomeOf(report) };
  }

  const outcomes: FileResult[] = [];
  await forEachPool(list, opts.concurrency, async (c, i) => {
    outcomes[i] = await restoreOrRequest(c, config, deps, target, opts.overwrite);
  });
  // Summed once every restore is done: a total updated across an await undercounts.
  for (const o of outcomes) {
    if ("restored" in o) {
      report.restored++;
      report.bytes += o.restored;
    } else if ("pending" in o) report.pending.push(o.pending);
    else report.failures.push(o.failure);
  }
  return { report, outcome: outcomeOf(report) };
}

function outcomeOf(r: RestoreReport): Outcome {
  const short = r.failures.length + r.pending.length + r.missing.length;
  return short > 0 || r.nothing !== undefined ? "partial" : "ok";
}
