/**
 * A/B of s3backup checkouts (or Deno flags) on one scenario: one server, one initial upload by the
 * first variant, then the variants' runs interleaved (A B A B …) against the same buckets and the
 * same state, so a lib/ change can be measured before it is proposed.
 *
 *   deno run -A bench/ab.ts --set small --scenario no-change --runs 5 \
 *     --variant base=/tmp/s3b-base --variant patched=/tmp/s3b-exp \
 *     [--variant 'gc=/tmp/s3b-base|--v8-flags=--max-old-space-size=200'] [--latency-ms 20]
 *
 * Scenarios: no-change (nothing touched), one-changed (a line appended to one file before each
 * run), initial (a fresh server and state for every run).
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  changeOneFile,
  ensureDataSet,
  removeDir,
  restoreChangeTarget,
  type SetName,
} from "./datasets.ts";
import {
  BENCH_DIR,
  PEER_BUCKET,
  runS3backup,
  S3BACKUP_BUCKETS,
  s3backupConfig,
  type Server,
  startServer,
} from "./tools.ts";
import { median } from "./report.ts";

const { values: o } = parseArgs({
  args: Deno.args,
  options: {
    set: { type: "string", default: "mixed" },
    scenario: { type: "string", default: "no-change" },
    runs: { type: "string", default: "5" },
    /** The server's delay per request (a real round trip), as `deno task bench --latency-ms`. */
    "latency-ms": { type: "string", default: "0" },
    variant: { type: "string", multiple: true, default: [] },
    "data-dir": { type: "string", default: join(BENCH_DIR, "data") },
    /** Keep each run's stderr here (e.g. with a --preload memory tracer). */
    "stderr-dir": { type: "string" },
  },
});
const variants = o.variant.map((v) => {
  const eq = v.indexOf("="); // not split("=", 2): that drops the rest of `--flag=value`
  const [name, rest] = [v.slice(0, eq), v.slice(eq + 1)];
  const [repo, ...flags] = rest.split("|");
  return { name, repo: repo.replace(/\/?$/, "/"), flags };
});
if (variants.length === 0) {
  console.error("give at least one --variant name=DIR[|deno-flag...]");
  Deno.exit(2);
}
const runs = Number(o.runs);
const set = ensureDataSet(o["data-dir"], o.set as SetName, 1, (m) => console.error(m));
const scratch = Deno.makeTempDirSync({ prefix: "s3backup-ab-" });
const cfg = join(scratch, "s3backup.toml");
const stateDir = join(scratch, "state");
let server: Server | undefined;
const results = new Map<string, Array<{ wallS: number; rssMiB: number }>>();

async function fresh(): Promise<void> {
  await server?.stop();
  server = await startServer(
    [...Object.values(S3BACKUP_BUCKETS), PEER_BUCKET],
    Number(o["latency-ms"]),
  );
  removeDir(stateDir);
  Deno.writeTextFileSync(cfg, s3backupConfig(set.dir, stateDir, server.endpoint));
  await new Promise((r) => setTimeout(r, 2500)); // past the racily-clean window
}

try {
  if (o.scenario !== "initial") {
    await fresh();
    const first = await runS3backup(variants[0].repo, cfg, scratch);
    console.error(`initial upload by ${variants[0].name}: ${first.wallS.toFixed(2)} s`);
  }
  for (let i = 1; i <= runs; i++) {
    for (const v of variants) {
      if (o.scenario === "initial") await fresh();
      if (o.scenario === "one-changed") changeOneFile(set, `${v.name}-${i}`);
      const r = await runS3backup(v.repo, cfg, scratch, v.flags);
      const ok = r.code === 0 && r.report !== undefined;
      if (o["stderr-dir"]) {
        Deno.mkdirSync(o["stderr-dir"], { recursive: true });
        Deno.writeTextFileSync(join(o["stderr-dir"], `${v.name}-${i}.stderr`), r.stderr);
      }
      console.error(
        `${v.name.padEnd(12)} #${i}: ${r.wallS.toFixed(2)} s, ${r.rssMiB.toFixed(0)} MiB${
          ok ? "" : `  FAILED: ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`
        }`,
      );
      if (ok) results.set(v.name, [...(results.get(v.name) ?? []), r]);
    }
  }
} finally {
  await server?.stop();
  restoreChangeTarget(set);
  removeDir(scratch);
}

// Peak RSS varies by ~10 MiB between runs of the same code: the median says more than the max.
console.log(`| variant | runs | median wall s | min–max s | median RSS MiB | peak RSS MiB |`);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: |`);
for (const v of variants) {
  const rs = results.get(v.name) ?? [];
  const w = rs.map((r) => r.wallS);
  console.log(
    `| ${v.name} | ${rs.length} | ${median(w).toFixed(2)} | ${Math.min(...w).toFixed(2)}–${
      Math.max(...w).toFixed(2)
    } | ${median(rs.map((r) => r.rssMiB)).toFixed(0)} | ${
      Math.max(...rs.map((r) => r.rssMiB)).toFixed(0)
    } |`,
  );
}
