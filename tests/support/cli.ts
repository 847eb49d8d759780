/** Runs the CLI as a subprocess (the real path: argument parsing, exit codes, stdout/stderr). */
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = `${REPO_ROOT}main.ts`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Run as this uid/gid through setpriv (tests run as root, which reads anything). */
  asUser?: { uid: number; gid: number };
}

function denoArgs(args: string[]): string[] {
  return ["run", "--allow-all", "--quiet", "--config", `${REPO_ROOT}deno.json`, MAIN, ...args];
}

/** Starts the CLI; the caller waits on `output()`. */
export function spawnCli(args: string[], opts: CliOptions = {}): Deno.ChildProcess {
  const deno = Deno.execPath();
  const base = denoArgs(args);
  const [cmd, cmdArgs] = opts.asUser
    ? ["setpriv", [
      `--reuid=${opts.asUser.uid}`,
      `--regid=${opts.asUser.gid}`,
      "--clear-groups",
      deno,
      ...base,
    ]]
    : [deno, base];
  return new Deno.Command(cmd, {
    args: cmdArgs,
    cwd: opts.cwd ?? REPO_ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const out = await spawnCli(args, opts).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

export interface TestConfig {
  source: string;
  stateDir: string;
  endpoint: string;
  topicArn?: string;
  buckets?: { documents: string; photos: string; database: string };
  extra?: string;
}

/** Writes an s3backup.toml for tests and returns its path. */
export function writeConfig(dir: string, c: TestConfig): string {
  const b = c.buckets ?? { documents: "t-documents", photos: "t-photos", database: "t-database" };
  const text = `source = ${JSON.stringify(c.source)}
state_dir = ${JSON.stringify(c.stateDir)}
exclude = ["**/.git/**", "**/*.tmp"]
unmatched = "documents"
concurrency = 4
${c.extra ?? ""}

[aws]
region = "us-east-1"
endpoint = ${JSON.stringify(c.endpoint)}
${c.topicArn ? `sns_topic_arn = ${JSON.stringify(c.topicArn)}` : ""}

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
  const path = `${dir}/s3backup.toml`;
  Deno.writeTextFileSync(path, text);
  return path;
}
