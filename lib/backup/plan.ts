/**
 * Decide first, then act: the plan says, for every file seen, upload / skip / excluded /
 * unmatched / failed. Three steps: route each file (its category, key, or why it has none),
 * decide each batch from metadata alone (pure: the listing's size and the state row), then
 * resolve the doubts by reading the file (and HEAD only when the local state has no row).
 */
import type { Logger, ObjectStore, StateLookup } from "../core/ports.ts";
import { stateKey } from "../core/ports.ts";
import type { Category, LocalFile, PathFailure, Plan, PlanItem, StateRow } from "../core/types.ts";
import type { FileList, ScanResult } from "./scan.ts";
import { createRouter, type Router } from "./route.ts";
import { finalDecision, type FirstDecision, firstDecision } from "./change.ts";
import { sha256File } from "../core/digest.ts";
import { forEachPool } from "../core/pool.ts";
import { describeError } from "../core/errors.ts";
import {
  keyTooLong,
  manifestKey,
  MAX_KEY_BYTES,
  objectKey,
  SHA256_METADATA,
} from "../core/layout.ts";
import { type Listings, startListings } from "./listing.ts";

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
  /** Keys no file may take (the dumps'), with why; the manifest's is always reserved. */
  reserved?: Map<string, string>;
}

/** A file with its category and key. */
interface Routed {
  index: number;
  category: Category;
  key: string;
}

/** Where routing sends a file: a category and key, unmatched, or a failure (the key is unusable). */
type Route = Routed | { unmatched: string } | { failure: PathFailure };

/** Routes one file of the scan. Pure. */
function routeFile(
  files: FileList,
  index: number,
  router: Router,
  keyPrefix: string,
  reserved: Map<string, string>,
  encoder: TextEncoder,
): Route {
  const relPath = files.relPath(index);
  const category = router.route(relPath);
  if (category === undefined) return { unmatched: relPath };
  const key = objectKey(keyPrefix, relPath);
  if (keyTooLong(key, encoder)) {
    return {
      failure: { path: relPath, error: `object key longer than S3's ${MAX_KEY_BYTES} bytes` },
    };
  }
  const taken = reserved.get(key);
  if (taken !== undefined) return { failure: { path: relPath, error: taken } };
  return { index, category, key };
}

export interface Decided {
  file: LocalFile;
  category: Category;
  key: string;
  row: StateRow | undefined;
  decision: FirstDecision;
}

/** A batch of routed files decided from metadata alone (listed size, state row). Pure. */
export function decideBatch(
  batch: Routed[],
  files: FileList,
  sizeOf: (bucket: string, key: string) => number | undefined,
  rowOf: (bucket: string, key: string) => StateRow | undefined,
  checksum: boolean,
): Decided[] {
  return batch.map(({ index, category, key }) => {
    const file = files.get(index);
    const row = rowOf(category.bucket, key);
    const size = sizeOf(category.bucket, key);
    const remote = size === undefined ? undefined : { size };
    return { file, category, key, row, decision: firstDecision({ file, row, remote, checksum }) };
  });
}

/** A file whose metadata left doubt: its item, and where its recorded SHA-256 is. */
interface Doubt {
  item: PlanItem;
  expected: "state" | "object";
  row?: StateRow;
}

/**
 * Reads each doubted file (and HEADs its object when no state row records its hash); each
 * result kept by index and applied after the pool, so nothing shared changes across an await.
 */
async function resolveDoubts(
  doubts: Doubt[],
  store: ObjectStore,
  concurrency: number,
): Promise<PathFailure[]> {
  const results: Array<{ sha256: string; expected?: string } | Error> = [];
  await forEachPool(doubts, concurrency, async ({ item, expected, row }, i) => {
    try {
      const sha256 = await sha256File(item.file);
      const recorded = expected === "state"
        ? row?.sha256
        : (await store.head(item.bucket, item.key))?.metadata[SHA256_METADATA];
      results[i] = { sha256, expected: recorded };
    } catch (err) {
      results[i] = err instanceof Error ? err : new Error(String(err));
    }
  });
  const failures: PathFailure[] = [];
  doubts.forEach(({ item }, i) => {
    const r = results[i];
    if (r instanceof Error) {
      failures.push({ path: item.file.relPath, error: describeError(r) });
      return;
    }
    const d = finalDecision(r.sha256, r.expected);
    item.sha256 = r.sha256;
    item.action = d.kind;
    item.reason = d.kind === "skip" ? `${item.reason}, same content` : d.reason;
    item.refreshState = d.kind === "skip";
  });
  return failures;
}

/** Files whose state rows are read in one go (see StateLookup.prefetch). */
const STATE_CHUNK = 1000;

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
    skippedByBucket: new Map(),
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
    if (listing instanceof Error) plan.unlistable.set(bucket, { error: listing, files: 0 });
  }
  const sizeOf = (bucket: string, key: string) =>
    (listings.get(bucket) as Map<string, number>).get(key);
  const rowOf = (bucket: string, key: string) => input.state.get(stateKey(bucket, key));

  const doubts: Doubt[] = [];
  const decide = (batch: Routed[]) => {
    input.state.prefetch?.(batch.map((r) => stateKey(r.category.bucket, r.key)));
    for (const d of decideBatch(batch, files, sizeOf, rowOf, input.checksum)) {
      if (d.decision.kind === "skip") {
        deps.logger.verbose(
          `File ${d.file.relPath} already up to date in ${d.category.bucket}, skipping.`,
        );
        plan.skipped++;
        const { bucket } = d.category;
        plan.skippedByBucket.set(bucket, (plan.skippedByBucket.get(bucket) ?? 0) + 1);
        continue;
      }
      const item = planItem(d.file, d.category, d.key, d.decision.reason);
      if (d.decision.kind === "hash") doubts.push({ item, expected: "state", row: d.row });
      else if (d.decision.kind === "hash-and-head") doubts.push({ item, expected: "object" });
      plan.items.push(item);
    }
  };

  const manifest = manifestKey(input.keyPrefix);
  const reserved = new Map(input.reserved);
  reserved.set(manifest, `'${manifest}' is reserved for s3backup's manifest`);
  const encoder = new TextEncoder();
  let batch: Routed[] = [];
  for (let index = 0; index < files.length; index++) {
    const route = routeFile(files, index, router, input.keyPrefix, reserved, encoder);
    if ("unmatched" in route) {
      plan.unmatched.push(route.unmatched);
      continue;
    }
    if ("failure" in route) {
      plan.failed.push(route.failure);
      continue;
    }
    const present = plan.present.get(route.category.bucket) ?? [];
    present.push(route.key);
    plan.present.set(route.category.bucket, present);
    const unlistable = plan.unlistable.get(route.category.bucket);
    if (unlistable !== undefined) {
      unlistable.files++; // one error for the bucket, not one per file
      continue;
    }
    batch.push(route);
    if (batch.length >= STATE_CHUNK) {
      decide(batch);
      batch = [];
    }
  }
  decide(batch);

  plan.hashed = doubts.length;
  const failures = await resolveDoubts(doubts, deps.store, input.concurrency);
  if (failures.length > 0) {
    const failed = new Set(failures.map((f) => f.path));
    plan.items = plan.items.filter((i) => !failed.has(i.file.relPath));
    plan.failed.push(...failures);
  }
  return plan;
}

function planItem(file: LocalFile, category: Category, key: string, reason: string): PlanItem {
  return { file, category: category.name, bucket: category.bucket, key, action: "upload", reason };
}
