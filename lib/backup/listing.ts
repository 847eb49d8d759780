/**
 * The buckets' listings held whole (verify --compare; a run reads them as it walks, see
 * listing_cursor.ts): every bucket listed once, all at once, the run manifest left out. A
 * bucket that cannot be listed is its error, never a rejection: the others go on.
 */
import type { ObjectStore } from "../core/ports.ts";
import type { RemoteObject } from "../core/types.ts";
import { keyPrefixPath, manifestKey } from "../core/layout.ts";

/** Per bucket, what a listing keeps of each object, by key; or why the bucket could not be listed. */
export type Listings<T> = Map<string, Map<string, T> | Error>;

async function listEach<T>(
  store: ObjectStore,
  buckets: string[],
  keyPrefix: string,
  keep: (o: RemoteObject) => T,
): Promise<Listings<T>> {
  const out: Listings<T> = new Map();
  const reserved = manifestKey(keyPrefix);
  await Promise.all(buckets.map(async (bucket) => {
    const listing = new Map<string, T>();
    try {
      for await (const obj of store.list(bucket, keyPrefixPath(keyPrefix))) {
        if (obj.key !== reserved) listing.set(obj.key, keep(obj));
      }
      out.set(bucket, listing);
    } catch (err) {
      out.set(bucket, err instanceof Error ? err : new Error(String(err)));
    }
  }));
  return out;
}

/** Every object of each bucket under key_prefix (verify). */
export function listBuckets(
  store: ObjectStore,
  buckets: string[],
  keyPrefix: string,
): Promise<Listings<RemoteObject>> {
  return listEach(store, buckets, keyPrefix, (o) => o);
}
