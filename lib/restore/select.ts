/**
 * Which versions a restore brings back: each selected bucket's version listing, narrowed by the
 * run manifest in force at --at, and what that manifest lists but no version can give.
 */
import type { Config } from "../config/config.ts";
import type { ObjectStore, ObjectVersion } from "../core/ports.ts";
import type { PathFailure } from "../core/types.ts";
import type { RestoreOptions } from "./restore.ts";
import { describeError } from "../core/errors.ts";
import { selectCategories } from "../config/select_categories.ts";
import { type DumpRecord, readManifestEntries } from "../core/manifest.ts";
import { keyPrefixPath, manifestKey, relativePathOf } from "../core/layout.ts";
import { type RestoreCandidate, versionsAt } from "./plan.ts";

export interface Found {
  list: RestoreCandidate[];
  /** Keys refused (they would escape --to) and buckets whose versions could not be listed. */
  failures: PathFailure[];
  /** Keys refused because they would escape --to (also in failures). */
  unsafe: PathFailure[];
  missing: string[];
  /** The oldest version found under the prefix in any bucket (undefined: none at all). */
  earliest?: Date;
}

/**
 * Every version under prefix, the manifest's apart. An empty listing of a bucket that holds
 * objects means the server does not list versions (fauxqs answers a plain listing): restore
 * cannot know any version then, and says so instead of restoring nothing quietly.
 */
async function listVersionsOf(store: ObjectStore, bucket: string, prefix: string, skip: string) {
  const versions: ObjectVersion[] = [];
  let any = false;
  for await (const v of store.listVersions(bucket, prefix)) {
    any = true;
    if (v.key !== skip) versions.push(v);
  }
  if (!any) {
    for await (const _ of store.list(bucket, prefix)) {
      throw new Error(
        "the bucket holds objects but the server listed no versions of them: restore needs " +
          "ListObjectVersions on a versioned bucket, which this S3 server does not seem to support",
      );
    }
  }
  return versions;
}

export async function candidates(config: Config, store: ObjectStore, opts: RestoreOptions) {
  const found: Found = { list: [], failures: [], unsafe: [], missing: [] };
  const base = keyPrefixPath(config.keyPrefix);
  const prefix = base + (opts.prefix ?? "").replace(/^\/+/, "");
  const reserved = manifestKey(config.keyPrefix);
  for (const c of selectCategories(config, opts.category)) {
    let versions: ObjectVersion[];
    let present: Awaited<ReturnType<typeof presentAt>>;
    try {
      versions = await listVersionsOf(store, c.bucket, prefix, reserved);
      present = await presentAt(store, c.bucket, reserved, opts.at);
    } catch (err) {
      found.failures.push({ path: `s3://${c.bucket}/${prefix}`, error: describeError(err) });
      continue;
    }
    for (const v of versions) {
      if (found.earliest === undefined || v.lastModified < found.earliest) {
        found.earliest = v.lastModified;
      }
    }
    const restorable = new Set<string>();
    for (const v of versionsAt(versions, opts.at)) {
      if (present && !present.keys.has(v.key) && v.lastModified <= present.time) continue;
      restorable.add(v.key);
      const record = present?.dumps.get(v.key);
      const expectedSha256 = record && isRecorded(v, record) ? record.sha256 : undefined;
      const rel = relativePathOf(v.key, config.keyPrefix);
      if (rel instanceof Error) {
        const refused = { path: `s3://${c.bucket}/${v.key}`, error: rel.message };
        found.failures.push(refused);
        found.unsafe.push(refused);
      } else {found.list.push({
          category: c.name,
          bucket: c.bucket,
          key: v.key,
          relPath: rel,
          version: v,
          ...(expectedSha256 ? { expectedSha256 } : {}),
        });}
    }
    // In the backup at --at, yet no version to restore: never uploaded (its upload failed).
    for (const key of present?.keys ?? []) {
      if (key.startsWith(prefix) && !restorable.has(key)) {
        found.missing.push(key.slice(base.length));
      }
    }
  }
  found.missing.sort();
  return found;
}

/** Whether a version is the one a dump record describes (by version id; by size without one). */
function isRecorded(v: ObjectVersion, record: DumpRecord): boolean {
  if (record.versionId !== undefined && record.versionId !== "null") {
    return v.versionId === record.versionId;
  }
  return v.size === record.size;
}

/**
 * The keys the source held at `at` and the dumps' records, from the newest manifest no later
 * than it; undefined when there is none (then every key's newest version counts).
 */
async function presentAt(store: ObjectStore, bucket: string, key: string, at: Date) {
  const versions = [];
  for await (const v of store.listVersions(bucket, key)) if (v.key === key) versions.push(v);
  const [manifest] = versionsAt(versions, at);
  if (!manifest) return undefined;
  const entries = await readManifestEntries(
    store,
    bucket,
    key,
    manifest.versionId === "null" ? undefined : manifest.versionId,
  );
  return entries ? { ...entries, time: manifest.lastModified } : undefined;
}

/** Why nothing was found to restore, for a user who asked for something. */
export function nothingBecause(found: Found, opts: RestoreOptions): string {
  if (found.earliest === undefined) {
    return opts.prefix
      ? `no backed-up file matches --prefix '${opts.prefix}'`
      : "nothing has been backed up to the selected buckets";
  }
  if (found.earliest.getTime() > opts.at.getTime()) {
    return `--at ${opts.at.toISOString()} is before the first backup ` +
      `(${found.earliest.toISOString()})`;
  }
  return `no file was in the backup as of ${opts.at.toISOString()}`;
}
