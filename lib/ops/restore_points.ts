/**
 * What a restore point holds, from a bucket's version listing: for each key its versions in
 * time order, and for a manifest (the keys the source held) at a time, how many of them have a
 * version then and how many bytes. The same choice as restore's (lib/restore/plan.ts): the
 * newest version no later than the time; a delete marker there means no file. Pure.
 */
import type { ObjectVersion } from "../core/ports.ts";

/** Per key, its versions as [time ms, size, deleted], oldest first. */
export type VersionHistory = Map<string, Array<[number, number, boolean]>>;

export function versionHistory(versions: Iterable<ObjectVersion>): VersionHistory {
  const history: VersionHistory = new Map();
  for (const v of versions) {
    const list = history.get(v.key) ?? [];
    list.push([v.lastModified.getTime(), v.size, v.isDeleteMarker]);
    history.set(v.key, list);
  }
  // At equal times a listing gives the latest first (a delete marker over its version): kept
  // last here by a stable sort on a reversed list, so "newest no later than" picks it.
  for (const [k, list] of history) history.set(k, list.reverse().sort((a, b) => a[0] - b[0]));
  return history;
}

/** The last entry at or before t (binary search); undefined when none. */
function at(list: Array<[number, number, boolean]>, t: number) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid][0] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : list[lo - 1];
}

export function pointStats(keys: Iterable<string>, time: Date, history: VersionHistory) {
  const t = time.getTime();
  let files = 0;
  let bytes = 0;
  let missing = 0;
  for (const key of keys) {
    const v = at(history.get(key) ?? [], t);
    if (v === undefined || v[2]) missing++;
    else {
      files++;
      bytes += v[1];
    }
  }
  return { files, bytes, missing };
}
