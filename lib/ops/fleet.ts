/**
 * `s3backup fleet`: for the admin of servers that share the buckets, each under its own
 * key_prefix (the host name), when each last wrote a run manifest. A run rewrites its manifests
 * at least once a day (lib/backup/manifest.ts), so an old date means the host stopped backing
 * up. Reads the buckets only: no state from any host.
 */
import type { Config } from "../config/config.ts";
import type { ObjectStore } from "../core/ports.ts";
import type { PathFailure } from "../core/types.ts";
import { describeError } from "../core/errors.ts";
import { forEachPool } from "../core/pool.ts";
import { MANIFEST_NAME } from "../core/layout.ts";
import { formatAge, isoSeconds } from "../core/duration.ts";
import { oneLine } from "../core/text.ts";

/** A manifest found: which host prefix ("" for none), where, and when it was written. */
export interface ManifestSeen {
  host: string;
  bucket: string;
  lastModified: Date;
}

export interface FleetHost {
  /** The key_prefix; "" for a host that backs up to the buckets' root. */
  host: string;
  /** The newest of its manifests; undefined: none found. */
  last?: Date;
  buckets: Array<{ bucket: string; lastModified: Date }>;
  /** Listed in [infra] hosts. */
  expected: boolean;
}

export interface Fleet {
  hosts: FleetHost[];
  failures: PathFailure[];
}

/** The manifests under the bucket's root and each top-level folder (one HEAD each). */
async function manifestsIn(store: ObjectStore, bucket: string, concurrency: number) {
  if (!store.listLevel) throw new Error("this store cannot list folders");
  const candidates = [""];
  for await (const page of store.listLevel(bucket, "")) candidates.push(...page.folders);
  const found: ManifestSeen[] = [];
  await forEachPool(candidates, concurrency, async (folder) => {
    const head = await store.head(bucket, `${folder}${MANIFEST_NAME}`);
    if (head) {
      found.push({ host: folder.replace(/\/$/, ""), bucket, lastModified: head.lastModified });
    }
  });
  return found;
}

/** Per host, its newest manifest; expected hosts without any are kept; oldest first. Pure. */
export function groupFleet(seen: ManifestSeen[], expected: string[]): FleetHost[] {
  const hosts = new Map<string, FleetHost>();
  const get = (host: string) => {
    let h = hosts.get(host);
    if (!h) hosts.set(host, h = { host, buckets: [], expected: expected.includes(host) });
    return h;
  };
  for (const host of expected) get(host);
  for (const s of seen) {
    const h = get(s.host);
    h.buckets.push({ bucket: s.bucket, lastModified: s.lastModified });
    if (h.last === undefined || s.lastModified > h.last) h.last = s.lastModified;
  }
  for (const h of hosts.values()) h.buckets.sort((a, b) => (a.bucket < b.bucket ? -1 : 1));
  // Never first, then the oldest: the hosts to look at are on top.
  return [...hosts.values()].sort((a, b) =>
    (a.last?.getTime() ?? -Infinity) - (b.last?.getTime() ?? -Infinity) ||
    (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)
  );
}

export async function fleetStatus(
  config: Config,
  store: ObjectStore,
  concurrency: number,
): Promise<Fleet> {
  const buckets = [...new Set(config.categories.map((c) => c.bucket))];
  const failures: PathFailure[] = [];
  const seen: ManifestSeen[] = [];
  await Promise.all(buckets.map(async (bucket) => {
    try {
      seen.push(...await manifestsIn(store, bucket, concurrency));
    } catch (err) {
      failures.push({ path: `s3://${bucket}/`, error: describeError(err) });
    }
  }));
  return { hosts: groupFleet(seen, config.infra.hosts), failures };
}

const hostName = (h: FleetHost) => h.host === "" ? "(no key_prefix)" : h.host;

export function formatFleet(fleet: Fleet, now: Date): string {
  const rows = fleet.hosts.map((h) => [
    hostName(h),
    h.last ? isoSeconds(h.last) : "never",
    h.last
      ? `${formatAge(now.getTime() - h.last.getTime())} ago`
      : "no run manifest found (listed in [infra] hosts)",
  ]);
  const head = ["HOST", "LAST RUN MANIFEST", "AGE"];
  const widths = head.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = rows.length > 0 ? [head, ...rows].map(line) : ["No run manifest found."];
  for (const f of fleet.failures) out.push(`ERROR: ${f.path}: ${oneLine(f.error)}`);
  return out.join("\n") + "\n";
}

/** The --json form: snake_case keys, as every command's JSON. */
export function fleetJson(fleet: Fleet, now: Date): string {
  return JSON.stringify({
    hosts: fleet.hosts.map((h) => ({
      host: h.host,
      last_manifest: h.last?.toISOString() ?? null,
      age_seconds: h.last ? Math.round((now.getTime() - h.last.getTime()) / 1000) : null,
      expected: h.expected,
      buckets: h.buckets.map((b) => ({
        bucket: b.bucket,
        last_modified: b.lastModified.toISOString(),
      })),
    })),
    failures: fleet.failures,
  });
}
