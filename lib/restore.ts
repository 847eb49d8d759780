/**
 * `s3backup restore`: writes the backed-up files under --to as they were at --at. Each file is
 * streamed to a temporary file, its SHA-256 checked against the value recorded at upload, then
 * renamed into place with its original mtime. Archived (Glacier) objects get a restore request
 * and are reported pending. Nothing is overwritten without --overwrite.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import type { Config } from "./config.ts";
import type { Logger, ObjectStore } from "./ports.ts";
import type { PathFailure } from "./types.ts";
import { describeError, ExitCode } from "./errors.ts";
import { forEachPool } from "./pool.ts";
import { digestFile } from "./digest.ts";
import { SHA256_METADATA } from "./plan.ts";
import { selectCategories } from "./verify.ts";
import { manifestKey, readManifest } from "./manifest.ts";
import {
  archiveState,
  expectedWait,
  type RestoreCandidate,
  safeRelativePath,
  versionsAt,
} from "./restore_plan.ts";

export interface RestoreOptions {
  to: string;
  at: Date;
  category?: string;
  prefix?: string;
  overwrite: boolean;
  dryRun: boolean;
  concurrency: number;
}

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
  /** Files already under --to with exactly the content to restore (skipped). */
  alreadyPresent: number;
}

async function candidates(config: Config, store: ObjectStore, opts: RestoreOptions) {
  const out: RestoreCandidate[] = [];
  const unsafe: PathFailure[] = [];
  const base = config.keyPrefix === "" ? "" : `${config.keyPrefix}/`;
  const prefix = base + (opts.prefix ?? "").replace(/^\/+/, "");
  const reserved = manifestKey(config.keyPrefix);
  for (const c of selectCategories(config, opts.category)) {
    const versions = [];
    for await (const v of store.listVersions(c.bucket, prefix)) {
      if (v.key !== reserved) versions.push(v);
    }
    const present = await presentAt(store, c.bucket, reserved, opts.at);
    for (const v of versionsAt(versions, opts.at)) {
      if (present && !present.keys.has(v.key) && v.lastModified <= present.time) continue;
      const rel = safeRelativePath(v.key, config.keyPrefix);
      if (rel instanceof Error) {
        unsafe.push({ path: `s3://${c.bucket}/${v.key}`, error: rel.message });
      } else out.push({ category: c.name, bucket: c.bucket, key: v.key, relPath: rel, version: v });
    }
  }
  return { list: out, unsafe };
}

/**
 * The keys the source held at `at`, from the newest manifest no later than it; undefined when
 * there is none (then every key's newest version counts).
 */
async function presentAt(store: ObjectStore, bucket: string, key: string, at: Date) {
  const versions = [];
  for await (const v of store.listVersions(bucket, key)) if (v.key === key) versions.push(v);
  const [manifest] = versionsAt(versions, at);
  if (!manifest) return undefined;
  const keys = await readManifest(
    store,
    bucket,
    key,
    manifest.versionId === "null" ? undefined : manifest.versionId,
  );
  return keys ? { keys, time: manifest.lastModified } : undefined;
}

async function alreadyRestored(
  c: RestoreCandidate,
  to: string,
  store: ObjectStore,
): Promise<boolean> {
  const path = join(to, c.relPath);
  try {
    const st = await Deno.lstat(path);
    if (!st.isFile || st.size !== c.version.size) return false;
    const head = await store.head(
      c.bucket,
      c.key,
      c.version.versionId === "null" ? undefined : c.version.versionId,
    );
    const recorded = head?.metadata[SHA256_METADATA]?.toLowerCase();
    if (!recorded) return false;
    return (await digestFile(path, st.size)).sha256Hex === recorded;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function restoreOne(
  c: RestoreCandidate,
  to: string,
  store: ObjectStore,
  log: Logger,
): Promise<number> {
  const target = join(to, c.relPath);
  const got = await store.get(
    c.bucket,
    c.key,
    c.version.versionId === "null" ? undefined : c.version.versionId,
  );
  if (got === undefined) throw new Error("object version vanished");
  Deno.mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.s3backup-restore-${crypto.randomUUID()}.tmp`);
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
    const expected = got.metadata[SHA256_METADATA]?.toLowerCase();
    if (expected === undefined) {
      log.warn(
        `No recorded SHA-256 for ${c.relPath} (not uploaded by s3backup); restored unchecked`,
      );
    } else if (sha !== expected) {
      throw new Error(
        `checksum mismatch: content SHA-256 ${sha} differs from the recorded ${expected}`,
      );
    }
    if (size !== got.size && got.size > 0) {
      throw new Error(`size mismatch: got ${size} of ${got.size} bytes`);
    }
    const mtime = got.metadata.mtime ? new Date(got.metadata.mtime) : c.version.lastModified;
    await Deno.chmod(tmp, 0o644);
    if (!Number.isNaN(mtime.getTime())) await Deno.utime(tmp, mtime, mtime);
    await Deno.rename(tmp, target);
    return size;
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

export async function runRestore(
  config: Config,
  deps: { store: ObjectStore; logger: Logger },
  opts: RestoreOptions,
): Promise<{ report: RestoreReport; exitCode: number }> {
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
    alreadyPresent: 0,
  };
  const found = await candidates(config, store, opts);
  let list = found.list;
  const unsafe = found.unsafe;
  report.failures.push(...unsafe);
  for (const u of unsafe) logger.error(`Refusing to restore ${u.path}: ${u.error}`);

  if (!opts.overwrite) {
    const existing = list.filter((c) => exists(join(opts.to, c.relPath)));
    const identical = new Set<RestoreCandidate>();
    // A file already restored with the very content of that version (a rerun after Glacier
    // restores finished) is skipped, not a conflict.
    await forEachPool(existing, opts.concurrency, async (c) => {
      if (await alreadyRestored(c, opts.to, store)) identical.add(c);
    });
    report.alreadyPresent = identical.size;
    report.conflicts = existing.filter((c) => !identical.has(c)).map((c) => c.relPath);
    list = list.filter((c) => !identical.has(c));
    if (report.conflicts.length > 0) {
      logger.error(
        `${report.conflicts.length} files already exist under ${opts.to}; nothing was restored ` +
          `(use --overwrite to replace them, or restore into an empty folder)`,
      );
      return { report, exitCode: ExitCode.partial };
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
    return { report, exitCode: report.failures.length > 0 ? ExitCode.partial : ExitCode.ok };
  }

  await forEachPool(list, opts.concurrency, async (c) => {
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
          report.pending.push({ path: c.relPath, storageClass: c.version.storageClass, wait });
          logger.info(
            `Restore of ${c.relPath} from ${c.version.storageClass} requested; expected ${wait}`,
          );
          return;
        }
      }
      logger.info(
        `Restoring ${c.relPath} (version ${c.version.versionId} of ${c.version.lastModified.toISOString()})`,
      );
      report.bytes += await restoreOne(c, opts.to, store, logger);
      report.restored++;
    } catch (err) {
      logger.error(`Error restoring ${c.relPath}: ${describeError(err)}`);
      report.failures.push({ path: c.relPath, error: describeError(err) });
    }
  });
  const exitCode = report.failures.length > 0 || report.pending.length > 0
    ? ExitCode.partial
    : ExitCode.ok;
  return { report, exitCode };
}

export function formatRestoreReport(r: RestoreReport): string {
  const lines = [
    r.dryRun ? "Restore dry run." : "Restore completed.",
    `Files restored: ${r.restored}`,
    `Files pending (Glacier restore requested): ${r.pending.length}`,
    `Files already present with the same content: ${r.alreadyPresent}`,
    `Errors encountered: ${r.failures.length}`,
    `As of: ${r.at}`,
    `Target: ${r.to}`,
  ];
  if (!r.dryRun) lines.push(`Bytes restored: ${r.bytes}`);
  if (r.conflicts.length > 0) {
    lines[0] = "Restore refused: files exist (use --overwrite).";
    lines.push("Existing files:", ...r.conflicts.map((p) => `  ${p}`));
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
  if (r.failures.length > 0) {
    lines.push(
      "Errors:",
      ...r.failures.map((f) => `  ${f.path}: ${f.error}`),
    );
  }
  return lines.join("\n") + "\n";
}
