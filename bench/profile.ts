/**
 * Where does an s3backup run spend its time? Runs `s3backup run` under `deno run --cpu-prof` on a
 * generated data set and a fresh local server, and summarizes the V8 CPU profile: self time by
 * module (lib/ file, npm package, runtime), the heaviest functions, inclusive time of the run's
 * stages, and the time before the first sample in lib/backup/run.ts (start-up: module loading).
 *
 *   deno run -A bench/profile.ts [--set mixed|small|big] [--scenario no-change|initial|one-changed]
 *                                [--repo DIR] [--keep DIR]
 *
 * Also usable on any .cpuprofile: `deno run -A bench/profile.ts --summarize FILE`.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { changeOneFile, ensureDataSet, restoreChangeTarget, type SetName } from "./datasets.ts";
import {
  BENCH_DIR,
  PEER_BUCKET,
  REPO_ROOT,
  runS3backup,
  S3BACKUP_BUCKETS,
  s3backupConfig,
  startServer,
} from "./tools.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Groups a frame by where its code lives. */
function moduleOf(cf: CallFrame, repo: string): string {
  const u = cf.url;
  if (!u) return cf.functionName.startsWith("(") ? cf.functionName : "(native/builtin)";
  const npm = /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
  if (npm) return `npm:${npm[1]}`;
  if (u.startsWith("node:") || u.includes("ext:deno_node")) return "node: (Deno's node compat)";
  if (u.startsWith("ext:")) return "ext: (Deno runtime)";
  const local = u.replace(/^file:\/\//, "");
  if (local.startsWith(repo)) return local.slice(repo.length);
  return u;
}

export function summarize(profile: CpuProfile, repo: string, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let firstRunUs: number | undefined;
  let t = 0;
  const stageUs = new Map<string, number>();
  const STAGES = [
    "walkTree",
    "loadAll",
    "buildPlan",
    "prefetch",
    "startListings",
    "parseListObjectsV2",
    "executePlan",
    "writeManifests",
    "sha256File",
    "createStderrLogger",
    "flush",
    "reportJson",
  ];
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    // Inclusive time of named stages: each stage counted once per sample.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (firstRunUs === undefined && cf.url.endsWith("lib/backup/run.ts")) firstRunUs = t;
      if (STAGES.includes(cf.functionName) && !seen.has(cf.functionName)) {
        seen.add(cf.functionName);
        stageUs.set(cf.functionName, (stageUs.get(cf.functionName) ?? 0) + dt);
      }
    }
  }
  const total = profile.endTime - profile.startTime;
  const byModule = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    const mod = moduleOf(cf, repo);
    byModule.set(mod, (byModule.get(mod) ?? 0) + us);
    const fn = `${cf.functionName || "(anonymous)"} ${mod}:${cf.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  }
  const ms = (us: number) => (us / 1000).toFixed(0).padStart(6);
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [
    `profile: ${ms(total)} ms sampled; first sample in lib/backup/run.ts at ${
      firstRunUs === undefined ? "–" : ms(firstRunUs)
    } ms (start-up: module loading and evaluation)`,
    "",
    "self time by module:",
  ];
  for (const [m, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${ms(us)} ms ${pct(us)}  ${m}`);
  }
  lines.push("", "inclusive time of run stages (synchronous parts exact; async ones partial):");
  for (const s of STAGES) {
    const us = stageUs.get(s);
    if (us) lines.push(`  ${ms(us)} ms ${pct(us)}  ${s}`);
  }
  lines.push("", `top ${top} functions by self time:`);
  for (const [f, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${ms(us)} ms ${pct(us)}  ${f}`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values: o } = parseArgs({
    args: Deno.args,
    options: {
      set: { type: "string", default: "mixed" },
      scenario: { type: "string", default: "no-change" },
      repo: { type: "string", default: REPO_ROOT },
      keep: { type: "string" },
      summarize: { type: "string" },
      "data-dir": { type: "string", default: join(BENCH_DIR, "data") },
    },
  });
  const repo = o.repo.replace(/\/?$/, "/");
  if (o.summarize) {
    console.log(summarize(JSON.parse(Deno.readTextFileSync(o.summarize)), repo));
    Deno.exit(0);
  }
  const set = ensureDataSet(o["data-dir"], o.set as SetName, 1, (m) => console.error(m));
  const scratch = o.keep ?? Deno.makeTempDirSync({ prefix: "s3backup-profile-" });
  Deno.mkdirSync(scratch, { recursive: true });
  const profDir = join(scratch, "cpuprof");
  const server = await startServer([...Object.values(S3BACKUP_BUCKETS), PEER_BUCKET]);
  try {
    const stateDir = join(scratch, "state");
    const cfg = join(scratch, "s3backup.toml");
    Deno.writeTextFileSync(cfg, s3backupConfig(set.dir, stateDir, server.endpoint));
    const flags = [`--cpu-prof`, `--cpu-prof-dir=${profDir}`];
    if (o.scenario !== "initial") {
      await new Promise((r) => setTimeout(r, 2500)); // past the racily-clean window
      const first = await runS3backup(repo, cfg, scratch);
      console.error(`initial run (not profiled): ${first.wallS.toFixed(2)} s`);
      if (o.scenario === "one-changed") changeOneFile(set, "profile");
    }
    const r = await runS3backup(repo, cfg, scratch, flags);
    console.error(
      `profiled ${o.scenario} run: ${r.wallS.toFixed(2)} s wall, ${r.rssMiB.toFixed(0)} MiB, ` +
        `hashed ${r.report?.hashed}, requests ${JSON.stringify(r.report?.requests)}`,
    );
    const file = [...Deno.readDirSync(profDir)].map((e) => join(profDir, e.name)).sort().pop()!;
    console.log(summarize(JSON.parse(Deno.readTextFileSync(file)), repo));
    console.error(`profile: ${file}`);
  } finally {
    await server.stop();
    restoreChangeTarget(set);
    if (!o.keep) Deno.removeSync(scratch, { recursive: true });
  }
}
