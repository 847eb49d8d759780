/**
 * The first pass of `verify --compare`, pure (rclone's march): the source's files and the
 * buckets' objects paired by key. Every file lands once: with its object, or as source-only
 * (missing), or held back by a bucket that could not be listed; every object of a bucket a
 * category routes files to lands once: with its file, or as destination-only (extra).
 */
import type { Category, LocalFile, RemoteObject } from "../core/types.ts";
import type { Router } from "../backup/route.ts";
import { objectKey, relativePathOf } from "../core/layout.ts";

export interface Routed {
  file: LocalFile;
  category: Category;
  key: string;
}

export interface MarchResult {
  both: Array<Routed & { object: RemoteObject }>;
  sourceOnly: Routed[];
  destOnly: Array<{ category: Category; object: RemoteObject }>;
  /** Files whose bucket could not be listed, by bucket. */
  unlisted: Map<string, { error: Error; files: LocalFile[] }>;
}

/**
 * Pairs `files` (the scan, sorted) with `listings` (per bucket, by key; or why the bucket could
 * not be listed). Only the `categories` asked for are compared; an object belongs to the
 * category its path routes to (categories may share a bucket).
 */
export function march(
  files: Iterable<LocalFile>,
  listings: Map<string, Map<string, RemoteObject> | Error>,
  categories: Category[],
  router: Router,
  keyPrefix: string,
): MarchResult {
  const out: MarchResult = { both: [], sourceOnly: [], destOnly: [], unlisted: new Map() };
  const wanted = new Set(categories);
  const seen = new Set<string>();
  for (const file of files) {
    const category = router.route(file.relPath);
    if (category === undefined || !wanted.has(category)) continue;
    const listing = listings.get(category.bucket);
    if (listing === undefined || listing instanceof Error) {
      const held = out.unlisted.get(category.bucket) ??
        { error: listing ?? new Error("not listed"), files: [] };
      held.files.push(file);
      out.unlisted.set(category.bucket, held);
      continue;
    }
    const key = objectKey(keyPrefix, file.relPath);
    seen.add(`${category.bucket}\0${key}`);
    const object = listing.get(key);
    if (object === undefined) out.sourceOnly.push({ file, category, key });
    else out.both.push({ file, category, key, object });
  }
  for (const category of categories) {
    const listing = listings.get(category.bucket);
    if (!(listing instanceof Map)) continue;
    for (const object of listing.values()) {
      if (seen.has(`${category.bucket}\0${object.key}`)) continue;
      const rel = relativePathOf(object.key, keyPrefix);
      const owner = rel instanceof Error ? undefined : router.route(rel);
      if (owner === category) out.destOnly.push({ category, object });
    }
  }
  return out;
}
