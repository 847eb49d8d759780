/** Medians, the markdown table and the target checks of a benchmark run. */
import type { SetName } from "./datasets.ts";
import type { ToolName } from "./tools.ts";

export type Scenario = "initial" | "no-change" | "one-changed";
export const SCENARIOS: Scenario[] = ["initial", "no-change", "one-changed"];

export interface RunRecord {
  set: SetName;
  scenario: Scenario;
  tool: ToolName;
  run: number;
  wallS: number;
  rssMiB: number;
  exitCode: number;
  uploaded: number;
  expectedUploaded: number;
  /** s3backup: files hashed, S3 requests by operation, its own duration. */
  hashed?: number;
  requests?: Record<string, number>;
  reportedDurationMs?: number;
  serverPeakRssMiB?: number;
  error?: string;
}

export interface SummaryRow {
  set: SetName;
  scenario: Scenario;
  tool: ToolName;
  runs: number;
  failedRuns: number;
  medianWallS: number;
  minWallS: number;
  maxWallS: number;
  peakRssMiB: number;
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
    const k = `${r.set}|${r.scenario}|${r.tool}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const rows: SummaryRow[] = [];
  for (const rs of groups.values()) {
    const ok = rs.filter((r) => !r.error);
    const walls = ok.map((r) => r.wallS);
    const last = ok[ok.length - 1];
    const { set, scenario, tool } = rs[0];
    const row: SummaryRow = {
      set,
      scenario,
      tool,
      runs: rs.length,
      failedRuns: rs.length - ok.length,
      medianWallS: median(walls),
      minWallS: Math.min(...walls),
      maxWallS: Math.max(...walls),
      peakRssMiB: Math.max(...ok.map((r) => r.rssMiB)),
      hashed: last?.hashed,
      requests: last?.requests,
    };
    if (scenario === "initial" && ok.length > 0) {
      row.throughputMiBs = (setBytes.get(set) ?? 0) / 1048576 / row.medianWallS;
    }
    rows.push(row);
  }
  for (const row of rows) {
    const peer = (tool: ToolName) =>
      rows.find((r) => r.set === row.set && r.scenario === row.scenario && r.tool === tool);
    const rc = peer("rclone");
    const aws = peer("aws");
    if (rc && rc.medianWallS > 0) row.vsRclone = row.medianWallS / rc.medianWallS;
    if (aws && aws.medianWallS > 0) row.vsAws = row.medianWallS / aws.medianWallS;
  }
  const order = (r: SummaryRow) =>
    ["mixed", "small", "big"].indexOf(r.set) * 100 + SCENARIOS.indexOf(r.scenario) * 10 +
    ["s3backup", "rclone", "aws"].indexOf(r.tool);
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
    "| set | scenario | tool | runs | median wall s | min–max s | peak RSS MiB | × rclone | × aws | notes |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of rows) {
    const notes: string[] = [];
    if (r.throughputMiBs !== undefined && r.set === "big") {
      notes.push(`${f(r.throughputMiBs, 1)} MiB/s`);
    }
    if (r.hashed !== undefined) notes.push(`hashed ${r.hashed}`);
    if (r.requests) notes.push(requestsText(r.requests));
    if (r.failedRuns) notes.push(`**${r.failedRuns} failed run(s)**`);
    lines.push(
      `| ${r.set} | ${r.scenario} | ${r.tool} | ${r.runs} | ${f(r.medianWallS)} | ${
        f(r.minWallS)
      }–${f(r.maxWallS)} | ${f(r.peakRssMiB, 0)} | ${f(r.vsRclone)} | ${f(r.vsAws)} | ${
        notes.join("; ")
      } |`,
    );
  }
  return lines.join("\n");
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | "not measured";
}

export function checkTargets(rows: SummaryRow[], records: RunRecord[]): TargetCheck[] {
  const get = (set: SetName, scenario: Scenario, tool: ToolName) =>
    rows.find((r) => r.set === set && r.scenario === scenario && r.tool === tool);
  const out: TargetCheck[] = [];
  const ratio = (target: string, set: SetName, scenario: Scenario, max: number) => {
    const row = get(set, scenario, "s3backup");
    if (!row || row.vsRclone === undefined) {
      out.push({ target, measured: "–", met: "not measured" });
      return;
    }
    out.push({
      target,
      measured: `${f(row.vsRclone)}× rclone (${f(row.medianWallS)} s vs ${
        f(get(set, scenario, "rclone")?.medianWallS)
      } s)`,
      met: row.vsRclone <= max,
    });
  };
  ratio("no-change, 5,000 files (mixed): ≤ 0.5× rclone wall time", "mixed", "no-change", 0.5);
  ratio("no-change, 100,000 files (small): ≤ 0.5× rclone wall time", "small", "no-change", 0.5);
  const small = get("small", "no-change", "s3backup");
  out.push({
    target: "no-change, 100,000 files: s3backup peak RSS ≤ 250 MiB",
    measured: small ? `${f(small.peakRssMiB, 0)} MiB` : "–",
    met: small ? small.peakRssMiB <= 250 : "not measured",
  });
  ratio("initial upload, 5,000 files (mixed): ≤ 1.0× rclone wall time", "mixed", "initial", 1.0);
  const bigRows = rows.filter((r) => r.set === "big" && r.tool === "s3backup");
  const bigRss = Math.max(...bigRows.map((r) => r.peakRssMiB));
  out.push({
    target: "1 GiB file: s3backup peak RSS ≤ 300 MiB (all scenarios)",
    measured: bigRows.length ? `${f(bigRss, 0)} MiB` : "–",
    met: bigRows.length ? bigRss <= 300 : "not measured",
  });
  const bigS = get("big", "initial", "s3backup");
  const bigR = get("big", "initial", "rclone");
  out.push({
    target: "1 GiB file: throughput within 1.2× of rclone (initial upload wall ≤ 1.2× rclone)",
    measured: bigS && bigR
      ? `${f(bigS.throughputMiBs, 1)} vs ${f(bigR.throughputMiBs, 1)} MiB/s (${
        f(bigS.vsRclone)
      }× rclone wall)`
      : "–",
    met: bigS && bigR && bigS.vsRclone !== undefined ? bigS.vsRclone <= 1.2 : "not measured",
  });
  const noChange = records.filter((r) => r.tool === "s3backup" && r.scenario === "no-change");
  const headGet = noChange.reduce(
    (n, r) => n + (r.requests?.HeadObject ?? 0) + (r.requests?.GetObject ?? 0),
    0,
  );
  out.push({
    target: "no-change runs: zero HeadObject and GetObject requests",
    measured: noChange.length ? `${headGet} HEAD+GET over ${noChange.length} no-change runs` : "–",
    met: noChange.length ? headGet === 0 : "not measured",
  });
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
