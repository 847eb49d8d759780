/**
 * The CPU floor of uploading a large file on this machine: what reading it, SHA-256 and MD5 each
 * cost alone per GiB (an upload does all three: the SHA-256 goes into the metadata, each part
 * carries its MD5). Reads the big data set's 1 GiB file, page-cached after a first pass.
 *
 *   deno run -A bench/floor.ts [--runs 3]
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import process from "node:process";
import { join } from "node:path";
import { ensureDataSet } from "./datasets.ts";
import { BENCH_DIR } from "./tools.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "3" } },
});
const runs = Number(values.runs);
const set = ensureDataSet(join(BENCH_DIR, "data"), "big", 1, (m) => console.error(m));
const path = join(set.dir, set.changeTarget);
const GiB = set.bytes / 1073741824;
const buf = new Uint8Array(8 * 1024 * 1024);

/** CPU seconds (user + system) of this process spent in fn. */
function cpu(fn: () => void): number {
  const used = process.cpuUsage();
  fn();
  const d = process.cpuUsage(used);
  return (d.user + d.system) / 1e6;
}

function pass(update?: (chunk: Uint8Array) => void): void {
  using f = Deno.openSync(path);
  while (true) {
    const n = f.readSync(buf);
    if (n === null) break;
    update?.(buf.subarray(0, n));
  }
}

pass(); // into the page cache
const results: Record<string, number[]> = { read: [], sha256: [], md5: [] };
for (let i = 0; i < runs; i++) {
  results.read.push(cpu(() => pass()));
  results.sha256.push(cpu(() => {
    const h = createHash("sha256");
    pass((c) => h.update(c));
    h.digest();
  }));
  results.md5.push(cpu(() => {
    const h = createHash("md5");
    pass((c) => h.update(c));
    h.digest();
  }));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const read = med(results.read) / GiB;
const sha = med(results.sha256) / GiB - read;
const md5 = med(results.md5) / GiB - read;
console.log(`CPU seconds per GiB on this machine (median of ${runs}, page-cached file):`);
console.log(`  read alone:       ${read.toFixed(2)}`);
console.log(`  SHA-256 alone:    ${sha.toFixed(2)} (read subtracted)`);
console.log(`  MD5 alone:        ${md5.toFixed(2)} (read subtracted)`);
console.log(`  floor of an upload (two reads, SHA-256, MD5): ${(2 * read + sha + md5).toFixed(2)}`);
