/**
 * What `restore --at TIME` brings back, decided from version listings. Pure: for every key,
 * the newest version no later than TIME; a delete marker there means the file did not exist.
 */
import type { ObjectHead, ObjectVersion } from "../core/ports.ts";

/** Storage classes whose objects must be restored (thawed) before they can be read. */
export const ARCHIVED_CLASSES = new Set(["GLACIER", "DEEP_ARCHIVE"]);

export interface RestoreCandidate {
  category: string;
  bucket: string;
  key: string;
  /** Path under --to: the key without key_prefix. */
  relPath: string;
  version: ObjectVersion;
  /**
   * The SHA-256 the run manifest recorded for this version (a dump's: its hash is known only
   * after its metadata was sent); the object's own metadata is used when it has one.
   */
  expectedSha256?: string;
}

/** Picks, per key, the newest version at or before `at` (versions may come in any order). */
export function versionsAt(versions: Iterable<ObjectVersion>, at: Date): ObjectVersion[] {
  const best = new Map<string, ObjectVersion>();
  const t = at.getTime();
  for (const v of versions) {
    if (v.lastModified.getTime() > t) continue;
    const cur = best.get(v.key);
    // Same second: a listing's own order (newest first) decides; keep the first seen.
    if (cur === undefined || v.lastModified.getTime() > cur.lastModified.getTime()) {
      best.set(v.key, v);
    }
  }
  return [...best.values()].filter((v) => !v.isDeleteMarker).sort((a, b) => a.key < b.key ? -1 : 1);
}

export type ArchiveState =
  | { kind: "readable" }
  | { kind: "needs-restore" }
  | { kind: "restoring" };

/** Whether an archived object can be read now, is being restored, or needs a restore request. */
export function archiveState(storageClass: string, head: ObjectHead | undefined): ArchiveState {
  if (!ARCHIVED_CLASSES.has(storageClass)) return { kind: "readable" };
  if (head?.restore?.ongoing) return { kind: "restoring" };
  if (head?.restore && !head.restore.ongoing) return { kind: "readable" };
  return { kind: "needs-restore" };
}

/** The usual wait for a Glacier restore, by class and tier (AWS documentation). */
export function expectedWait(storageClass: string, tier: string): string {
  if (storageClass === "DEEP_ARCHIVE") {
    return tier === "Bulk" ? "within 48 hours" : "within 12 hours";
  }
  if (tier === "Expedited") return "1-5 minutes";
  if (tier === "Bulk") return "5-12 hours";
  return "3-5 hours";
}
