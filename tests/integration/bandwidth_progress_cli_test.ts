/**
 * Bandwidth and progress (issue 15, item 5): --bwlimit and the config's bwlimit hold a 20 MiB
 * upload to the rate; the progress line on a terminal (a pseudo-terminal made by script(1))
 * shows the scan, then bytes moving inside a file before it finishes; and nothing of it when
 * stderr is not a terminal. The CLI as a subprocess against fauxqs.
 */
import assert from "node:assert/strict";
import { configText, writeConfig } from "../support/config.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { MAIN, REPO_ROOT, runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const MiB = 1024 * 1024;

/** Content of its own for each file, so that each is a new upload. */
function bytes(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) out[i] = (seed + i / 4096) & 0xff;
  return out;
}

Deno.test("run --bwlimit 4M: a 20 MiB upload takes ~5 s, not a blink", opts, async () => {
  const b = { documents: "bw-docs", photos: "bw-pics", database: "bw-db" };
  const aws = await startLocalAws(Object.values(b));
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-bw-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  try {
    const base = {
      source: src,
      stateDir: `${dir}/state`,
      endpoint: aws.endpoint,
      topicArn: aws.topicArn,
      buckets: b,
    };
    let cfg = writeConfig(dir, base);
    let n = 0;
    /** Seconds a run takes to upload one new 20 MiB file (its report's duration). */
    const upload = async (...args: string[]) => {
      Deno.writeFileSync(`${src}/dump-${++n}.sql`, bytes(n, 20 * MiB));
      const r = await runCli(["run", "-c", cfg, "--json", ...args], { env: aws.env });
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout);
      assert.equal(json.uploaded, 1);
      assert.equal(json.bytes_uploaded, 20 * MiB);
      return json.duration_ms / 1000;
    };
    const free = await upload();
    const limited = await upload("--bwlimit", "4M");
    cfg = writeConfig(dir, { ...base, extra: `bwlimit = "4M"` });
    const byConfig = await upload();
    const overridden = await upload("--bwlimit", "0");
    console.log(
      `20 MiB: ${free.toFixed(2)} s free, ${limited.toFixed(2)} s at --bwlimit 4M, ` +
        `${byConfig.toFixed(2)} s at bwlimit = "4M", ${overridden.toFixed(2)} s at --bwlimit 0`,
    );
    assert.ok(free < 2.5, `unlimited: ${free} s`);
    assert.ok(overridden < 2.5, `--bwlimit 0 lifts the config's limit: ${overridden} s`);
    for (const secs of [limited, byConfig]) {
      assert.ok(secs > 4.5 && secs < 8, `20 MiB at 4 MiB/s: ${secs} s`);
    }

    const bad = await runCli(["run", "-c", cfg, "--bwlimit", "4X"], { env: aws.env });
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /option '--bwlimit <rate>' argument '4X' is invalid\. '4X' is not a rate/,
    );
  } finally {
    await aws.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Runs the CLI with stderr (and stdout) on a pseudo-terminal, through script(1). */
async function onTerminal(args: string[], env: Record<string, string>) {
  const deno = Deno.execPath();
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const command = [deno, "run", "--allow-all", "--quiet", "--config", `${REPO_ROOT}deno.json`, MAIN]
    .concat(args).map(quote).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qfec", command, "/dev/null"],
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, text: new TextDecoder().decode(out.stdout) };
}

const HAS_SCRIPT = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "run on a terminal: the scan's count, then bytes moving inside a file; none on a pipe",
  ignore: !HAS_SCRIPT,
  ...opts,
  async fn() {
    const b = { documents: "tty-docs", photos: "tty-pics", database: "tty-db" };
    const aws = await startLocalAws(Object.values(b));
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-tty-" });
    const src = `${dir}/src`;
    try {
      // Enough files that the walk takes several slices, uploaded once beforehand.
      for (let d = 0; d < 40; d++) {
        Deno.mkdirSync(`${src}/d${d}`, { recursive: true });
        for (let i = 0; i < 100; i++) Deno.writeTextFileSync(`${src}/d${d}/f${i}.txt`, `${i}`);
      }
      const cfg = `${dir}/s3backup.toml`;
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: src,
          stateDir: `${dir}/state`,
          endpoint: aws.endpoint,
          topicArn: aws.topicArn,
          buckets: b,
          concurrency: 16,
        }),
      );
      const first = await runCli(["run", "-c", cfg, "-q"], { env: aws.env });
      assert.equal(first.code, 0, first.stderr);

      // Two 12 MiB files at 4 MiB/s: ~6 s in which neither is finished for a while.
      Deno.writeFileSync(`${src}/a.sql`, bytes(1, 12 * MiB));
      Deno.writeFileSync(`${src}/b.sql`, bytes(2, 12 * MiB));
      const r = await onTerminal(["run", "-c", cfg, "--bwlimit", "4M"], aws.env);
      assert.equal(r.code, 0, r.text.slice(-3000));
      const shown = r.text.replaceAll("\r\x1b[K", "\n").split(/\r?\n/).filter((l) => l !== "");
      const scans = shown.filter((l) => /^Scanning: [\d,]+ files found$/.test(l));
      assert.ok(scans.length >= 1, `the scan phase is shown:\n${shown.slice(0, 20).join("\n")}`);
      const progress = shown.map((l) =>
        /^Uploading (\d+)\/2 files, ([\d.]+) (B|KiB|MiB) of 24\.0 MiB/.exec(l)
      ).filter((m) => m !== null);
      const inFlight = progress.filter((m) => m[1] === "0" && m[3] === "MiB" && Number(m[2]) > 0);
      assert.ok(
        inFlight.length >= 3,
        `bytes counted while no file is done yet:\n${progress.map((m) => m[0]).join("\n")}`,
      );
      assert.match(
        shown.findLast((l) => l.startsWith("Uploading"))!,
        /^Uploading 2\/2 files, 24\.0 MiB of 24\.0 MiB \(100%\)/,
      );
      assert.ok(shown.includes("Backup completed."), "the report follows the progress line");

      // -q on a terminal: no progress line either.
      Deno.writeFileSync(`${src}/q.sql`, bytes(4, 2 * MiB));
      const quiet = await onTerminal(["run", "-c", cfg, "-q"], aws.env);
      assert.equal(quiet.code, 0, quiet.text.slice(-3000));
      assert.doesNotMatch(quiet.text, /Scanning|Uploading \d/);
      assert.match(quiet.text, /Backup completed\./);

      // The same run with stderr on a pipe: no progress line at all.
      Deno.writeFileSync(`${src}/c.sql`, bytes(3, 2 * MiB));
      const piped = await runCli(["run", "-c", cfg], { env: aws.env });
      assert.equal(piped.code, 0, piped.stderr);
      assert.doesNotMatch(piped.stderr, /Scanning|Uploading \d|\r/);
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
