/**
 * The run manifests: after the uploads, each bucket's manifest is written when its key set
 * changed since the last one written (a fingerprint in the local state says so), when the run
 * uploaded to the bucket, or when the last one is older than MANIFEST_REFRESH_MS. Each version
 * of a manifest is then a restore point (`s3backup snapshots`), and its date says that the host
 * still backs up (`s3backup fleet`), at the cost of at most one PUT per bucket a day.
 */
import type { ObjectStore, StateStore } from "../core/ports.ts";
import type { DumpOutcome, PathFailure, Plan } from "../core/types.ts";
import { describeError } from "../core/errors.ts";
import {
  type DumpRecord,
  type ManifestBuilder,
  putManifest,
  readManifestEntries,
} from "../core/manifest.ts";
import { compareKeys } from "../core/key_order.ts";
import { manifestKey, objectKey } from "../core/layout.ts";

/** A manifest older than this is written again (under a day: a nightly run always refreshes). */
export const MANIFEST_REFRESH_MS = 20 * 60 * 60 * 1000;

/** Whether a bucket's manifest must be written. Pure. */
export function manifestDue(
  last: { fingerprint?: string; writtenAt?: string },
  fingerprint: string,
  uploaded: boolean,
  now: Date,
): boolean {
  if (uploaded || last.fingerprint !== fingerprint) return true;
  const age = now.getTime() - new Date(last.writtenAt ?? "").getTime();
  return !(age >= 0 && age < MANIFEST_REFRESH_MS); // unknown or future dates count as old
}

/**
 * Writes each bucket's manifest. Files under a path the scan could not see are not gone: their
 * entries in the previous manifest are kept (without it, a restore would leave them out); when
 * that manifest cannot be read, none is written, so restore goes on using the previous one. A
 * bucket that could not be listed gets no manifest: its files were not looked at.
 *
 * Each dump uploaded this run is listed with its record (SHA-256, version id); a dump that
 * failed made no version, so the previous manifest's entry for it is kept, as for an unseen
 * file: `restore --at` tonight still brings back the last good dump.
 */
export async function writeManifests(
  manifests: Map<string, ManifestBuilder>,
  plan: Pick<Plan, "unseen" | "unlistable" | "walked">,
  uploadedTo: Set<string>,
  keyPrefix: string,
  store: ObjectStore,
  state: StateStore,
  now: Date,
  dumps: DumpOutcome[] = [],
): Promise<PathFailure[]> {
  const failures: PathFailure[] = [];
  if (!plan.walked) return failures; // a manifest of half a walk would hide the rest
  const key = manifestKey(keyPrefix);
  const unseen = plan.unseen.map((p) => objectKey(keyPrefix, p));
  const folders = unseen.filter((u) => u.endsWith("/"));
  const files = new Set(unseen.filter((u) => !u.endsWith("/")));
  const isUnseen = (k: string) => files.has(k) || folders.some((f) => k.startsWith(f));
  for (const [bucket, manifest] of manifests) {
    if (plan.unlistable.has(bucket)) continue;
    const mine = dumps.filter((d) => d.bucket === bucket);
    const records: DumpRecord[] = mine.filter((d) => d.status === "uploaded").map((d) => ({
      key: d.key,
      sha256: d.sha256!,
      versionId: d.versionId,
      size: d.bytes,
    }));
    for (const r of records) manifest.add(r.key);
    const failedDumps = new Set(mine.filter((d) => d.status === "failed").map((d) => d.key));
    const name = `manifest:${bucket}:${key}`;
    const writtenName = `manifest-written:${bucket}:${key}`;
    try {
      if (unseen.length > 0 || failedDumps.size > 0) {
        const previous = await readManifestEntries(store, bucket, key);
        const kept = [...previous?.keys ?? []].filter((k) => isUnseen(k) || failedDumps.has(k));
        for (const k of kept.sort(compareKeys)) {
          manifest.add(k);
          const record = previous?.dumps.get(k);
          if (record !== undefined) records.push(record);
        }
      }
      const fingerprint = manifest.finish(records).fingerprint();
      const last = { fingerprint: state.getMeta(name), writtenAt: state.getMeta(writtenName) };
      if (!manifestDue(last, fingerprint, uploadedTo.has(bucket), now)) continue;
      await putManifest(store, bucket, key, manifest.bytes());
      state.setMeta(name, fingerprint);
      state.setMeta(writtenName, now.toISOString());
    } catch (err) {
      failures.push({ path: `s3://${bucket}/${key}`, error: describeError(err) });
    }
  }
  return failures;
}
