/**
 * `deno task bench`: s3backup vs rclone vs aws s3 sync on the same generated trees and the same
 * local S3 server (fauxqs, its own process on 127.0.0.1). See bench/README.md.
 *
 *   deno task bench                                   # quick: mixed set, 3 runs (~5 min)
 *   deno task bench --sets mixed,small,big --runs 3   # full run
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  changeOneFile,
  type DataSet,
  ensureDataSet,
  removeDir,
  restoreChangeTarget,
  SET_NAMES,
  type SetName,
} from "./datasets.ts";
import {
  AWS_BIN,
  BENCH_DIR,
  INSTALL_HINTS,
  PEER_BUCKET,
  REPO_ROOT,
  runAws,
  runRclone,
  runS3backup,
  S3BACKUP_BUCKETS,
  s3backupCommand,
  s3backupConfig,
  type Server,
  startServer,
  startupCost,
  TIME_BIN,
  TOOL_NAMES,
  type ToolName,
  type ToolRun,
  which,
  writeAwsConfig,
} from "./tools.ts";
import {
  checkTargets,
  markdownTable,
  type RunRecord,
  type Scenario,
  summarize,
  targetsTable,
} from "./report.ts";

const USAGE = `deno task bench [options]
  --sets LIST          data sets: mixed,small,big,huge (default: mixed)
  --runs N             runs of each scenario per tool (default: 5)
  --initial-runs N     runs of the initial upload (default: --runs)
  --tools LIST         s3backup,rclone,aws (default: all)
  --latency-ms LIST    server-side delays per request, e.g. 0,20 (a real S3 round trip is
                       10–50 ms); each set runs at each (default: 0)
  --latency-sets LIST  the sets also run at the non-zero delays (default: mixed,small)
  --latency-tools LIST the tools run at non-zero delays (default: s3backup,rclone)
  --latency-runs N     runs per scenario at non-zero delays (default: --runs; initial: 1)
  --seed N             data set seed (default: 1)
  --data-dir DIR       where data sets are generated and kept (default: bench/data)
  --repo DIR           the s3backup checkout to measure (default: this one)
  --out DIR            where the JSON results go (default: bench/results)
  --no-save            do not write a results file
  -h, --help`;

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    sets: { type: "string", default: "mixed" },
    runs: { type: "string", default: "5" },
    "latency-ms": { type: "string", default: "0" },
    "latency-sets": { type: "string", default: "mixed,small" },
    "latency-tools": { type: "string", default: "s3backup,rclone" },
    "latency-runs": { type: "string" },
    "initial-runs": { type: "string" },
    tools: { type: "string", default: TOOL_NAMES.join(",") },
    seed: { type: "string", default: "1" },
    "data-dir": { type: "string", default: join(BENCH_DIR, "data") },
    repo: { type: "string", default: REPO_ROOT },
    out: { type: "string", default: join(BENCH_DIR, "results") },
    "no-save": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (opts.help) {
  console.log(USAGE);
  Deno.exit(0);
}

function list<T extends string>(text: string, allowed: readonly T[], what: string): T[] {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  for (const i of items) {
    if (!allowed.includes(i as T)) {
      console.error(`unknown ${what} '${i}' (expected ${allowed.join(", ")})`);
      Deno.exit(2);
    }
  }
  return items as T[];
}
function int(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${what} must be a positive integer`);
    Deno.exit(2);
  }
  return n;
}

const sets = list(opts.sets, SET_NAMES, "data set");
const runs = int(opts.runs, "--runs");
const initialRuns = int(opts["initial-runs"] ?? opts.runs, "--initial-runs");
const seed = int(opts.seed, "--seed");
const latencies = opts["latency-ms"].split(",").map((t) => Number(t.trim()));
if (latencies.some((l) => !Number.isFinite(l) || l < 0)) {
  console.error("--latency-ms must be numbers ≥ 0");
  Deno.exit(2);
}
const latencySets = list(opts["latency-sets"], SET_NAMES, "data set");
const latencyRuns = int(opts["latency-runs"] ?? opts.runs, "--latency-runs");
let latencyMs = 0;
const repo = opts.repo.replace(/\/?$/, "/");
const log = (m: string) => console.error(m);

// ---------------------------------------------------------------------------------------------
// Which tools are here

let tools = list(opts.tools, TOOL_NAMES, "tool");
const missing: string[] = [];
if (tools.includes("aws") && !which(AWS_BIN)) missing.push("aws");
if (tools.includes("rclone") && !which("rclone")) missing.push("rclone");
for (const m of missing) log(`${m} is not installed; skipping it. Install: ${INSTALL_HINTS[m]}`);
tools = tools.filter((t) => !missing.includes(t));
const latencyTools = list(opts["latency-tools"], TOOL_NAMES, "tool").filter((t) =>
  tools.includes(t)
);
if (!which(TIME_BIN)) log(`GNU time is missing (${INSTALL_HINTS.time})`);

function versionOf(cmd: string[]): string {
  try {
    const out = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
      .outputSync();
    return new TextDecoder().decode(out.stdout).split("\n")[0].trim();
  } catch {
    return "unavailable";
  }
}

function machine() {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const mem = Deno.readTextFileSync("/proc/meminfo");
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    memTotalMiB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(mem)?.[1] ?? 0) / 1024),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    aws: tools.includes("aws") ? versionOf([AWS_BIN, "--version"]) : "skipped",
    rclone: tools.includes("rclone") ? versionOf(["rclone", "version"]) : "skipped",
  };
}

// ---------------------------------------------------------------------------------------------
// The run

const scratch = Deno.makeTempDirSync({ prefix: "s3backup-bench-" });
const awsConfig = join(scratch, "aws.config");
const rcloneConfig = join(scratch, "rclone.conf");
writeAwsConfig(awsConfig);
Deno.writeTextFileSync(rcloneConfig, "");
const records: RunRecord[] = [];
/** The state folder of the s3backup runs under way (its state.db size goes in the records). */
let currentStateDir = "";

/** state.db and its WAL, in MiB; undefined when absent. */
function stateDbMiB(dir: string): number | undefined {
  let bytes = 0;
  for (const name of ["state.db", "state.db-wal"]) {
    try {
      bytes += Deno.statSync(join(dir, name)).size;
    } catch { /* absent */ }
  }
  return bytes === 0 ? undefined : bytes / 1024 / 1024;
}
const setBytes = new Map<SetName, number>();
const dataSets: DataSet[] = [];
let server: Server | undefined;
let serverPeak = 0;
/** Epoch ms of the last write to the tree under test (see waitForOldTree). */
let lastTreeWrite = 0;

async function newServer(): Promise<Server> {
  if (server) serverPeak = Math.max(serverPeak, (await server.stop()) ?? 0);
  server = await startServer([...Object.values(S3BACKUP_BUCKETS), PEER_BUCKET], latencyMs);
  return server;
}

/**
 * s3backup skips a file without reading it only when its timestamps are more than 2 s older
 * than the moment it was recorded (racily-clean rule). A nightly run sees a tree written long
 * before; wait until that holds here too, so the no-change run measures the steady state.
 */
async function waitForOldTree(): Promise<void> {
  const wait = lastTreeWrite + 2500 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

async function runTool(tool: ToolName, set: DataSet, configPath: string): Promise<ToolRun> {
  const endpoint = server!.endpoint;
  if (tool === "s3backup") return await runS3backup(repo, configPath, scratch);
  if (tool === "rclone") return await runRclone(set.dir, endpoint, rcloneConfig, scratch);
  return await runAws(set.dir, endpoint, awsConfig, scratch);
}

function record(
  set: DataSet,
  scenario: Scenario,
  tool: ToolName,
  run: number,
  expected: number,
  r: ToolRun,
): void {
  let error: string | undefined;
  if (r.code !== 0) {
    error = `exit ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`;
  } else if (r.uploaded !== expected) error = `uploaded ${r.uploaded}, expected ${expected}`;
  const rec: RunRecord = {
    set: set.name,
    latencyMs,
    scenario,
    tool,
    run,
    wallS: r.wallS,
    rssMiB: r.rssMiB,
    cpuS: r.cpuS,
    exitCode: r.code,
    uploaded: r.uploaded,
    expectedUploaded: expected,
    hashed: r.report?.hashed,
    requests: r.report?.requests,
    reportedDurationMs: r.report?.duration_ms,
    stateDbMiB: tool === "s3backup" ? stateDbMiB(currentStateDir) : undefined,
    error,
  };
  records.push(rec);
  // Each record as it is made: a run stopped halfway (a stalled tool) keeps what it measured.
  if (!opts["no-save"]) {
    Deno.mkdirSync(opts.out, { recursive: true });
    Deno.writeTextFileSync(partialFile, JSON.stringify(rec) + "\n", { append: true });
  }
  const extra = r.report
    ? ` hashed=${r.report.hashed} requests=${JSON.stringify(r.report.requests)}`
    : "";
  log(
    `  ${set.name} ${latencyMs}ms ${scenario.padEnd(11)} ${tool.padEnd(8)} #${run}: ${
      r.wallS.toFixed(2)
    } s, ${r.rssMiB.toFixed(0)} MiB, ${
      r.cpuS?.toFixed(2) ?? "?"
    } CPU s, uploaded ${r.uploaded}${extra}${error ? `  ERROR: ${error}` : ""}`,
  );
}

async function benchSet(set: DataSet): Promise<void> {
  const atDelay = latencyMs > 0;
  const initial = atDelay ? 1 : initialRuns;
  const repeats = atDelay ? latencyRuns : runs;
  for (const tool of atDelay ? latencyTools : tools) {
    const configPath = join(scratch, "s3backup.toml");
    // Initial upload: a fresh server (empty buckets, no memory carried over) and a fresh state.
    for (let i = 1; i <= initial; i++) {
      const srv = await newServer();
      const stateDir = join(scratch, `state-${set.name}-${i}`);
      currentStateDir = stateDir;
      removeDir(stateDir);
      Deno.writeTextFileSync(configPath, s3backupConfig(set.dir, stateDir, srv.endpoint));
      await waitForOldTree();
      record(set, "initial", tool, i, set.files, await runTool(tool, set, configPath));
    }
    for (let i = 1; i <= repeats; i++) {
      record(set, "no-change", tool, i, 0, await runTool(tool, set, configPath));
    }
    for (let i = 1; i <= repeats; i++) {
      changeOneFile(set, `${tool}-${i}`);
      lastTreeWrite = Date.now();
      record(set, "one-changed", tool, i, 1, await runTool(tool, set, configPath));
    }
    restoreChangeTarget(set);
    lastTreeWrite = Date.now();
  }
}

const started = new Date();
const partialFile = join(opts.out, `${started.toISOString().replace(/[:.]/g, "-")}.partial.jsonl`);
const info = machine();
log(
  `machine: ${info.nproc} cores, ${info.cpu}, ${info.memTotalMiB} MiB RAM; deno ${info.deno}; ${info.aws}; ${info.rclone}`,
);
log(`measuring s3backup from ${repo} (deno run, no compiled binary)`);
const startup: Record<string, { wallS: number; rssMiB: number }> = {};
try {
  startup["s3backup --version (deno run)"] = await startupCost(
    s3backupCommand(repo, ["--version"]),
    3,
    scratch,
  );
  const emptyTree = join(scratch, "empty-tree");
  Deno.mkdirSync(emptyTree);
  const emptyServer = await newServer();
  const emptyCfg = join(scratch, "empty.toml");
  Deno.writeTextFileSync(
    emptyCfg,
    s3backupConfig(emptyTree, join(scratch, "empty-state"), emptyServer.endpoint),
  );
  startup["s3backup run, empty tree (deno run)"] = await startupCost(
    s3backupCommand(repo, ["run", "-c", emptyCfg, "--no-notify"]),
    3,
    scratch,
  );
  if (tools.includes("rclone")) {
    startup["rclone version"] = await startupCost([which("rclone")!, "version"], 3, scratch);
  }
  if (tools.includes("aws")) {
    startup["aws --version"] = await startupCost([AWS_BIN, "--version"], 3, scratch);
  }
  for (const [k, v] of Object.entries(startup)) {
    log(`startup: ${k}: ${v.wallS.toFixed(2)} s, ${v.rssMiB.toFixed(0)} MiB`);
  }

  for (const name of sets) {
    const set = ensureDataSet(opts["data-dir"], name, seed, log);
    dataSets.push(set);
    setBytes.set(name, set.bytes);
    const st = Deno.statSync(join(set.dir, set.changeTarget));
    lastTreeWrite = Math.max(st.mtime?.getTime() ?? 0, st.ctime?.getTime() ?? 0);
    log(`data set ${name}: ${set.files} files, ${(set.bytes / 1048576).toFixed(1)} MiB`);
    for (const ms of latencies) {
      if (ms > 0 && !latencySets.includes(name)) continue;
      latencyMs = ms;
      await benchSet(set);
    }
    latencyMs = 0;
  }
} finally {
  if (server) serverPeak = Math.max(serverPeak, (await server.stop()) ?? 0);
  for (const set of dataSets) {
    try {
      restoreChangeTarget(set);
    } catch { /* best effort */ }
  }
  removeDir(scratch);
}

const rows = summarize(records, setBytes);
const targets = checkTargets(rows, records, startup);
const table = markdownTable(rows);
const header = [
  `## s3backup benchmark — ${started.toISOString()}`,
  "",
  `Machine: ${info.nproc} cores (${info.cpu}), ${info.memTotalMiB} MiB RAM, Linux ${info.kernel}; ` +
  `Deno ${info.deno}; ${info.aws}; ${info.rclone}.`,
  `Server: fauxqs (in memory) in its own process on 127.0.0.1, fresh per initial upload; its peak RSS ${
    serverPeak.toFixed(0)
  } MiB; added latency per request: ${latencies.join(", ")} ms (non-zero for ${
    latencySets.join(", ")
  }, tools ${latencyTools.join(", ")}).`,
  `s3backup routes by extension into 3 buckets (${
    Object.values(S3BACKUP_BUCKETS).join(", ")
  }); rclone and aws sync the whole tree into one bucket (${PEER_BUCKET}).`,
  `Defaults kept: s3backup concurrency unset (16 in flight, adapting up to 64; 4 parts/file), rclone --transfers 4 --checkers 8, aws max_concurrent_requests 10; 8 MiB parts for all.`,
  `s3backup runs as \`deno run\` of main.ts (no compiled binary): startup included in every time.`,
  `Runs: ${initialRuns} initial, ${runs} no-change, ${runs} one-changed per tool (at a non-zero delay: 1 initial, ${latencyRuns} of the others); wall and CPU (user + system, GNU time) = median, RSS = max over runs.`,
  "",
  "Data sets: " + dataSets.map((s) => `${s.name} = ${s.description}`).join("; ") + ".",
  "",
  "Startup (median of 3): " +
  Object.entries(startup).map(([k, v]) =>
    `${k} ${v.wallS.toFixed(2)} s / ${v.rssMiB.toFixed(0)} MiB`
  )
    .join("; ") +
  ".",
  "",
];
console.log([...header, table, "", "### Targets", "", targetsTable(targets), ""].join("\n"));

if (!opts["no-save"]) {
  Deno.mkdirSync(opts.out, { recursive: true });
  const file = join(opts.out, `${started.toISOString().replace(/[:.]/g, "-")}.json`);
  Deno.writeTextFileSync(
    file,
    JSON.stringify(
      {
        started: started.toISOString(),
        args: Deno.args,
        machine: info,
        repo,
        seed,
        latencies,
        runs,
        initialRuns,
        tools,
        skippedTools: missing,
        dataSets: dataSets.map(({ name, files, bytes, description }) => ({
          name,
          files,
          bytes,
          description,
        })),
        serverPeakRssMiB: serverPeak,
        startup,
        summary: rows,
        targets,
        runs_raw: records,
      },
      null,
      2,
    ) + "\n",
  );
  log(`raw results: ${file}`);
  try {
    Deno.removeSync(partialFile); // its records are in the results file
  } catch { /* no run was recorded */ }
}
if (records.some((r) => r.error)) Deno.exitCode = 1;
