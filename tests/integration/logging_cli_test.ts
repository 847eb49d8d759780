/**
 * Logs an admin can read (issue 15, item 1): a no-change run of 20,000 files logs a handful of
 * lines by default, one skip line per file with -v, nothing with -q; `log` in the config does
 * the same and the flag wins; the original script's environment variables log verbosely, as
 * the script did. The CLI as a subprocess against fauxqs.
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { startLocalAws, TEST_CREDENTIALS } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const SKIP = / - INFO - File (.+) already up to date in (\S+), skipping\.$/;

/**
 * The log's lines, without the warnings the test server causes: a plain-http loopback endpoint,
 * and buckets without versioning (fauxqs keeps no versions; tested on RGW elsewhere).
 */
const lines = (stderr: string) =>
  stderr.split("\n").filter((l) =>
    l !== "" && !/ endpoint http:\S+ .* is plain http/.test(l) &&
    !/ - WARNING - Versioning is not enabled on /.test(l)
  );

Deno.test(
  "run: 20,000 unchanged files: a handful of lines by default, one each with -v, none with -q",
  opts,
  async () => {
    const buckets = { documents: "log-docs", photos: "log-pics", database: "log-db" };
    const aws = await startLocalAws(Object.values(buckets));
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-log-" });
    const src = `${dir}/src`;
    try {
      const files: string[] = [];
      for (let d = 0; d < 100; d++) {
        Deno.mkdirSync(`${src}/d${d}`, { recursive: true });
        for (let i = 0; i < 200; i++) {
          const rel = `d${d}/f${i}${[".txt", ".jpg", ".sql", ".pdf"][i % 4]}`;
          Deno.writeTextFileSync(`${src}/${rel}`, rel);
          files.push(rel);
        }
      }
      const config = (extra = "") =>
        writeConfig(dir, {
          source: src,
          stateDir: `${dir}/state`,
          endpoint: aws.endpoint,
          topicArn: aws.topicArn,
          buckets,
          concurrency: 32,
          extra,
        });
      const cfg = config();
      const run = (...args: string[]) => runCli(["run", "-c", cfg, ...args], { env: aws.env });
      const first = await run("-q");
      assert.equal(first.code, 0, first.stderr.slice(-2000));
      assert.match(first.stdout, /^Files uploaded: 20000$/m);
      assert.deepEqual(lines(first.stderr), [], "-q: not one line of the 20,000 uploads");

      const normal = await run();
      assert.equal(normal.code, 0, normal.stderr.slice(-2000));
      assert.match(normal.stdout, /^Files skipped \(already exist\): 20000$/m);
      const said = lines(normal.stderr);
      console.log(
        `no-change run of 20,000 files: ${said.length} log lines (${normal.stderr.length} bytes ` +
          `with the test's plain-http warnings) by default`,
      );
      assert.ok(said.length <= 5, `a handful of lines, got ${said.length}:\n${said.join("\n")}`);
      assert.ok(
        said.some((l) =>
          l.endsWith(
            " - INFO - Skipped 20,000 unchanged files: 5,000 in log-db, " +
              "10,000 in log-docs, 5,000 in log-pics.",
          )
        ),
        said.join("\n"),
      );
      assert.ok(said.some((l) => l.endsWith(" - INFO - SNS notification sent successfully.")));
      assert.ok(!said.some((l) => SKIP.test(l)));

      const verbose = await run("-v");
      assert.equal(verbose.code, 0);
      const skipped = lines(verbose.stderr).filter((l) => SKIP.test(l));
      assert.equal(skipped.length, 20_000, "one skip line per file");
      assert.deepEqual(skipped.map((l) => SKIP.exec(l)![1]).sort(), [...files].sort());
      assert.ok(!/Skipped 20,000/.test(verbose.stderr), "no count line: every file has its own");

      const quiet = await run("--quiet");
      assert.equal(quiet.code, 0);
      assert.deepEqual(lines(quiet.stderr), []);

      // The config's `log`, and the flag winning over it.
      config(`log = "verbose"`);
      const byConfig = await run();
      assert.equal(lines(byConfig.stderr).filter((l) => SKIP.test(l)).length, 20_000);
      const flagWins = await run("-q");
      assert.deepEqual(lines(flagWins.stderr), []);
      config(`log = "quiet"`);
      assert.deepEqual(lines((await run()).stderr), []);
      assert.equal(lines((await run("-v")).stderr).filter((l) => SKIP.test(l)).length, 20_000);

      const both = await run("-v", "-q");
      assert.equal(both.code, 2);
      assert.match(both.stderr, /option '-v, --verbose' cannot be used with option '-q, --quiet'/);
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "run (zero-config): the original script's lines, a skip line per file, by default",
  opts,
  async () => {
    const aws = await startLocalAws(["zl-docs", "zl-pics", "zl-db"]);
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-zl-" });
    try {
      Deno.mkdirSync(`${dir}/src`);
      for (const name of ["meeting_notes.txt", "sample_image.jpg", "prod.sql", "report.pdf"]) {
        Deno.writeTextFileSync(`${dir}/src/${name}`, name);
      }
      const env = {
        ...TEST_CREDENTIALS,
        HOME: dir,
        SOURCE_DIR: `${dir}/src`,
        S3_BUCKET_DOCUMENTS: "zl-docs",
        S3_BUCKET_PHOTOS: "zl-pics",
        S3_BUCKET_DATABASE: "zl-db",
        SNS_TOPIC_ARN: aws.topicArn,
        AWS_ENDPOINT_URL_S3: aws.endpoint.replace("127.0.0.1", "localhost"),
        AWS_ENDPOINT_URL_SNS: aws.endpoint.replace("127.0.0.1", "localhost"),
        AWS_REGION: "us-east-1",
      };
      const first = await runCli(["run"], { cwd: dir, env });
      assert.equal(first.code, 0, first.stderr);
      const second = await runCli(["run"], { cwd: dir, env });
      assert.equal(second.code, 0, second.stderr);
      const messages = lines(second.stderr).map((l) => {
        assert.match(l, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (INFO|WARNING) - /);
        return l.replace(/^.*? - (INFO|WARNING) - /, "$1 ");
      });
      // Files written a moment ago are racily clean: each is hashed, side by side, so their skip
      // lines come in the order the hashes end, not always the walk's.
      const skips = messages.slice(1, -1).sort();
      assert.deepEqual([messages[0], ...skips, messages.at(-1)], [
        `INFO Starting incremental backup from directory: ${dir}/src`,
        "INFO File meeting_notes.txt already up to date in zl-docs, skipping.",
        "INFO File prod.sql already up to date in zl-db, skipping.",
        "INFO File report.pdf already up to date in zl-docs, skipping.",
        "INFO File sample_image.jpg already up to date in zl-pics, skipping.",
        "INFO SNS notification sent successfully.",
      ]);
      const quiet = await runCli(["run", "-q"], { cwd: dir, env });
      assert.equal(quiet.code, 0);
      assert.doesNotMatch(quiet.stderr, / - INFO - /, "-q wins over the mode's verbose default");
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("every command takes -v and -q", opts, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-vq-" });
  try {
    const help = await runCli(["--help"]);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1])
      .filter((c) => c !== "help");
    assert.ok(commands.includes("run") && commands.includes("verify"), help.stdout);
    for (const command of commands) {
      const r = await runCli([command, "--help"]);
      assert.match(r.stdout, /-v, --verbose/, `${command} --help`);
      assert.match(r.stdout, /-q, --quiet/, `${command} --help`);
    }
    // And they are accepted, not only listed.
    const init = await runCli(["init", "-q", "--bucket-prefix", "vq-test", "-c", `${dir}/a.toml`]);
    assert.equal(init.code, 0, init.stderr);
    const completions = await runCli(["completions", "bash", "-v"]);
    assert.equal(completions.code, 0, completions.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
