/**
 * The run manifests: after the uploads, each bucket's manifest is written when its key set
 * changed since the last one written (a fingerprint in the local state says so).
 */
import type { ObjectStore, StateStore } from "../core/ports.ts";
import type { PathFailure, Plan } from "../core/types.ts";
import { describeError } from "../core/errors.ts";
import {
  encodeManifest,
  manifestFingerprint,
  putManifest,
  readManifest,
} from "../core/manifest.ts";
import { manifestKey, objectKey } from "../core/layout.ts";

/**
 * Writes each bucket's manifest. Files under a path the scan could not see are not gone: their
 * entries in the previous manifest are kept (without it, a restore would leave them out); when
 * that manifest cannot be read, none is written, so restore goes on using the previous one. A
 * bucket that could not be listed gets no manifest: its files were not looked at.
 */
export async function writeManifests(
  plan: Plan,
  keyPrefix: string,
  buckets: Iterable<string>,
  store: ObjectStore,
  state: StateStore,
): Promise<PathFailure[]> {
  const failures: PathFailure[] = [];
  const key = manifestKey(keyPrefix);
  const unseen = plan.unseen.map((p) => objectKey(keyPrefix, p));
  const folders = unseen.filter((u) => u.endsWith("/"));
  const files = new Set(unseen.filter((u) => !u.endsWith("/")));
  const isUnseen = (k: string) => files.has(k) || folders.some((f) => k.startsWith(f));
  for (const bucket of new Set(buckets)) {
    if (plan.unlistable.has(bucket)) continue;
    let keys = plan.present.get(bucket) ?? [];
    const name = `manifest:${bucket}:${key}`;
    try {
      if (unseen.length > 0) {
        const kept = [...(await readManifest(store, bucket, key)) ?? []].filter(isUnseen);
        keys = kept.length > 0 ? [...keys, ...kept] : keys;
      }
      const fingerprint = manifestFingerprint(keys);
      if (state.getMeta(name) === fingerprint) continue;
      await putManifest(store, bucket, key, encodeManifest(keys));
      state.setMeta(name, fingerprint);
    } catch (err) {
      failures.push({ path: `s3://${bucket}/${key}`, error: describeError(err) });
    }
  }
  return failures;
}
