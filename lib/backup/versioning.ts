/**
 * Whether each bucket keeps versions. A bucket made by hand without versioning silently makes
 * point-in-time restore impossible (an overwrite replaces the only copy), so a run asks S3
 * (GetBucketVersioning) and warns. An "Enabled" answer is kept in the local state for a day;
 * any other answer is asked again next run, so the warning ends as soon as the bucket is fixed.
 */
import type { ObjectStore, StateStore, VersioningStatus } from "../core/ports.ts";
import { describeError } from "../core/errors.ts";
import { forEachPool } from "../core/pool.ts";

/** How long an "Enabled" answer is trusted. */
export const VERSIONING_CHECK_MS = 24 * 60 * 60 * 1000;

export interface BucketVersioning {
  bucket: string;
  /** undefined when it could not be read (error says why). */
  status?: VersioningStatus;
  error?: string;
  /** From the local state, not asked this run. */
  cached?: boolean;
}

export const versioningMetaName = (bucket: string) => `versioning:${bucket}`;

/** The cached answer when it still holds: "Enabled", checked less than a day before `now`. */
export function cachedStatus(value: string | undefined, now: Date): VersioningStatus | undefined {
  if (value === undefined) return undefined;
  try {
    const { status, checkedAt } = JSON.parse(value) as { status?: string; checkedAt?: string };
    const age = now.getTime() - new Date(checkedAt ?? "").getTime();
    return status === "Enabled" && age >= 0 && age < VERSIONING_CHECK_MS ? "Enabled" : undefined;
  } catch {
    return undefined; // an unreadable value is asked again
  }
}

/** Each bucket's versioning, from the state when recently "Enabled", else from S3 (and saved). */
export async function checkVersioning(
  buckets: Iterable<string>,
  store: ObjectStore,
  state: Pick<StateStore, "getMeta" | "setMeta">,
  now: Date,
  save: boolean,
): Promise<BucketVersioning[]> {
  const ask = store.versioning?.bind(store);
  if (ask === undefined) return [];
  const list = [...new Set(buckets)];
  const results: BucketVersioning[] = new Array(list.length);
  await forEachPool(list, 8, async (bucket, i) => {
    const name = versioningMetaName(bucket);
    if (cachedStatus(state.getMeta(name), now) === "Enabled") {
      results[i] = { bucket, status: "Enabled", cached: true };
      return;
    }
    try {
      const status = await ask(bucket);
      results[i] = { bucket, status };
      if (save) state.setMeta(name, JSON.stringify({ status, checkedAt: now.toISOString() }));
    } catch (err) {
      results[i] = { bucket, error: describeError(err) };
    }
  });
  return results;
}

/** The run's warnings: one for the buckets without versioning, one for those not checked. Pure. */
export function versioningWarnings(results: BucketVersioning[]): string[] {
  const warnings: string[] = [];
  const off = results.filter((r) => r.status !== undefined && r.status !== "Enabled");
  if (off.length > 0) {
    const names = off.map((r) => `${r.bucket} (${r.status})`).join(", ");
    warnings.push(
      `Versioning is not enabled on ${off.length === 1 ? "bucket" : "buckets"} ${names}: ` +
        "an overwritten file's previous content is not kept and restore --at cannot go back " +
        "in time. Enable it: aws s3api put-bucket-versioning --bucket NAME " +
        "--versioning-configuration Status=Enabled",
    );
  }
  for (const r of results.filter((r) => r.error !== undefined)) {
    warnings.push(
      `Could not check the versioning of bucket ${r.bucket}: ${r.error} ` +
        "(the backup identity needs s3:GetBucketVersioning)",
    );
  }
  return warnings;
}
