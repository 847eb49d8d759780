/**
 * The plan's pure steps, one batch of walked files at a time: route each file (its category and
 * key, or why it has none), decide it from metadata alone (the listed size, the state row), and
 * find the state rows of files that are gone.
 */
import type { Category, LocalFile, PathFailure, StateRow } from "../core/types.ts";
import type { Router } from "./route.ts";
import { type FirstDecision, firstDecision } from "./change.ts";
import { keyTooLong, MAX_KEY_BYTES, objectKey } from "../core/layout.ts";

/** A file with its category and key. */
export interface Routed {
  file: LocalFile;
  category: Category;
  key: string;
}

/** Where routing sends a file: a category and key, unmatched, or a failure (the key is unusable). */
export type Route = Routed | { unmatched: string } | { failure: PathFailure };

/** Routes one file. `reserved`: keys no file may take (the manifest's, the dumps'), with why. */
export function routeFile(
  file: LocalFile,
  router: Router,
  keyPrefix: string,
  reserved: Map<string, string>,
  encoder: TextEncoder,
): Route {
  const category = router.route(file.relPath);
  if (category === undefined) return { unmatched: file.relPath };
  const key = objectKey(keyPrefix, file.relPath);
  if (keyTooLong(key, encoder)) {
    return {
      failure: { path: file.relPath, error: `object key longer than S3's ${MAX_KEY_BYTES} bytes` },
    };
  }
  const taken = reserved.get(key);
  if (taken !== undefined) return { failure: { path: file.relPath, error: taken } };
  return { file, category, key };
}

export interface Decided extends Routed {
  row: StateRow | undefined;
  decision: FirstDecision;
}

/** Routed files decided from metadata alone (listed size, state row). */
export function decideBatch(
  batch: Routed[],
  sizeOf: (bucket: string, key: string) => number | undefined,
  rowOf: (bucket: string, key: string) => StateRow | undefined,
  checksum: boolean,
): Decided[] {
  return batch.map((r) => {
    const row = rowOf(r.category.bucket, r.key);
    const size = sizeOf(r.category.bucket, r.key);
    const remote = size === undefined ? undefined : { size };
    return { ...r, row, decision: firstDecision({ file: r.file, row, remote, checksum }) };
  });
}

/**
 * The keys of state rows whose files are gone: rows of a key range the walk went through whose
 * key no file took, except under paths the walk could not see (their files are not gone).
 */
export function staleKeys(
  rows: Iterable<Pick<StateRow, "key">>,
  seen: Set<string>,
  unseenKeys: string[],
): string[] {
  const out: string[] = [];
  for (const { key } of rows) {
    if (seen.has(key)) continue;
    if (unseenKeys.some((u) => (u.endsWith("/") ? key.startsWith(u) : key === u))) continue;
    out.push(key);
  }
  return out;
}
