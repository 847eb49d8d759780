/** `s3backup verify`: what is stored per category, in the `aws s3 ls` format. */
import type { Config } from "../config/config.ts";
import type { ObjectStore, VersioningStatus } from "../core/ports.ts";
import type { RemoteObject } from "../core/types.ts";
import { describeError } from "../core/errors.ts";
import { keyPrefixPath, manifestKey } from "../core/layout.ts";
import { oneLine, plural } from "../core/text.ts";
import { selectCategories } from "../config/select_categories.ts";

export interface CategoryListing {
  category: string;
  bucket: string;
  objects: RemoteObject[];
  /** Why the bucket could not be listed (the others are listed all the same). */
  error?: string;
  /** The bucket's versioning (restore --at needs "Enabled"), or why it could not be read. */
  versioning?: VersioningStatus;
  versioningError?: string;
}

/** The bucket's versioning status, or why it could not be read; {} when the store cannot say. */
async function versioningOf(store: ObjectStore, bucket: string) {
  if (!store.versioning) return {};
  try {
    return { versioning: await store.versioning(bucket) };
  } catch (err) {
    return { versioningError: describeError(err) };
  }
}

export async function listCategories(
  config: Config,
  store: ObjectStore,
  only?: string,
): Promise<CategoryListing[]> {
  const prefix = keyPrefixPath(config.keyPrefix);
  const reserved = manifestKey(config.keyPrefix);
  return await Promise.all(
    selectCategories(config, only).map(async (c): Promise<CategoryListing> => {
      const objects: RemoteObject[] = [];
      const versioning = versioningOf(store, c.bucket);
      try {
        for await (const o of store.list(c.bucket, prefix)) if (o.key !== reserved) objects.push(o);
        return { category: c.name, bucket: c.bucket, objects, ...await versioning };
      } catch (err) {
        await versioning;
        return { category: c.name, bucket: c.bucket, objects, error: describeError(err) };
      }
    }),
  );
}

/** The --json form: snake_case keys, as every command's JSON. */
export function listingJson(listings: CategoryListing[]): string {
  return JSON.stringify(listings.map((l) => ({
    category: l.category,
    bucket: l.bucket,
    objects: l.objects.map((o) => ({
      key: o.key,
      size: o.size,
      last_modified: o.lastModified.toISOString(),
      storage_class: o.storageClass,
      ...(o.etag ? { etag: o.etag } : {}),
    })),
    ...(l.error ? { error: l.error } : {}),
    ...(l.versioning ? { versioning: l.versioning } : {}),
    ...(l.versioningError ? { versioning_error: l.versioningError } : {}),
  })));
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `aws s3 ls` line: local date and time, size right-aligned in 10 columns, key. */
export function lsLine(o: RemoteObject): string {
  const d = o.lastModified;
  const when = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  // A key with a newline or a tab would split or shift the line: escaped as the log does.
  return `${when} ${String(o.size).padStart(10)} ${oneLine(o.key)}`;
}

export function formatListing(listings: CategoryListing[]): string {
  const out: string[] = [];
  for (const l of listings) {
    const versioning = l.versioning ??
      (l.versioningError && `unknown (${oneLine(l.versioningError)})`);
    out.push(
      `== ${l.category}: s3://${l.bucket}/${versioning ? ` (versioning: ${versioning})` : ""}`,
    );
    if (l.error !== undefined) {
      out.push(`ERROR: cannot list the bucket: ${oneLine(l.error)}`, "");
      continue;
    }
    for (const o of l.objects) out.push(lsLine(o));
    const bytes = l.objects.reduce((s, o) => s + o.size, 0);
    out.push(`Total: ${plural(l.objects.length, "object")}, ${plural(bytes, "byte")}`, "");
  }
  return out.join("\n");
}
