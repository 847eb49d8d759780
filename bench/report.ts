/** Medians, the markdown table and the target checks of a benchmark run. */
import type { SetName } from "./datasets.ts";
import type { ToolName } from "./tools.ts";

export type Scenario = "initial" | "no-change" | "one-changed";
export const SCENARIOS: Scenario[] = ["initial", "no-change", "one-changed"];

export interface RunRecord {
  set: SetName;
  /** Server-side delay per request (a real S3 round trip is 10–50 ms). */
  latencyMs: number;
  scenario: Scenario;
  tool: ToolName;
  run: number;
  wallS: number;
  rssMiB: number;
  /** User + system CPU seconds (GNU time). */
  cpuS?: number;
  exitCode: number;
  uploaded: number;
  expectedUploaded: number;
  /** s3backup: files hashed, S3 requests by operation, its own duration. */
  hashed?: number;
  requests?: Record<string, number>;
  reportedDurationMs?: number;
  serverPeakRssMiB?: number;
  /** s3backup: its state.db (and WAL) after the run, MiB. */
  stateDbMiB?: number;
  error?: string;
}

export interface SummaryRow {
  set: SetName;
  latencyMs: number;
  scenario: Scenario;
  tool: ToolName;
  runs: number;
  failedRuns: number;
  medianWallS: number;
  minWallS: number;
  maxWallS: number;
  peakRssMiB: number;
  medianCpuS?: number;
  /** CPU seconds per GiB uploaded (initial upload). */
  cpuPerGiB?: number;
  vsRclone?: number;
  vsAws?: number;
  /** MiB/s over the data set (initial upload) or undefined. */
  throughputMiBs?: number;
  hashed?: number;
  requests?: Record<string, number>;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(records: RunRecord[], setBytes: Map<SetName, number>): SummaryRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const k = `${r.set}|${r.latencyMs}|${r.scenario}|${r.tool}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const rows: SummaryRow[] = [];
  for (const rs of groups.values()) {
    const ok = rs.filter((r) => !r.error);
    const walls = ok.map((r) => r.wallS);
    const last = ok[ok.length - 1];
    const { set, scenario, tool, latencyMs } = rs[0];
    const cpus = ok.map((r) => r.cpuS).filter((c): c is number => c !== undefined);
    const row: SummaryRow = {
      set,
      latencyMs,
      scenario,
      tool,
      runs: rs.length,
      failedRuns: rs.length - ok.length,
      medianWallS: median(walls),
      minWallS: Math.min(...walls),
      maxWallS: Math.max(...walls),
      peakRssMiB: Math.max(...ok.map((r) => r.rssMiB)),
      medianCpuS: cpus.length ? median(cpus) : undefined,
      hashed: last?.hashed,
      requests: last?.requests,
    };
    if (scenario === "initial" && ok.length > 0) {
      row.throughputMiBs = (setBytes.get(set) ?? 0) / 1048576 / row.medianWallS;
      if (row.medianCpuS !== undefined) {
        row.cpuPerGiB = row.medianCpuS / ((setBytes.get(set) ?? 0) / 1073741824);
      }
    }
    rows.push(row);
  }
  for (const row of rows) {
    const peer = (tool: ToolName) =>
      rows.find((r) =>
        r.set === row.set && r.latencyMs === row.latencyMs && r.scenario === row.scenario &&
        r.tool === tool
      );
    const rc = peer("rclone");
    const aws = peer("aws");
    if (rc && rc.medianWallS > 0) row.vsRclone = row.medianWallS / rc.medianWallS;
    if (aws && aws.medianWallS > 0) row.vsAws = row.medianWallS / aws.medianWallS;
  }
  const order = (r: SummaryRow) =>
    ["mixed", "small", "big", "huge"].indexOf(r.set) * 100_000 + r.latencyMs * 100 +
    SCENARIOS.indexOf(r.scenario) * 10 + ["s3backup", "rclone", "aws"].indexOf(r.tool);
  return rows.sort((a, b) => order(a) - order(b));
}

const f = (n: number | undefined, d = 2) =>
  n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(d);

function requestsText(req: Record<string, number> | undefined): string {
  if (!req) return "";
  const parts = Object.entries(req).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) =>
    `${k} ${v}`
  );
  return parts.length ? `S3: ${parts.join(", ")}` : "S3: none";
}

export function markdownTable(rows: SummaryRow[]): string {
  const lines = [
    "| set | RTT ms | scenario | tool | runs | median wall s | min–max s | peak RSS MiB | CPU s | × rclone | × aws | notes |",
    "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of rows) {
    const notes: string[] = [];
    if (r.throughputMiBs !== undefined && r.set === "big") {
      notes.push(`${f(r.throughputMiBs, 1)} MiB/s, ${f(r.cpuPerGiB)} CPU s/GiB`);
    }
    if (r.hashed !== undefined) notes.push(`hashed ${r.hashed}`);
    if (r.requests) notes.push(requestsText(r.requests));
    if (r.failedRuns) notes.push(`**${r.failedRuns} failed run(s)**`);
    lines.push(
      `| ${r.set} | ${r.latencyMs} | ${r.scenario} | ${r.tool} | ${r.runs} | ${
        f(r.medianWallS)
      } | ${f(r.minWallS)}–${f(r.maxWallS)} | ${f(r.peakRssMiB, 0)} | ${f(r.medianCpuS)} | ${
        f(r.vsRclone)
      } | ${f(r.vsAws)} | ${notes.join("; ")} |`,
    );
  }
  return lines.join("\n");
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | "not measured";
}

/** What the run measured about start-up (see main.ts). */
export type Startup = Record<string, { wallS: number; rssMiB: number }>;

/** The targets of issue 18 (scale), each checked against this run's measurements. */
export function checkTargets(
  rows: SummaryRow[],
  records: RunRecord[],
  startup: Startup = {},
  opts: { concurrency?: number } = {},
): TargetCheck[] {
  const get = (set: SetName, scenario: Scenario, tool: ToolName, latencyMs = 0) =>
    rows.find((r) =>
      r.set === set && r.scenario === scenario && r.tool === tool && r.latencyMs === latencyMs
    );
  const out: TargetCheck[] = [];
  const check = (target: string, measured: string | undefined, met: boolean | undefined) =>
    out.push({
      target,
      measured: measured ?? "–",
      met: measured === undefined || met === undefined ? "not measured" : met,
    });
  const ratio = (target: string, set: SetName, scenario: Scenario, max: number, ms = 0) => {
    const row = get(set, scenario, "s3backup", ms);
    const rc = get(set, scenario, "rclone", ms);
    check(
      target,
      row?.vsRclone !== undefined
        ? `${f(row.vsRclone, 3)}× rclone (${f(row.medianWallS)} s vs ${f(rc?.medianWallS)} s)`
        : undefined,
      row?.vsRclone !== undefined ? row.vsRclone <= max : undefined,
    );
  };
  const rss = (target: string, set: SetName, scenario: Scenario, max: number) => {
    const row = get(set, scenario, "s3backup");
    check(target, row && `${f(row.peakRssMiB, 0)} MiB`, row && row.peakRssMiB <= max);
  };
  rss("no-change, 1,000,000 files: peak RSS ≤ 400 MiB", "huge", "no-change", 400);
  ratio("no-change, 1,000,000 files: ≤ 0.15× rclone wall time", "huge", "no-change", 0.15);
  const hugeNc = get("huge", "no-change", "s3backup");
  const smallNc = get("small", "no-change", "s3backup");
  check(
    "no-change: RSS(1M files) − RSS(100k files) ≤ 150 MiB",
    hugeNc && smallNc && `${f(hugeNc.peakRssMiB - smallNc.peakRssMiB, 0)} MiB`,
    hugeNc && smallNc && hugeNc.peakRssMiB - smallNc.peakRssMiB <= 150,
  );
  rss("initial upload, 100,000 files: peak RSS ≤ 150 MiB", "small", "initial", 150);
  ratio("initial upload, 1,000,000 files: ≤ 1.0× rclone wall time", "huge", "initial", 1.0);
  rss("initial upload, 1,000,000 files: peak RSS ≤ 300 MiB", "huge", "initial", 300);
  const hugeState = records.filter((r) =>
    r.tool === "s3backup" && r.set === "huge" && r.stateDbMiB !== undefined
  ).at(-1);
  check(
    "state database at 1,000,000 files: reported (rows of gone files pruned)",
    hugeState && `${f(hugeState.stateDbMiB, 0)} MiB after ${hugeState.scenario}`,
    hugeState && true,
  );
  const steady = records.filter((r) => r.tool === "s3backup" && r.scenario === "no-change");
  const headGet = steady.reduce(
    (n, r) => n + (r.requests?.HeadObject ?? 0) + (r.requests?.GetObject ?? 0),
    0,
  );
  check(
    "no-change runs: zero HeadObject and GetObject requests",
    steady.length ? `${headGet} HEAD+GET over ${steady.length} no-change runs` : undefined,
    steady.length ? headGet === 0 : undefined,
  );
  // A real round trip: 20 ms per request.
  const mixed20 = get("mixed", "initial", "s3backup", 20);
  // s3backup adapts its uploads in flight up to 64 (lib/backup/in_flight.ts): the floor at 64.
  const inFlight = opts.concurrency ?? 64;
  const mixedFiles = mixed20 ? 5000 : 0;
  const floorS = mixedFiles * 0.020 / inFlight;
  check(
    `20 ms, initial upload, 5,000 files: ≤ 3 s (floor at ${inFlight} in flight: ${
      f(floorS)
    } s; ≤ 1.5× floor)`,
    mixed20 && `${f(mixed20.medianWallS)} s (${f(mixed20.medianWallS / floorS)}× floor)`,
    mixed20 && mixed20.medianWallS <= 3,
  );
  ratio("20 ms, no-change, 5,000 files: ≤ 0.05× rclone", "mixed", "no-change", 0.05, 20);
  ratio("20 ms, no-change, 100,000 files: ≤ 0.05× rclone", "small", "no-change", 0.05, 20);
  const small20 = get("small", "no-change", "s3backup", 20);
  check(
    "20 ms, no-change, 100,000 files: ≤ 1.5 s beyond the 0 ms run (the walk)",
    small20 && smallNc && `${f(small20.medianWallS - smallNc.medianWallS)} s more`,
    small20 && smallNc && small20.medianWallS - smallNc.medianWallS <= 1.5,
  );
  const bigS = get("big", "initial", "s3backup");
  const bigR = get("big", "initial", "rclone");
  check(
    "1 GiB initial upload: CPU per GiB ≤ 1.0× rclone's",
    bigS?.cpuPerGiB !== undefined && bigR?.cpuPerGiB !== undefined
      ? `${f(bigS.cpuPerGiB)} vs ${f(bigR.cpuPerGiB)} CPU s/GiB`
      : undefined,
    bigS?.cpuPerGiB !== undefined && bigR?.cpuPerGiB !== undefined
      ? bigS.cpuPerGiB <= bigR.cpuPerGiB
      : undefined,
  );
  const ver = startup["s3backup --version (deno run)"];
  const empty = startup["s3backup run, empty tree (deno run)"];
  const rcl = startup["rclone version"];
  check(
    "start-up: s3backup --version ≤ rclone version",
    ver && rcl && `${f(ver.wallS)} s vs ${f(rcl.wallS)} s`,
    ver && rcl && ver.wallS <= rcl.wallS,
  );
  check(
    "start-up: an empty-tree run ≤ rclone version",
    empty && rcl && `${f(empty.wallS)} s vs ${f(rcl.wallS)} s`,
    empty && rcl && empty.wallS <= rcl.wallS,
  );
  return out;
}

export function targetsTable(checks: TargetCheck[]): string {
  const lines = ["| target | measured | met |", "| --- | --- | --- |"];
  for (const c of checks) {
    const met = c.met === "not measured" ? "not measured" : c.met ? "**met**" : "**NOT met**";
    lines.push(`| ${c.target} | ${c.measured} | ${met} |`);
  }
  return lines.join("\n");
}
