/**
 * `history` and `status` through the CLI against the embedded server: the local state's run
 * history, a failed run included, and the monitoring line's exit codes.
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "history and status: no state, two good runs, a failed one, a stale one",
  opts,
  async () => {
    const buckets = { documents: "hs-docs", photos: "hs-photos", database: "hs-db" };
    const aws = await startLocalAws(Object.values(buckets));
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-hist-" });
    try {
      Deno.mkdirSync(`${dir}/src`);
      Deno.writeTextFileSync(`${dir}/src/a.txt`, "alpha");
      Deno.writeTextFileSync(`${dir}/src/b.jpg`, "beta");
      const cfg = writeConfig(dir, {
        source: `${dir}/src`,
        stateDir: `${dir}/state`,
        endpoint: aws.endpoint,
        buckets,
      });
      const cli = (...a: string[]) => runCli([...a, "-c", cfg], { env: aws.env });

      // Nothing ran yet: status says so in one line and exits 1; history is empty.
      const none = await cli("status");
      assert.equal(none.code, 1);
      assert.match(
        none.stdout,
        /^S3BACKUP WARNING - no local state at .*state\.db: no backup has run/,
      );
      assert.equal(none.stdout.split("\n").length, 2, "one line");
      assert.match((await cli("history")).stdout, /^No run recorded in .*state\.db\.\n$/);
      assert.deepEqual(JSON.parse((await cli("history", "--json")).stdout), []);
      assert.throws(() => Deno.statSync(`${dir}/state`), "reading creates nothing");

      assert.equal((await cli("run")).code, 0);
      Deno.writeTextFileSync(`${dir}/src/c.txt`, "gamma");
      assert.equal((await cli("run")).code, 0);
      assert.equal((await cli("run", "--dry-run")).code, 0, "a dry run is not history");

      const ok = await cli("status");
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(
        ok.stdout,
        /^S3BACKUP OK - last successful run ended \d+s ago \(\S+Z: 1 uploaded, 2 skipped, 0 errors\) \| age=\d+s;93600\n$/,
      );

      // A run that could not reach S3 (exit 4) is in the history too.
      await aws.stop();
      const failed = await cli("run");
      assert.equal(failed.code, 4, failed.stderr);

      const table = await cli("history");
      assert.equal(table.code, 0, table.stderr);
      const rows = table.stdout.trimEnd().split("\n");
      assert.match(rows[0], /^STARTED +STATUS +UPLOADED +SKIPPED +ERRORS +BYTES +DURATION$/);
      assert.equal(rows.length, 4, table.stdout);
      assert.match(rows[1], /^\S+Z {2}FAILED +0 +0 +1 +0 B +[\d.]+ s$/);
      assert.match(rows[2], /^\S+Z {2}OK +1 +2 +0 +5 B +[\d.]+ s$/);
      assert.match(rows[3], /^\S+Z {2}OK +2 +0 +0 +9 B +[\d.]+ s$/);
      const json = JSON.parse((await cli("history", "--json", "--limit", "2")).stdout);
      assert.deepEqual(
        json.map((r: { status: string; uploaded: number }) => [r.status, r.uploaded]),
        [
          ["FAILED", 0],
          ["OK", 1],
        ],
      );
      assert.equal(json[1].bytes_uploaded, 5);
      assert.match(json[1].started_at, /^\d{4}-\d\d-\d\dT/);

      // The last successful run is recent: still exit 0, and the failure is named.
      const after = await cli("status");
      assert.equal(after.code, 0, after.stdout);
      assert.match(
        after.stdout,
        /; the latest run ended FAILED \d+s ago \(0 uploaded, 0 skipped, 1 errors\) \| /,
      );

      await new Promise((r) => setTimeout(r, 1100));
      const stale = await cli("status", "--max-age", "1s");
      assert.equal(stale.code, 1, stale.stdout);
      assert.match(
        stale.stdout,
        /^S3BACKUP WARNING - last successful run ended \d+s ago .*, older than 1s;/,
      );
      assert.match(stale.stdout, /\| age=\d+s;1\n$/);

      const bad = await cli("status", "--max-age", "soon");
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /must be a duration such as 26h/);
      assert.equal((await cli("history", "--limit", "0")).code, 2);
    } finally {
      await aws.stop().catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
