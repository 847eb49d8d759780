/**
 * `s3backup snapshots`: the restore points in the buckets. Each version of a bucket's run
 * manifest is one: at its time, the files it lists that have a version then are what
 * `restore --at <time>` brings back. Needs read access to the buckets only, no local state.
 */
import type { Config } from "../config/config.ts";
import type { Logger, ObjectStore, ObjectVersion } from "../core/ports.ts";
import type { PathFailure } from "../core/types.ts";
import { describeError } from "../core/errors.ts";
import { forEachPool } from "../core/pool.ts";
import { keyPrefixPath, manifestKey } from "../core/layout.ts";
import { readManifest } from "../core/manifest.ts";
import { selectCategories } from "../config/select_categories.ts";
import { oneLine, plural } from "../core/text.ts";
import { humanBytes, isoSeconds } from "../core/duration.ts";
import { pointStats, type VersionHistory, versionHistory } from "./restore_points.ts";

export interface Snapshot {
  time: Date;
  bucket: string;
  /** The categories stored in this bucket. */
  categories: string[];
  /** Files the manifest lists that have a version at `time`, and their bytes. */
  files: number;
  bytes: number;
  /** Files the manifest lists with no version at `time` (their upload had failed). */
  missing: number;
  versionId: string;
}

export interface SnapshotList {
  snapshots: Snapshot[];
  failures: PathFailure[];
}

/** Every version under prefix, the manifest's apart; an error when the server keeps none. */
async function versionsOf(store: ObjectStore, bucket: string, prefix: string, manifest: string) {
  const manifests: ObjectVersion[] = [];
  const data: ObjectVersion[] = [];
  for await (const v of store.listVersions(bucket, prefix)) {
    (v.key === manifest ? manifests : data).push(v);
  }
  if (manifests.length === 0 && data.length === 0) {
    for await (const _ of store.list(bucket, prefix)) {
      throw new Error(
        "the bucket holds objects but the server listed no versions of them (snapshots needs " +
          "ListObjectVersions, which this S3 server does not seem to support)",
      );
    }
  }
  return { manifests: manifests.filter((m) => !m.isDeleteMarker), data };
}

async function bucketSnapshots(
  store: ObjectStore,
  bucket: string,
  categories: string[],
  keyPrefix: string,
  concurrency: number,
): Promise<Snapshot[]> {
  const key = manifestKey(keyPrefix);
  const { manifests, data } = await versionsOf(store, bucket, keyPrefixPath(keyPrefix), key);
  const history: VersionHistory = versionHistory(data);
  const out: Snapshot[] = new Array(manifests.length);
  // One manifest in memory per worker: a year of nightly manifests of 100,000 keys is not held.
  await forEachPool(manifests, concurrency, async (m, i) => {
    const id = m.versionId === "null" ? undefined : m.versionId;
    const keys = await readManifest(store, bucket, key, id);
    if (keys === undefined) throw new Error(`manifest version ${m.versionId} vanished`);
    const stats = pointStats(keys, m.lastModified, history);
    out[i] = { time: m.lastModified, bucket, categories, versionId: m.versionId, ...stats };
  });
  return out;
}

export async function listSnapshots(
  config: Config,
  store: ObjectStore,
  opts: { category?: string; concurrency: number },
  logger: Logger,
): Promise<SnapshotList> {
  const byBucket = new Map<string, string[]>();
  for (const c of selectCategories(config, opts.category)) {
    byBucket.set(c.bucket, [...byBucket.get(c.bucket) ?? [], c.name]);
  }
  const result: SnapshotList = { snapshots: [], failures: [] };
  await Promise.all([...byBucket].map(async ([bucket, categories]) => {
    try {
      const [found, versioning] = await Promise.all([
        bucketSnapshots(store, bucket, categories, config.keyPrefix, opts.concurrency),
        store.versioning?.(bucket).catch(() => undefined),
      ]);
      result.snapshots.push(...found);
      if (versioning !== undefined && versioning !== "Enabled") {
        logger.warn(
          `Versioning is ${versioning} on bucket ${bucket}: only its latest state can be ` +
            "restored, and later runs replace it",
        );
      }
    } catch (err) {
      result.failures.push({ path: `s3://${bucket}/`, error: describeError(err) });
    }
  }));
  result.snapshots.sort((a, b) =>
    a.time.getTime() - b.time.getTime() || (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0)
  );
  return result;
}

/** One line per restore point, oldest first; the time is what `restore --at` takes. */
export function formatSnapshots(list: SnapshotList): string {
  const rows = list.snapshots.map((s) => [
    isoSeconds(s.time, true),
    s.categories.join(","),
    `s3://${s.bucket}/`,
    plural(s.files, "file"),
    humanBytes(s.bytes),
    s.missing > 0 ? `(${s.missing} missing)` : "",
  ]);
  const head = ["TIME (restore --at)", "CATEGORY", "BUCKET", "FILES", "BYTES", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 3 || i === 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))
      .join("  ").trimEnd();
  const out = rows.length > 0 ? [head, ...rows].map(line) : ["No restore point found."];
  for (const f of list.failures) out.push(`ERROR: ${f.path}: ${oneLine(f.error)}`);
  return out.join("\n") + "\n";
}

/** The --json form: snake_case keys, as every command's JSON. */
export function snapshotsJson(list: SnapshotList): string {
  return JSON.stringify({
    snapshots: list.snapshots.map((s) => ({
      time: isoSeconds(s.time, true),
      last_modified: s.time.toISOString(),
      bucket: s.bucket,
      categories: s.categories,
      files: s.files,
      bytes: s.bytes,
      missing: s.missing,
      version_id: s.versionId,
    })),
    failures: list.failures,
  });
}
