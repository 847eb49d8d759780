/**
 * `verify --compare`: the source tree against the buckets. A pure pairing first (march.ts:
 * missing, extra, and pairs), then each pair checked by metadata, or with `--deep` by content:
 * the SHA-256 recorded at upload and the object's ETag (the store judges it); `--download` also
 * hashes what S3 returns (rclone check --download).
 */
import type { Config } from "../config/config.ts";
import type { Logger, ObjectStore, StateStore } from "../core/ports.ts";
import { stateKey } from "../core/ports.ts";
import type { Category, LocalFile, PathFailure, RemoteObject, StateRow } from "../core/types.ts";
import { checkSources } from "../backup/sources.ts";
import { scanTrees } from "../backup/scan.ts";
import { dumpTarget } from "../backup/dumps.ts";
import { createRouter } from "../backup/route.ts";
import { SHA256_METADATA } from "../core/layout.ts";
import { sha256File, sha256OfStream } from "../core/digest.ts";
import { withSourceFile } from "../core/source_file.ts";
import { march, type Routed } from "./march.ts";
import { statMatches } from "../backup/change.ts";
import { listBuckets } from "../backup/listing.ts";
import { selectCategories } from "../config/select_categories.ts";
import { forEachPool } from "../core/pool.ts";
import { describeError } from "../core/errors.ts";
import { oneLine, plural } from "../core/text.ts";

export interface Difference {
  kind: "missing" | "changed" | "extra";
  category: string;
  bucket: string;
  key: string;
  detail: string;
}

export interface CompareReport {
  checked: number;
  matching: number;
  differences: Difference[];
  failures: PathFailure[];
  deep: boolean;
  download: boolean;
}

export interface CompareOptions {
  category?: string;
  deep: boolean;
  download: boolean;
  concurrency: number;
}

/** Whether a local file and its object match, judged from metadata only (size, then state). */
function metadataDifference(
  file: LocalFile,
  object: RemoteObject,
  row: StateRow | undefined,
): string | undefined {
  if (object.size !== file.size) return `size: local ${file.size}, stored ${object.size}`;
  if (row !== undefined && !statMatches(file, row)) {
    return "modified since it was backed up (size/mtime/ctime/inode)";
  }
  return undefined;
}

/** The deep check of one pair: the recorded SHA-256, the stored ETag, and with download the bytes. */
async function deepDifference(
  store: ObjectStore,
  pair: Routed & { object: RemoteObject },
  download: boolean,
): Promise<string | undefined> {
  const { file, category, key } = pair;
  const sha256 = await sha256File(file);
  const head = await store.head(category.bucket, key);
  if (head === undefined) return "vanished from the bucket during the check";
  const recorded = head.metadata[SHA256_METADATA]?.toLowerCase();
  if (recorded === undefined) return "no SHA-256 recorded in the object's metadata";
  if (recorded !== sha256) return "content differs from the backup (SHA-256)";
  const matches = await withSourceFile(file, (f) =>
    store.contentMatches(head, {
      size: file.size,
      sha256,
      read: (start, end) => f.readRange(start, end),
    }));
  if (matches === "mismatch") {
    return `stored object's ETag ${head.etag} does not match the recorded content`;
  }
  if (download) {
    const got = await store.get(category.bucket, key);
    const sha = got ? await sha256OfStream(got.body as AsyncIterable<Uint8Array>) : "";
    if (sha !== sha256) return "downloaded content's SHA-256 differs (object corrupt)";
  }
  return undefined;
}

export async function compareTree(
  config: Config,
  deps: { store: ObjectStore; logger: Logger; state?: StateStore },
  opts: CompareOptions,
): Promise<CompareReport> {
  const categories = selectCategories(config, opts.category);
  const check = checkSources(config.sources);
  const scan = scanTrees(check.present, config.exclude, [config.stateDir], check.several);
  scan.failed.unshift(...check.failures);
  const listings = await listBuckets(
    deps.store,
    [...new Set(categories.map((c) => c.bucket))],
    config.keyPrefix,
  );
  const router = createRouter(config.categories, config.unmatched);
  const paired = march(scan.files, listings, categories, router, config.keyPrefix);

  const differences: Difference[] = [];
  const failures: PathFailure[] = [...scan.failed];
  const diff = (kind: Difference["kind"], p: { category: Category; key: string }, detail: string) =>
    differences.push({
      kind,
      category: p.category.name,
      bucket: p.category.bucket,
      key: p.key,
      detail,
    });
  for (const [bucket, { error, files }] of paired.unlisted) {
    failures.push({
      path: `s3://${bucket}/`,
      error: `cannot list the bucket: ${describeError(error)} (${
        plural(files.length, "file")
      } not compared)`,
    });
  }
  for (const p of paired.sourceOnly) diff("missing", p, "not in the bucket");
  // A dump has no file in the trees: its object is not an extra.
  const dumps = new Set(
    config.dumps.map((d) => dumpTarget(d, config.categories, config.keyPrefix).key),
  );
  for (const { category, object } of paired.destOnly) {
    if (dumps.has(object.key)) continue;
    diff(
      "extra",
      { category, key: object.key },
      "in the bucket, not in the source (deleted or excluded locally)",
    );
  }

  const rows = deps.state?.loadAll() ?? new Map<string, StateRow>();
  const toDeep: typeof paired.both = [];
  let matching = 0;
  for (const p of paired.both) {
    const detail = metadataDifference(
      p.file,
      p.object,
      opts.deep ? undefined : rows.get(stateKey(p.category.bucket, p.key)),
    );
    if (detail !== undefined) diff("changed", p, detail);
    else if (opts.deep) toDeep.push(p);
    else matching++;
  }
  // Each deep check's result kept by index, summed after the pool (no total across an await).
  const deep: Array<string | undefined | Error> = [];
  await forEachPool(toDeep, opts.concurrency, async (p, i) => {
    try {
      deep[i] = await deepDifference(deps.store, p, opts.download);
    } catch (err) {
      deep[i] = err instanceof Error ? err : new Error(String(err));
    }
  });
  toDeep.forEach((p, i) => {
    const r = deep[i];
    if (r === undefined) matching++;
    else if (r instanceof Error) failures.push({ path: p.file.relPath, error: describeError(r) });
    else diff("changed", p, r);
  });
  differences.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    checked: paired.both.length + paired.sourceOnly.length,
    matching,
    differences,
    failures,
    deep: opts.deep,
    download: opts.download,
  };
}

export function formatCompare(r: CompareReport): string {
  const count = (k: Difference["kind"]) => r.differences.filter((d) => d.kind === k).length;
  const mode = r.download ? "deep, downloaded" : r.deep ? "deep" : "metadata";
  const lines = [
    `Compared ${r.checked} files with the buckets (${mode}).`,
    `Matching: ${r.matching}`,
    `Missing: ${count("missing")}`,
    `Changed: ${count("changed")}`,
    `Extra: ${count("extra")}`,
    `Errors: ${r.failures.length}`,
  ];
  for (const d of r.differences) {
    lines.push(`${d.kind.toUpperCase().padEnd(8)} s3://${d.bucket}/${oneLine(d.key)}: ${d.detail}`);
  }
  for (const f of r.failures) lines.push(`ERROR    ${oneLine(f.path)}: ${oneLine(f.error)}`);
  return lines.join("\n") + "\n";
}
