/**
 * Decide first, then act — as the walk goes. The walk (in S3's key order) is cut into batches;
 * each batch is routed, merged with the buckets' listings (listing_cursor.ts) and with the state
 * rows of its key range, and decided from metadata alone (decide.ts). Skips are counted, the
 * rest is handed on as items, one at a time, to the executor or the dry run, which resolve the
 * doubts by reading the file. Memory holds a batch, the listings' read-ahead and the manifests'
 * gzipped text, not the tree: 1,000,000 files plan in the memory of 100,000.
 */
import type { Logger, ObjectStore, StateStore } from "../core/ports.ts";
import type { Category, LocalFile, PathFailure, Plan, PlanItem, StateRow } from "../core/types.ts";
import { createRouter } from "./route.ts";
import { finalDecision } from "./change.ts";
import { sha256File } from "../core/digest.ts";
import { describeError } from "../core/errors.ts";
import { keyPrefixPath, manifestKey, objectKey, SHA256_METADATA } from "../core/layout.ts";
import { ManifestBuilder } from "../core/manifest.ts";
import { ListingCursor } from "./listing_cursor.ts";
import { decideBatch, type Routed, routeFile, staleKeys } from "./decide.ts";
import { emptySide, type ScanRoot, walkTrees } from "./walk.ts";

export interface PlanInput {
  roots: ScanRoot[];
  /** Several trees: one that cannot be walked is a failure of its own (not fatal). */
  several: boolean;
  exclude: string[];
  /** Folders of the tool's own (state_dir): never walked. */
  ownDirs: string[];
  categories: Category[];
  unmatched: string;
  keyPrefix: string;
  checksum: boolean;
  /** Keys no file may take (the dumps'), with why; the manifest's is always reserved. */
  reserved?: Map<string, string>;
  /** Failures and unseen paths found before the walk (trees that are missing). */
  failed?: PathFailure[];
  unseen?: string[];
  /** Deletes the state rows of files that are gone (a real run; not a dry run). */
  prune: boolean;
}

export interface PlanDeps {
  store: ObjectStore;
  state: Pick<StateStore, "rowsBetween" | "forget">;
  logger: Logger;
  signal?: AbortSignal;
  /** Files found so far by the walk (the progress line). */
  onScan?: (files: number) => void;
}

/** A plan being made: its tallies so far, its items to take, and the buckets' manifests. */
export interface PlannedRun {
  plan: Plan;
  items: AsyncGenerator<PlanItem>;
  /** Per listable bucket, the run manifest of the files walked (final once plan.walked). */
  manifests: Map<string, ManifestBuilder>;
}

/** Files decided at a time: one state query and one listing step per bucket. */
export const BATCH = 1000;

export function emptyPlan(): Plan {
  return {
    skipped: 0,
    skippedByBucket: new Map(),
    excluded: [],
    unmatched: [],
    failed: [],
    symlinks: [],
    special: [],
    invalidNames: [],
    hashed: 0,
    unlistable: new Map(),
    unseen: [],
    toUpload: { files: 0, bytes: 0 },
    walked: false,
    pruned: 0,
  };
}

/**
 * Opens each bucket's listing (its first request answered, so the buckets that cannot be listed
 * are known before anything is decided), then returns the plan to be taken item by item.
 */
export async function startPlan(input: PlanInput, deps: PlanDeps): Promise<PlannedRun> {
  const plan = emptyPlan();
  plan.failed.push(...input.failed ?? []);
  plan.unseen.push(...input.unseen ?? []);
  const buckets = [...new Set(input.categories.map((c) => c.bucket))];
  const cursors = new Map<string, ListingCursor>();
  const skip = manifestKey(input.keyPrefix);
  await Promise.all(buckets.map(async (bucket) => {
    try {
      const disorder = () =>
        deps.logger.verbose(`${bucket} lists keys out of S3's order: its listing is read whole.`);
      const cursor = await ListingCursor.open(
        deps.store,
        bucket,
        keyPrefixPath(input.keyPrefix),
        skip,
        disorder,
      );
      cursors.set(bucket, cursor);
    } catch (err) {
      plan.unlistable.set(bucket, { error: asError(err), files: 0 });
    }
  }));
  const manifests = new Map([...cursors.keys()].map((b) => [b, new ManifestBuilder()]));
  return { plan, manifests, items: planItems(input, deps, plan, cursors, manifests) };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

async function* planItems(
  input: PlanInput,
  deps: PlanDeps,
  plan: Plan,
  cursors: Map<string, ListingCursor>,
  manifests: Map<string, ManifestBuilder>,
): AsyncGenerator<PlanItem> {
  const router = createRouter(input.categories, input.unmatched);
  const reserved = new Map(input.reserved);
  const manifest = manifestKey(input.keyPrefix);
  reserved.set(manifest, `'${manifest}' is reserved for s3backup's manifest`);
  const encoder = new TextEncoder();
  const side = emptySide();
  const walk = walkTrees(input.roots, input.exclude, input.ownDirs, side, input.several);
  /** Per bucket, the last key decided: the state's key ranges follow on from it. */
  const decidedUpTo = new Map<string, string>();
  const unseenKeys = () => plan.unseen.map((p) => objectKey(input.keyPrefix, p));
  let batch: Routed[] = [];
  let turn = performance.now();
  const flushSide = () => {
    plan.excluded.push(...side.excluded.splice(0));
    plan.symlinks.push(...side.symlinks.splice(0));
    plan.special.push(...side.special.splice(0));
    plan.invalidNames.push(...side.invalidNames.splice(0));
    plan.failed.push(...side.failed.splice(0));
    plan.unseen.push(...side.unseen.splice(0));
    deps.onScan?.(side.files);
  };
  while (true) {
    if (deps.signal?.aborted) return;
    const next = walk.next();
    const file: LocalFile | undefined = next.done ? undefined : next.value;
    if (file !== undefined) {
      const route = routeFile(file, router, input.keyPrefix, reserved, encoder);
      if ("unmatched" in route) plan.unmatched.push(route.unmatched);
      else if ("failure" in route) plan.failed.push(route.failure);
      else {
        const unlistable = plan.unlistable.get(route.category.bucket);
        if (unlistable !== undefined) unlistable.files++; // one error for the bucket, not one per file
        else batch.push(route);
      }
      if (batch.length < BATCH) continue;
    }
    flushSide();
    // The walk is synchronous: a turn for the network (uploads in flight, listings) now and then.
    if (performance.now() - turn > 10) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      turn = performance.now();
    }
    yield* decide(batch, input, deps, plan, cursors, manifests, decidedUpTo, unseenKeys());
    batch = [];
    if (file === undefined) break;
  }
  if (deps.signal?.aborted) return;
  if (input.prune) {
    for (const [bucket] of cursors) {
      if (plan.unlistable.has(bucket)) continue;
      const rows = deps.state.rowsBetween(bucket, decidedUpTo.get(bucket), undefined);
      forget(deps, plan, bucket, staleKeys(rows, new Set(), unseenKeys()));
    }
  }
  plan.walked = true;
}

function forget(deps: PlanDeps, plan: Plan, bucket: string, keys: string[]): void {
  if (keys.length === 0) return;
  deps.state.forget(bucket, keys);
  plan.pruned += keys.length;
}

/** One batch: per bucket, the listing read up to its last key and the state rows of its range. */
async function* decide(
  batch: Routed[],
  input: PlanInput,
  deps: PlanDeps,
  plan: Plan,
  cursors: Map<string, ListingCursor>,
  manifests: Map<string, ManifestBuilder>,
  decidedUpTo: Map<string, string>,
  unseenKeys: string[],
): AsyncGenerator<PlanItem> {
  const byBucket = new Map<string, Routed[]>();
  for (const r of batch) {
    const list = byBucket.get(r.category.bucket) ?? [];
    list.push(r);
    byBucket.set(r.category.bucket, list);
  }
  const rows = new Map<string, StateRow>();
  const ready = new Set<string>();
  for (const [bucket, routed] of byBucket) {
    const last = routed[routed.length - 1].key;
    try {
      await cursors.get(bucket)!.advanceTo(last);
    } catch (err) {
      // The listing broke off: this bucket's files from here on are held back, one error.
      plan.unlistable.set(bucket, { error: asError(err), files: routed.length });
      manifests.delete(bucket);
      continue;
    }
    const seen = new Set(routed.map((r) => r.key));
    const inRange = deps.state.rowsBetween(bucket, decidedUpTo.get(bucket), last);
    for (const row of inRange) rows.set(`${bucket}\0${row.key}`, row);
    if (input.prune) forget(deps, plan, bucket, staleKeys(inRange, seen, unseenKeys));
    decidedUpTo.set(bucket, last);
    const manifest = manifests.get(bucket)!;
    for (const r of routed) manifest.add(r.key);
    ready.add(bucket);
  }
  const sizeOf = (bucket: string, key: string) => cursors.get(bucket)!.sizeOf(key);
  const rowOf = (bucket: string, key: string) => rows.get(`${bucket}\0${key}`);
  // In the walk's order (per bucket, key order: as the listing cursors are read).
  const decidable = batch.filter((r) => ready.has(r.category.bucket));
  for (const d of decideBatch(decidable, sizeOf, rowOf, input.checksum)) {
    const { bucket } = d.category;
    if (d.decision.kind === "skip") {
      deps.logger.verbose(`File ${d.file.relPath} already up to date in ${bucket}, skipping.`);
      plan.skipped++;
      plan.skippedByBucket.set(bucket, (plan.skippedByBucket.get(bucket) ?? 0) + 1);
      continue;
    }
    const item: PlanItem = {
      file: d.file,
      category: d.category.name,
      bucket,
      key: d.key,
      action: "upload",
      reason: d.decision.reason,
    };
    if (d.decision.kind === "upload") {
      plan.toUpload.files++;
      plan.toUpload.bytes += d.file.size;
    } else {
      plan.hashed++;
      item.doubt = d.decision.kind === "hash"
        ? { expected: "state", recorded: d.row?.sha256 }
        : { expected: "object" };
    }
    yield item;
  }
}

/**
 * Reads a doubted file (and HEADs its object when no state row records its hash) and settles
 * the item: upload, or skip (its state row then rewritten). Throws when the file cannot be read.
 */
export async function resolveDoubt(
  item: PlanItem,
  store: ObjectStore,
  plan: Plan,
  signal?: AbortSignal,
): Promise<void> {
  const doubt = item.doubt;
  if (doubt === undefined) return;
  const sha256 = await sha256File(item.file, signal);
  const recorded = doubt.expected === "state"
    ? doubt.recorded
    : (await store.head(item.bucket, item.key))?.metadata[SHA256_METADATA];
  const d = finalDecision(sha256, recorded);
  item.sha256 = sha256;
  item.action = d.kind;
  item.reason = d.kind === "skip" ? `${item.reason}, same content` : d.reason;
  item.refreshState = d.kind === "skip";
  item.doubt = undefined;
  if (d.kind === "upload") {
    plan.toUpload.files++;
    plan.toUpload.bytes += item.file.size;
  } else plan.skippedByBucket.set(item.bucket, (plan.skippedByBucket.get(item.bucket) ?? 0) + 1);
}

/** Why a doubted file could not be decided: its failure. */
export function doubtFailure(item: PlanItem, err: unknown): PathFailure {
  return { path: item.file.relPath, error: describeError(err) };
}
