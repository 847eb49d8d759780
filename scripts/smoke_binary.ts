/**
 * Smoke test of a built s3backup against an embedded S3/SNS server (fauxqs), the way cron runs
 * it: a minimal environment, a config file, two runs and a verify.
 *
 *   deno run -A scripts/smoke_binary.ts -- dist/s3backup        the compiled binary
 *   deno run -A scripts/smoke_binary.ts                          main.ts under `deno run` with
 *                                                                the release permission flags
 *   options (before --): --expect-version TEXT   `--version` must print TEXT
 *
 * Checks: `--version`; run #1 uploads the 4 sample files, runs a `before` hook and streams a
 * `[[dumps]]` command's output (both need --allow-run); run #2 skips all 4; `verify` lists
 * them; a run while a live process holds the lock exits 3; the reports reached SNS; no
 * permission was missing (no "Requires ... access" anywhere); `completions` when the binary
 * has it. Exits 1 listing what failed.
 */
import { fileURLToPath } from "node:url";
import { startLocalAws } from "../tests/support/local_aws.ts";
import { PERMISSION_FLAGS } from "./release.ts";

export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const SAMPLE = `${REPO_ROOT}sample_data`;
const SAMPLE_FILES = [
  "meeting_notes.txt",
  "prod_db_backup.sql",
  "project_report.pdf",
  "sample_image.jpg",
];
const BUCKETS = ["acme-backup-documents", "acme-backup-photos", "acme-backup-database"];

/** main.ts under `deno run` with exactly the permissions the binary is compiled with. */
export function denoRunCommand(): string[] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--frozen",
    "--config",
    `${REPO_ROOT}deno.json`,
    ...PERMISSION_FLAGS,
    `${REPO_ROOT}main.ts`,
  ];
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function denoDir(): Promise<string | undefined> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  try {
    return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
  } catch {
    return undefined;
  }
}

const PERMISSION_PROBLEM = /Requires \w+ access|NotCapable|run again with the --allow-\w+/;

export interface SmokeOptions {
  expectVersion?: string;
  log?: (line: string) => void;
}

/** Runs the checks with `cmd` as the s3backup command; returns the failures (empty: passed). */
export async function smoke(cmd: string[], opts: SmokeOptions = {}): Promise<string[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const failures: string[] = [];
  const check = (ok: boolean, what: string, r?: Result) => {
    log(`${ok ? "ok  " : "FAIL"} ${what}`);
    if (!ok) {
      failures.push(what);
      if (r) log(`     exit ${r.code}\n---- stdout\n${r.stdout}---- stderr\n${r.stderr}----`);
    }
  };

  const work = Deno.makeTempDirSync({ prefix: "s3backup-smoke-" });
  const home = `${work}/home`;
  Deno.mkdirSync(home);
  const aws = await startLocalAws(BUCKETS);
  // Like cron: a bare environment. HOME is empty, so no ~/.aws of the machine is read.
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    NO_COLOR: "1",
    ...aws.env,
  };
  if (cmd[0] === Deno.execPath()) {
    const dir = Deno.env.get("DENO_DIR") ?? await denoDir();
    if (dir) env.DENO_DIR = dir; // the npm packages are already in the cache
  }
  const exec = async (...args: string[]): Promise<Result> => {
    const out = await new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), ...args],
      cwd: work,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    const denied = PERMISSION_PROBLEM.exec(r.stdout + r.stderr);
    check(!denied, `${args.join(" ")}: no permission denied${denied ? ` (${denied[0]})` : ""}`, r);
    return r;
  };

  try {
    const state = `${work}/state`;
    const cfg = `${work}/s3backup.toml`;
    Deno.writeTextFileSync(
      cfg,
      `source = ${JSON.stringify(SAMPLE)}
state_dir = ${JSON.stringify(state)}
exclude = ["**/.git/**", "**/*.tmp"]
unmatched = "documents"
before = [["sh", "-c", "echo ran > \\"$0\\"", ${JSON.stringify(`${work}/hook-ran`)}]]

[[dumps]]
name = "smoke"
command = ["sh", "-c", "echo CREATE TABLE smoke;"]

[aws]
region = ${JSON.stringify(aws.region)}
endpoint = ${JSON.stringify(aws.endpoint)}
sns_topic_arn = ${JSON.stringify(aws.topicArn)}

[categories.documents]
bucket = "acme-backup-documents"
extensions = [".pdf", ".txt"]

[categories.photos]
bucket = "acme-backup-photos"
extensions = [".jpg", ".png"]

[categories.database]
bucket = "acme-backup-database"
extensions = [".sql", ".db"]
`,
    );

    const v = await exec("--version");
    check(v.code === 0 && /\d+\.\d+\.\d+/.test(v.stdout), `--version: ${v.stdout.trim()}`, v);
    if (opts.expectVersion) {
      check(v.stdout.includes(opts.expectVersion), `--version names ${opts.expectVersion}`, v);
    }

    const r1 = await exec("run", "-c", cfg);
    check(
      r1.code === 0 && r1.stdout.startsWith(
        "Backup completed.\nFiles uploaded: 4\nFiles skipped (already exist): 0\n" +
          "Errors encountered: 0\n",
      ),
      "run #1 uploads 4 files, exit 0",
      r1,
    );
    const hookRan = (() => {
      try {
        return Deno.readTextFileSync(`${work}/hook-ran`) === "ran\n";
      } catch {
        return false;
      }
    })();
    check(
      hookRan && /^Dumps: 1 uploaded, 0 failed$/m.test(r1.stdout),
      "run #1 ran the before hook and uploaded the dump (--allow-run)",
      r1,
    );
    const r2 = await exec("run", "-c", cfg);
    check(
      r2.code === 0 && r2.stdout.startsWith(
        "Backup completed.\nFiles uploaded: 0\nFiles skipped (already exist): 4\n" +
          "Errors encountered: 0\n",
      ),
      "run #2 skips 4 files, exit 0",
      r2,
    );

    const ver = await exec("verify", "-c", cfg);
    check(
      ver.code === 0 && SAMPLE_FILES.every((f) => ver.stdout.includes(` ${f}\n`)),
      "verify lists the 4 objects, exit 0",
      ver,
    );

    // This script holds the run's OS file lock: the run must stop with exit 3.
    const lockFile = Deno.openSync(`${state}/lock`, { read: true, write: true, create: true });
    lockFile.lockSync(true);
    const locked = await exec("run", "-c", cfg);
    lockFile.close();
    check(
      locked.code === 3 && locked.stderr.includes("another run holds the lock"),
      "run while another process holds the lock exits 3",
      locked,
    );

    const subjects = aws.snsMessages().map((m) => m.subject);
    check(
      subjects.filter((s) => / OK /.test(s)).length >= 2,
      `SNS received the reports: ${JSON.stringify(subjects)}`,
    );

    const help = await exec("--help");
    if (/^\s+completions\b/m.test(help.stdout)) {
      for (const shell of ["bash", "zsh", "fish"]) {
        const c = await exec("completions", shell);
        check(c.code === 0 && c.stdout.includes("restore"), `completions ${shell}`, c);
      }
    } else {
      log("skip completions (this build has no `completions` command)");
    }
  } finally {
    await aws.stop();
    Deno.removeSync(work, { recursive: true });
  }
  return failures;
}

if (import.meta.main) {
  const args = [...Deno.args];
  let expectVersion: string | undefined;
  const sep = args.indexOf("--");
  const own = sep >= 0 ? args.slice(0, sep) : args;
  const cmd = sep >= 0 ? args.slice(sep + 1) : [];
  for (let i = 0; i < own.length; i++) {
    if (own[i] === "--expect-version") expectVersion = own[++i];
    else {
      console.error(`smoke_binary: unknown argument ${own[i]}`);
      Deno.exit(2);
    }
  }
  // The commands run in a temporary directory: a relative program path is made absolute.
  if (cmd.length > 0 && cmd[0].includes("/") && !cmd[0].startsWith("/")) {
    cmd[0] = `${Deno.cwd()}/${cmd[0]}`;
  }
  const command = cmd.length > 0 ? cmd : denoRunCommand();
  console.log(`smoke test of: ${command.join(" ")}`);
  const t0 = performance.now();
  const failures = await smoke(command, { expectVersion });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (failures.length > 0) {
    console.error(
      `\nsmoke test FAILED (${failures.length}) in ${secs} s:\n- ${failures.join("\n- ")}`,
    );
    Deno.exit(1);
  }
  console.log(`\nsmoke test passed in ${secs} s`);
}
