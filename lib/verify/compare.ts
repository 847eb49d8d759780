/**
 * `verify --compare`: the source tree against the buckets — missing, changed and extra
 * objects. `--deep` reads every local file and checks it against the SHA-256 recorded at
 * upload and the object's ETag; `--download` also hashes what S3 returns (rclone check
 * --download).
 */
import type { Config } from "../config/config.ts";
import type { Logger, ObjectStore, StateStore } from "../core/ports.ts";
import { stateKey } from "../core/ports.ts";
import type { LocalFile, PathFailure, RemoteObject } from "../core/types.ts";
import { scanTree } from "../backup/scan.ts";
import { createRouter, objectKey } from "../backup/route.ts";
import { digestFile, expectedEtag, sha256OfStream } from "../core/digest.ts";
import { statMatches } from "../backup/change.ts";
import { listBuckets, SHA256_METADATA } from "../backup/plan.ts";
import { selectCategories } from "./list.ts";
import { forEachPool } from "../core/pool.ts";
import { describeError } from "../core/errors.ts";
import { oneLine } from "../backup/report.ts";

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

export async function compareTree(
  config: Config,
  deps: { store: ObjectStore; logger: Logger; state?: StateStore },
  opts: CompareOptions,
): Promise<CompareReport> {
  const categories = selectCategories(config, opts.category);
  const report: CompareReport = {
    checked: 0,
    matching: 0,
    differences: [],
    failures: [],
    deep: opts.deep,
    download: opts.download,
  };
  const scan = scanTree(config.source, config.exclude, [config.stateDir]);
  report.failures.push(...scan.failed);
  const router = createRouter(config.categories, config.unmatched);
  const listings = await listBuckets(
    deps.store,
    [...new Set(categories.map((c) => c.bucket))],
    config.keyPrefix,
  );
  const rows = deps.state?.loadAll() ?? new Map();
  const seen = new Set<string>();
  const toDeep: Array<
    { file: LocalFile; obj: RemoteObject; category: string; bucket: string }
  > = [];

  for (const file of scan.files) {
    const category = router.route(file.relPath);
    if (!category || !categories.includes(category)) continue;
    const key = objectKey(config.keyPrefix, file.relPath);
    const listing = listings.get(category.bucket);
    if (listing instanceof Error || listing === undefined) {
      report.failures.push({
        path: file.relPath,
        error: `cannot list ${category.bucket}: ${describeError(listing)}`,
      });
      continue;
    }
    report.checked++;
    seen.add(stateKey(category.bucket, key));
    const obj = listing.get(key);
    const diff = (kind: Difference["kind"], detail: string) =>
      report.differences.push({
        kind,
        category: category.name,
        bucket: category.bucket,
        key,
        detail,
      });
    if (obj === undefined) {
      diff("missing", "not in the bucket");
      continue;
    }
    if (obj.size !== file.size) {
      diff("changed", `size: local ${file.size}, stored ${obj.size}`);
      continue;
    }
    const row = rows.get(stateKey(category.bucket, key));
    if (!opts.deep && row !== undefined && !statMatches(file, row)) {
      diff("changed", "modified since it was backed up (size/mtime/ctime/inode)");
      continue;
    }
    if (opts.deep) toDeep.push({ file, obj, category: category.name, bucket: category.bucket });
    else report.matching++;
  }

  await forEachPool(toDeep, opts.concurrency, async ({ file, obj, category, bucket }) => {
    const diff = (detail: string) => {
      report.differences.push({ kind: "changed", category, bucket, key: obj.key, detail });
    };
    try {
      const digest = await digestFile(file.absPath, file.size);
      const head = await deps.store.head(bucket, obj.key);
      const recorded = head?.metadata[SHA256_METADATA]?.toLowerCase();
      if (recorded === undefined) return diff("no SHA-256 recorded in the object's metadata");
      if (recorded !== digest.sha256Hex) return diff("content differs from the backup (SHA-256)");
      if (head?.sse !== "aws:kms" && head?.etag && head.etag !== expectedEtag(digest)) {
        return diff(`stored object's ETag ${head.etag} does not match the recorded content`);
      }
      if (opts.download) {
        const got = await deps.store.get(bucket, obj.key);
        const sha = got ? await sha256OfStream(got.body as AsyncIterable<Uint8Array>) : "";
        if (sha !== digest.sha256Hex) {
          return diff("downloaded content's SHA-256 differs (object corrupt)");
        }
      }
      report.matching++;
    } catch (err) {
      report.failures.push({ path: file.relPath, error: describeError(err) });
    }
  });

  for (const c of categories) {
    const listing = listings.get(c.bucket);
    // listBuckets already leaves the manifest out.
    if (!(listing instanceof Map)) continue;
    for (const obj of listing.values()) {
      if (seen.has(stateKey(c.bucket, obj.key))) continue;
      // Another category sharing the bucket may own it.
      if (
        router.route(obj.key.slice(config.keyPrefix ? config.keyPrefix.length + 1 : 0))?.bucket !==
          c.bucket
      ) continue;
      report.differences.push({
        kind: "extra",
        category: c.name,
        bucket: c.bucket,
        key: obj.key,
        detail: "in the bucket, not in the source (deleted or excluded locally)",
      });
    }
  }
  report.differences.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return report;
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
