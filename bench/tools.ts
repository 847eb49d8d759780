/**
 * The S3 server process and the three tools under test, each run as its own process and measured
 * from outside: wall time (monotonic clock around spawn → exit) and peak RSS (`/usr/bin/time -f
 * "%e %M"`, the maximum over the process and its waited-for children; /proc polling of VmHWM
 * when GNU time is missing).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { V8_FLAGS } from "../scripts/release.ts";

export const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Credentials the local server accepts (any); never real ones. */
export const CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "AKIABENCHLOCALONLY000",
  AWS_SECRET_ACCESS_KEY: "bench-local-secret-not-real",
};
export const REGION = "us-east-1";

export type ToolName = "s3backup" | "rclone" | "aws";
export const TOOL_NAMES: ToolName[] = ["s3backup", "rclone", "aws"];

export const AWS_BIN = "/usr/bin/aws";
export const TIME_BIN = "/usr/bin/time";

export const INSTALL_HINTS: Record<string, string> = {
  aws: "apt-get install -y awscli   (Debian's aws CLI at /usr/bin/aws; pyenv's aws is not used)",
  rclone: "apt-get install -y rclone",
  time:
    "apt-get install -y time   (GNU time at /usr/bin/time; without it RSS is polled from /proc)",
};

export function which(cmd: string): string | undefined {
  if (cmd.includes("/")) {
    try {
      return Deno.statSync(cmd).isFile ? cmd : undefined;
    } catch {
      return undefined;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      if (Deno.statSync(join(dir, cmd)).isFile) return join(dir, cmd);
    } catch { /* next */ }
  }
  return undefined;
}

/**
 * The environment every tool runs with: the bench's own, minus any AWS_* / RCLONE_* settings of
 * this machine (a custom CA bundle, a profile, a real endpoint), plus the local credentials.
 */
export function toolEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (k.startsWith("AWS_") || k.startsWith("RCLONE_")) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: "1", ...CREDENTIALS, AWS_REGION: REGION, ...extra };
}

function readProcKiB(pid: number, field: string): number | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Server

export interface Server {
  endpoint: string;
  pid: number;
  /** Stops the server; returns its peak RSS in MiB (VmHWM) when it could be read. */
  stop(): Promise<number | undefined>;
}

/** Starts bench/server.ts (fauxqs) in its own Deno process with these buckets. */
export async function startServer(buckets: string[], latencyMs = 0): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      "--config",
      join(REPO_ROOT, "deno.json"),
      join(BENCH_DIR, "server.ts"),
      ...buckets,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: toolEnv({ BENCH_LATENCY_MS: String(latencyMs) }),
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const dec = new TextDecoder();
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the S3 server exited before it listened");
    text += dec.decode(value);
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const { port, pid } = JSON.parse(text.split("\n")[0]) as { port: number; pid: number };
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid,
    async stop() {
      if (stopped) return undefined;
      stopped = true;
      const hwm = readProcKiB(pid, "VmHWM");
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.stdin.close().catch(() => {});
      await child.status;
      return hwm === undefined ? undefined : hwm / 1024;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring one process

export interface Measured {
  wallS: number;
  /** Peak RSS of the process tree, MiB. */
  rssMiB: number;
  /** CPU seconds, user + system, of the process and its waited-for children (GNU time). */
  cpuS?: number;
  code: number;
  stdout: string;
  stderr: string;
  /** Lines of stdout and stderr that contain measure()'s `marker` (all of them, not just the kept end). */
  marked: number;
}

/** A tool's stderr kept (its end): rclone -v logs a line per file, 100 MB for 1,000,000 files. */
const STDERR_KEPT = 1 << 20;

/**
 * Reads a stream to its end as text, keeping its last `keep` bytes, and counts the lines that
 * contain `marker` over the whole stream. Not `Command.output()`: the bench held 18 GiB while
 * rclone logged its 1,000,000-file upload through it.
 */
async function drain(
  stream: ReadableStream<Uint8Array>,
  keep = Infinity,
  marker?: string,
): Promise<{ text: string; marked: number }> {
  const chunks: Uint8Array[] = [];
  const lines = new TextDecoder();
  let held = 0, marked = 0, carry = "";
  for await (const chunk of stream) {
    chunks.push(chunk.slice()); // a copy: each chunk is a view of a 64 KiB read buffer
    held += chunk.length;
    while (held - chunks[0].length >= keep) held -= chunks.shift()!.length;
    if (marker === undefined) continue;
    const text = carry + lines.decode(chunk, { stream: true });
    const cut = text.lastIndexOf("\n");
    for (const line of text.slice(0, cut + 1).split("\n")) if (line.includes(marker)) marked++;
    carry = text.slice(cut + 1);
  }
  if (marker !== undefined && carry.includes(marker)) marked++;
  const all = new Uint8Array(held);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return { text: new TextDecoder().decode(all), marked };
}

export async function measure(
  cmd: string[],
  env: Record<string, string>,
  scratch: string,
  marker?: string,
): Promise<Measured> {
  if (which(TIME_BIN)) {
    const timeFile = join(scratch, "time.out");
    const t0 = performance.now();
    const child = new Deno.Command(TIME_BIN, {
      args: ["-f", "%e %M %U %S", "-o", timeFile, ...cmd],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
    }).spawn();
    const [stdout, stderr, status] = await Promise.all([
      drain(child.stdout, Infinity, marker),
      drain(child.stderr, STDERR_KEPT, marker),
      child.status,
    ]);
    const wallS = (performance.now() - t0) / 1000;
    const [, maxKiB, user, sys] = Deno.readTextFileSync(timeFile).trim().split("\n").pop()!
      .split(" ");
    return {
      wallS,
      rssMiB: Number(maxKiB) / 1024,
      cpuS: Number(user) + Number(sys),
      code: status.code,
      stdout: stdout.text,
      stderr: stderr.text,
      marked: stdout.marked + stderr.marked,
    };
  }
  // Fallback: poll the child's VmHWM (its own peak) every 20 ms until it exits.
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
  }).spawn();
  let peakKiB = 0;
  const timer = setInterval(() => {
    peakKiB = Math.max(peakKiB, readProcKiB(child.pid, "VmHWM") ?? 0);
  }, 20);
  const [stdout, stderr, status] = await Promise.all([
    drain(child.stdout, Infinity, marker),
    drain(child.stderr, STDERR_KEPT, marker),
    child.status,
  ]);
  clearInterval(timer);
  return {
    wallS: (performance.now() - t0) / 1000,
    rssMiB: peakKiB / 1024,
    code: status.code,
    stdout: stdout.text,
    stderr: stderr.text,
    marked: stdout.marked + stderr.marked,
  };
}

// ---------------------------------------------------------------------------------------------
// The tools

export interface ToolRun extends Measured {
  /** Files the tool says it uploaded. */
  uploaded: number;
  /** s3backup only: its --json report. */
  report?: S3backupReport;
}

export interface S3backupReport {
  uploaded: number;
  skipped: number;
  errors: number;
  hashed: number;
  bytes_uploaded: number;
  duration_ms: number;
  requests: Record<string, number>;
  failures: Array<{ path: string; error: string }>;
}

export const S3BACKUP_BUCKETS = {
  documents: "bench-documents",
  photos: "bench-photos",
  database: "bench-database",
};
/** The one bucket the peers sync the whole tree into. */
export const PEER_BUCKET = "bench-all";

export function s3backupConfig(source: string, stateDir: string, endpoint: string): string {
  const b = S3BACKUP_BUCKETS;
  return `source = ${JSON.stringify(source)}
state_dir = ${JSON.stringify(stateDir)}
unmatched = "documents"

[aws]
region = "${REGION}"
endpoint = ${JSON.stringify(endpoint)}

[categories.documents]
bucket = "${b.documents}"
extensions = [".pdf", ".txt", ".docx", ".xlsx", ".csv"]

[categories.photos]
bucket = "${b.photos}"
extensions = [".jpg", ".jpeg", ".png", ".heic"]

[categories.database]
bucket = "${b.database}"
extensions = [".sql", ".sql.gz", ".dump", ".db", ".bak"]
`;
}

/** The s3backup command: `deno run` of main.ts in `repo` (a compiled binary is not built here). */
export function s3backupCommand(repo: string, args: string[], denoFlags: string[] = []): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--quiet",
    ...V8_FLAGS, // as the compiled binary runs
    ...denoFlags,
    "--config",
    join(repo, "deno.json"),
    join(repo, "main.ts"),
    ...args,
  ];
}

export async function runS3backup(
  repo: string,
  configPath: string,
  scratch: string,
  denoFlags: string[] = [],
): Promise<ToolRun> {
  const m = await measure(
    s3backupCommand(repo, ["run", "-c", configPath, "--json", "--no-notify"], denoFlags),
    toolEnv(),
    scratch,
  );
  let report: S3backupReport | undefined;
  try {
    report = JSON.parse(m.stdout.trim().split("\n").pop() ?? "") as S3backupReport;
  } catch { /* reported below as a failed run */ }
  return { ...m, uploaded: report?.uploaded ?? -1, report };
}

/** AWS_CONFIG_FILE for /usr/bin/aws: 8 MiB parts (fauxqs refuses single PUTs over ~11 MiB). */
export function writeAwsConfig(path: string): void {
  Deno.writeTextFileSync(
    path,
    `[default]
region = ${REGION}
s3 =
  multipart_threshold = 8MB
  multipart_chunksize = 8MB
`,
  );
}

export async function runAws(
  tree: string,
  endpoint: string,
  awsConfig: string,
  scratch: string,
): Promise<ToolRun> {
  const m = await measure(
    [
      AWS_BIN,
      "--endpoint-url",
      endpoint,
      "s3",
      "sync",
      tree,
      `s3://${PEER_BUCKET}/`,
      "--no-progress",
    ],
    toolEnv({
      AWS_CONFIG_FILE: awsConfig,
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_PAGER: "",
    }),
    scratch,
    "upload: ",
  );
  return { ...m, uploaded: m.marked };
}

export async function runRclone(
  tree: string,
  endpoint: string,
  rcloneConfig: string,
  scratch: string,
): Promise<ToolRun> {
  const m = await measure(
    [
      which("rclone") ?? "rclone",
      "copy",
      "--fast-list",
      "--s3-chunk-size",
      "8M",
      "--s3-upload-cutoff",
      "8M",
      "-v",
      tree,
      `bench:${PEER_BUCKET}`,
    ],
    toolEnv({
      RCLONE_CONFIG: rcloneConfig,
      RCLONE_CONFIG_BENCH_TYPE: "s3",
      RCLONE_CONFIG_BENCH_PROVIDER: "Other",
      RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
      RCLONE_CONFIG_BENCH_REGION: REGION,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: CREDENTIALS.AWS_ACCESS_KEY_ID,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
    }),
    scratch,
    ": Copied (",
  );
  return { ...m, uploaded: m.marked };
}

/** Median startup cost of a command that does nothing (e.g. `--version`). */
export async function startupCost(
  cmd: string[],
  runs: number,
  scratch: string,
  env = toolEnv(),
) {
  const walls: number[] = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const m = await measure(cmd, env, scratch);
    walls.push(m.wallS);
    rss = Math.max(rss, m.rssMiB);
  }
  walls.sort((a, b) => a - b);
  return { wallS: walls[Math.floor(walls.length / 2)], rssMiB: rss };
}
