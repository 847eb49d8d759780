/**
 * Decide first, then act: the plan says, for every file seen, upload / skip / excluded /
 * unmatched / failed. Building it reads the local state, one listing per bucket, and hashes
 * only the files whose metadata leaves doubt (HEAD only when the local state has no row).
 */
import type { Logger, ObjectStore, StateLookup } from "../core/ports.ts";
import { stateKey } from "../core/ports.ts";
import type { Category, LocalFile, Plan, PlanItem, RemoteObject, StateRow } from "../core/types.ts";
import type { ScanResult } from "./scan.ts";
import { createRouter, objectKey } from "./route.ts";
import { finalDecision, firstDecision } from "./change.ts";
import { digestFile } from "../core/digest.ts";
import { forEachPool } from "../core/pool.ts";
import { describeError } from "../core/errors.ts";
import { manifestKey } from "../core/manifest.ts";

/** S3's limit on a key's length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** The user metadata key carrying the content's SHA-256 (x-amz-meta-sha256). */
export const SHA256_METADATA = "sha256";

export interface PlanInput {
  scan: ScanResult;
  categories: Category[];
  unmatched: string;
  keyPrefix: string;
  state: StateLookup;
  checksum: boolean;
  concurrency: number;
  /** The buckets' listings, when they were started earlier (see startListings); else listed here. */
  listings?: Promise<Listings<number>>;
}

/** Per bucket, what a listing keeps of each object, by key; or why the bucket could not be listed. */
export type Listings<T> = Map<string, Map<string, T> | Error>;

/** Lists every bucket once (concurrently), keeping `keep(object)` per key; errors per bucket. */
async function listEach<T>(
  store: ObjectStore,
  buckets: string[],
  prefix: string,
  keep: (o: RemoteObject) => T,
): Promise<Listings<T>> {
  const out: Listings<T> = new Map();
  await Promise.all(buckets.map(async (bucket) => {
    const listing = new Map<string, T>();
    try {
      const reserved = manifestKey(prefix);
      for await (const obj of store.list(bucket, prefix === "" ? "" : `${prefix}/`)) {
        if (obj.key !== reserved) listing.set(obj.key, keep(obj));
      }
      out.set(bucket, listing);
    } catch (err) {
      out.set(bucket, err instanceof Error ? err : new Error(String(err)));
    }
  }));
  return out;
}

/** Lists every bucket once (concurrently), the manifest left out; never rejects. */
export function listBuckets(
  store: ObjectStore,
  buckets: string[],
  prefix: string,
): Promise<Listings<RemoteObject>> {
  return listEach(store, buckets, prefix, (o) => o);
}

/**
 * Lists the categories' buckets for buildPlan, keeping only each object's size (all the plan
 * reads): the SDK's dates, ETags and storage classes for 100,000 objects cost ~13 MiB of peak
 * RSS (bench/ab.ts, small set). Never rejects (errors per bucket).
 */
export function startListings(
  store: ObjectStore,
  categories: Category[],
  keyPrefix: string,
): Promise<Listings<number>> {
  const buckets = [...new Set(categories.map((c) => c.bucket))];
  return listEach(store, buckets, keyPrefix, (o) => o.size);
}

/** Files whose state rows are read in one go (see StateLookup.prefetch). */
const STATE_CHUNK = 1000;

interface Pending {
  item: PlanItem;
  expected: "state" | "object";
  row?: StateRow;
}

interface Routed {
  index: number;
  category: Category;
  key: string;
  stateKey: string;
}

/**
 * Builds the plan. Files skipped by the fast path (metadata unchanged) are logged and counted
 * here, not kept as plan items: on a 100,000-file tree where nothing changed, an item per file
 * was ~10 MiB of peak RSS for nothing to do.
 */
export async function buildPlan(
  input: PlanInput,
  deps: { store: ObjectStore; logger: Logger },
): Promise<Plan> {
  const { scan } = input;
  const files = scan.files;
  const plan: Plan = {
    items: [],
    skipped: 0,
    excluded: [...scan.excluded],
    unmatched: [],
    failed: [...scan.failed],
    symlinks: [...scan.symlinks],
    special: [...scan.special],
    invalidNames: [...scan.invalidNames],
    hashed: 0,
    present: new Map(),
    unlistable: new Map(),
    unseen: scan.unseen,
  };
  const router = createRouter(input.categories, input.unmatched);
  const listings = await (input.listings ??
    startListings(deps.store, input.categories, input.keyPrefix));
  for (const [bucket, listing] of listings) {
    if (listing instanceof Error) {
      plan.unlistable.set(bucket, { error: listing, files: 0 });
    }
  }

  const reserved = manifestKey(input.keyPrefix);
  const pending: Pending[] = [];
  const encoder = new TextEncoder();
  const routed: Routed[] = [];
  const decideRouted = () => {
    input.state.prefetch?.(routed.map((r) => r.stateKey));
    for (const { index, category, key, stateKey } of routed) {
      const file = files.get(index);
      const row = input.state.get(stateKey);
      const listing = listings.get(category.bucket) as Map<string, number>;
      const size = listing.get(key);
      const decision = firstDecision({
        file,
        row,
        remote: size === undefined ? undefined : { size },
        checksum: input.checksum,
      });
      if (decision.kind === "skip") {
        deps.logger.info(
          `File ${file.relPath} already up to date in ${category.bucket}, skipping.`,
        );
        plan.skipped++;
        continue;
      }
      const item = planItem(file, category, key);
      item.reason = decision.reason;
      if (decision.kind !== "upload") {
        pending.push({ item, expected: decision.kind === "hash" ? "state" : "object", row });
      }
      plan.items.push(item);
    }
    routed.length = 0;
  };
  for (let index = 0; index < files.length; index++) {
    const relPath = files.relPath(index);
    const category = router.route(relPath);
    if (category === undefined) {
      plan.unmatched.push(relPath);
      continue;
    }
    const key = objectKey(input.keyPrefix, relPath);
    // A UTF-16 unit is at most 3 UTF-8 bytes: only long keys need encoding to be measured.
    if (key.length * 3 > MAX_KEY_BYTES && encoder.encode(key).length > MAX_KEY_BYTES) {
      plan.failed.push({
        path: relPath,
        error: `object key longer than S3's ${MAX_KEY_BYTES} bytes`,
      });
      continue;
    }
    if (key === reserved) {
      plan.failed.push({ path: relPath, error: `'${key}' is reserved for s3backup's manifest` });
      continue;
    }
    const present = plan.present.get(category.bucket) ?? [];
    present.push(key);
    plan.present.set(category.bucket, present);
    const unlistable = plan.unlistable.get(category.bucket);
    if (unlistable !== undefined) {
      unlistable.files++; // one error for the bucket, not one per file
      continue;
    }
    routed.push({ index, category, key, stateKey: stateKey(category.bucket, key) });
    if (routed.length >= STATE_CHUNK) decideRouted();
  }
  decideRouted();
  plan.hashed = pending.length;
  const failedItems = new Set<PlanItem>();
  await forEachPool(pending, input.concurrency, async (p) => {
    const { item } = p;
    try {
      item.digest = await digestFile(item.file.absPath, item.file.size, undefined, {
        expect: item.file,
      });
      let expected: string | undefined;
      if (p.expected === "state") expected = p.row?.sha256;
      else expected = (await deps.store.head(item.bucket, item.key))?.metadata[SHA256_METADATA];
      const d = finalDecision(item.digest.sha256Hex, expected);
      item.action = d.kind;
      item.reason = d.kind === "skip" ? `${item.reason}, same content` : d.reason;
      item.refreshState = d.kind === "skip";
    } catch (err) {
      failedItems.add(item);
      plan.failed.push({ path: item.file.relPath, error: describeError(err) });
    }
  });
  if (failedItems.size > 0) plan.items = plan.items.filter((i) => !failedItems.has(i));
  return plan;
}

function planItem(file: LocalFile, category: Category, key: string): PlanItem {
  return {
    file,
    category: category.name,
    bucket: category.bucket,
    key,
    action: "upload",
    reason: "",
  };
}
