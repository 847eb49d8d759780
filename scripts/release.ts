/**
 * Builds s3backup binaries with `deno compile`.
 *
 *   deno run -A scripts/release.ts --host            dist/s3backup for this machine (deno task compile)
 *   deno run -A scripts/release.ts                   every release target into dist/, plus SHA256SUMS
 *   deno run -A scripts/release.ts --target T ...    only these targets (plus SHA256SUMS)
 *   options: --out DIR (default dist), --print-flags (the deno compile flags, one a line)
 *
 * Before compiling it stamps lib/core/build_info.ts with the git commit (scripts/stamp_version.ts)
 * and puts the committed text back afterwards, so `s3backup --version` names the commit and the
 * work tree is left as it was.
 *
 * `deno compile` needs the Deno runtime for each target (denort), which it downloads from the
 * internet unless DENORT_BIN names a local copy. Where it cannot be downloaded,
 * scripts/compile_check.sh runs the same compile against a stand-in to check everything up to
 * the final binary (module graph, type check, locked npm packages, embedded files).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename, join } from "node:path";
import { BUILD_INFO_PATH, stamp } from "./stamp_version.ts";

/**
 * The permissions baked into the binary: the narrowest set with which `run`, `verify` and the
 * lock work, found by running main.ts with `--no-prompt` and each flag removed in turn against a
 * local S3/SNS server (tests/integration/ops_cli_test.ts keeps that proof in CI).
 */
export const PERMISSION_FLAGS = [
  // S3, SNS and STS endpoints are arbitrary (aws.endpoint, any region's virtual-hosted bucket
  // names), and so are the credential sources (instance metadata on 169.254.169.254, container
  // credentials on 169.254.170.2, SSO) and the heartbeat URL: no host list can be fixed at
  // build time.
  "--allow-net",
  // The whole environment: main.ts reads Deno.env.toObject(), and the AWS SDK reads some 30
  // variables (AWS_*, HOME, proxy settings) that differ between SDK releases.
  "--allow-env",
  // The source tree, the config (-c, $S3BACKUP_CONFIG, /etc/s3backup), ~/.aws/config and
  // ~/.aws/credentials, web-identity token files, the state dir. All are chosen at run time.
  "--allow-read",
  // The state dir (state.db, lock), restore's --to DIR, init's config file, the SDK's SSO token
  // cache. Chosen at run time; narrow it per machine with systemd (ProtectSystem=strict +
  // ReadWritePaths), not here.
  "--allow-write",
  // hostname: the report and the lock name the host (without it: "unknown-host").
  // osRelease: the AWS SDK's user agent; without it every S3 request fails.
  "--allow-sys=hostname,osRelease",
  // The [[dumps]] commands (pg_dump, mysqldump, sqlite3) and the before/after hooks: argv lists
  // from the config, any program, so no list of programs can be fixed at build time.
  "--allow-run",
  // Not granted: --allow-ffi, --allow-import (everything is embedded), and other sys APIs.
  // A permission missing at run time fails fast instead of prompting.
  "--no-prompt",
] as const;

/**
 * V8's settings for every run (embedded by `deno compile`; `deno task run` and the bench pass the
 * same). A young generation of 2 × 8 MiB instead of V8's 2 × 32 MiB: an initial upload of 100,000
 * files peaked at 250 instead of 313 MiB in the same time (bench/README.md, A/B).
 */
export const V8_FLAGS = ["--v8-flags=--max-semi-space-size=8"] as const;

/** Flags for every compile: the lockfile must match, only the npm packages main.ts reaches. */
export const COMPILE_FLAGS = [
  "--frozen",
  // Without it the whole lockfile's npm snapshot is embedded, test-only packages included
  // (fauxqs, fastify, pino, the SQS client): ~22 MB of files instead of ~11 MB.
  "--exclude-unused-npm",
  ...PERMISSION_FLAGS,
  ...V8_FLAGS,
] as const;

/** Release targets and the name of each binary on the release page. */
export const TARGETS: Record<string, string> = {
  "x86_64-unknown-linux-gnu": "s3backup-linux-x64",
  "aarch64-unknown-linux-gnu": "s3backup-linux-arm64",
  "x86_64-apple-darwin": "s3backup-macos-x64",
  "aarch64-apple-darwin": "s3backup-macos-arm64",
  "x86_64-pc-windows-msvc": "s3backup-windows-x64.exe",
};

export const ENTRY = "main.ts";

/** The `deno compile` arguments for one binary; target undefined means this machine. */
export function compileArgs(output: string, target?: string): string[] {
  return [
    "compile",
    ...COMPILE_FLAGS,
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    ENTRY,
  ];
}

/** SHA256SUMS in the format `sha256sum -c` reads: `<hex>  <name>`, sorted by name. Pure. */
export function formatSha256Sums(sums: { name: string; sha256: string }[]): string {
  return [...sums]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => `${s.sha256}  ${s.name}\n`)
    .join("");
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}

interface Args {
  host: boolean;
  targets: string[];
  out: string;
  printFlags: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { host: false, targets: [], out: "dist", printFlags: false };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === "--host") a.host = true;
    else if (v === "--print-flags") a.printFlags = true;
    else if (v === "--target") a.targets.push(argv[++i]);
    else if (v.startsWith("--target=")) a.targets.push(v.slice(9));
    else if (v === "--out") a.out = argv[++i];
    else if (v.startsWith("--out=")) a.out = v.slice(6);
    else throw new Error(`unknown argument: ${v}`);
  }
  for (const t of a.targets) {
    if (!(t in TARGETS)) throw new Error(`unknown target ${t} (one of ${Object.keys(TARGETS)})`);
  }
  return a;
}

async function compile(output: string, target?: string): Promise<void> {
  const args = compileArgs(output, target);
  console.log(`$ deno ${args.join(" ")}`);
  const t0 = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`deno compile ${target ?? "(host)"} failed with exit ${code}`);
  const size = Deno.statSync(output).size;
  console.log(
    `${output}: ${(size / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

function fileExists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.printFlags) {
    console.log(COMPILE_FLAGS.join("\n"));
    return;
  }
  Deno.mkdirSync(args.out, { recursive: true });

  let restore: (() => void) | undefined;
  if (fileExists(BUILD_INFO_PATH)) {
    restore = await stamp(BUILD_INFO_PATH);
    console.log(`stamped ${BUILD_INFO_PATH}: ${Deno.readTextFileSync(BUILD_INFO_PATH).trim()}`);
  } else {
    console.warn(`warning: ${BUILD_INFO_PATH} is missing; --version will not name the commit`);
  }
  const onSignal = () => {
    restore?.();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    if (args.host) {
      await compile(join(args.out, Deno.build.os === "windows" ? "s3backup.exe" : "s3backup"));
      return;
    }
    const targets = args.targets.length > 0 ? args.targets : Object.keys(TARGETS);
    const built: string[] = [];
    for (const target of targets) {
      const output = join(args.out, TARGETS[target]);
      await compile(output, target);
      built.push(output);
    }
    const sums = [];
    for (const path of built) sums.push({ name: basename(path), sha256: await sha256File(path) });
    const sumsPath = join(args.out, "SHA256SUMS");
    Deno.writeTextFileSync(sumsPath, formatSha256Sums(sums));
    console.log(`\n${sumsPath}:\n${Deno.readTextFileSync(sumsPath)}`);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    restore?.();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(`release: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
