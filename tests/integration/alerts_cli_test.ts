/**
 * A failure cannot go unnoticed (issue 15, item 3) and the report says what changed (item 5):
 * a run that reports to nobody says so; the heartbeat hears a start, then success or /fail, and
 * a killed run leaves a start without an end for the monitor to notice; the report lists the
 * uploaded files. The CLI as a subprocess against fauxqs.
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { runCli, spawnCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const MiB = 1024 * 1024;
let counter = 0;

function buckets() {
  const n = ++counter;
  return { documents: `al-docs-${n}`, photos: `al-pics-${n}`, database: `al-db-${n}` };
}

function tree(files: Record<string, string | Uint8Array>): { dir: string; src: string } {
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-alerts-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === "string") Deno.writeTextFileSync(`${src}/${name}`, content);
    else Deno.writeFileSync(`${src}/${name}`, content);
  }
  return { dir, src };
}

/** Warning lines, without those the test server causes (plain http; fauxqs keeps no versions). */
const warnings = (stderr: string) =>
  stderr.split("\n").filter((l) =>
    / - WARNING - /.test(l) && !/is plain http/.test(l) && !/Versioning is not enabled/.test(l)
  );

/** A monitor: records the path of each ping. */
function monitor() {
  const hits: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    hits.push(new URL(req.url).pathname);
    return new Response("OK");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/ping/abc`,
    hits,
    stop: () => server.shutdown(),
  };
}

const NOBODY = /No SNS topic and no ping URL are configured: nobody will be told when a run fails/;

Deno.test(
  "run: with no SNS topic and no ping URL it warns once, in the log and the report",
  opts,
  async () => {
    const b = buckets();
    const aws = await startLocalAws(Object.values(b));
    const { dir, src } = tree({ "a.txt": "a" });
    const hc = monitor();
    try {
      const base = { source: src, stateDir: `${dir}/state`, endpoint: aws.endpoint, buckets: b };
      const cfg = writeConfig(dir, base);
      const text = await runCli(["run", "-c", cfg], { env: aws.env });
      assert.equal(text.code, 0, text.stderr);
      assert.equal(warnings(text.stderr).length, 1, text.stderr);
      assert.match(warnings(text.stderr)[0], NOBODY);
      assert.match(text.stdout, /^Warnings:\n {2}No SNS topic and no ping URL/m);

      const json = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
      assert.match(JSON.parse(json.stdout).warnings[0], NOBODY);

      // S3 unreachable, the very case where nobody hears: the warning is there too.
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (closed.addr as Deno.NetAddr).port;
      closed.close();
      const down = writeConfig(dir, { ...base, endpoint: `http://127.0.0.1:${port}` });
      const fatal = await runCli(["run", "-c", down, "--json"], { env: aws.env });
      assert.equal(fatal.code, 4, fatal.stderr);
      assert.match(JSON.parse(fatal.stdout).warnings[0], NOBODY);
      assert.equal(warnings(fatal.stderr).length, 1, fatal.stderr);

      // Not when someone listens, nor for a dry run (which reports to nobody by design).
      const dry = await runCli(["run", "-c", cfg, "--dry-run"], { env: aws.env });
      assert.deepEqual(warnings(dry.stderr), []);
      const pinged = writeConfig(dir, { ...base, extra: `[notify]\nping_url = "${hc.url}"\n` });
      const withPing = await runCli(["run", "-c", pinged], { env: aws.env });
      assert.equal(withPing.code, 0, withPing.stderr);
      assert.deepEqual(warnings(withPing.stderr), []);
      const withTopic = writeConfig(dir, { ...base, topicArn: aws.topicArn });
      assert.deepEqual(
        warnings((await runCli(["run", "-c", withTopic], { env: aws.env })).stderr),
        [],
      );
    } finally {
      await hc.stop();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "run: ping_url hears /start, then success or /fail; a killed run leaves only its /start",
  opts,
  async () => {
    const b = buckets();
    const aws = await startLocalAws([b.documents, b.database]); // no photos bucket yet
    const { dir, src } = tree({ "a.txt": "a", "c.jpg": "c" });
    const hc = monitor();
    try {
      const cfg = writeConfig(dir, {
        source: src,
        stateDir: `${dir}/state`,
        endpoint: aws.endpoint,
        buckets: b,
        extra: `[notify]\nping_url = "${hc.url}"\n`,
      });
      const failed = await runCli(["run", "-c", cfg], { env: aws.env });
      assert.equal(failed.code, 1, failed.stderr);
      assert.deepEqual(hc.hits, ["/ping/abc/start", "/ping/abc/fail"]);

      aws.createBucket(b.photos);
      const ok = await runCli(["run", "-c", cfg], { env: aws.env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(hc.hits.slice(2), ["/ping/abc/start", "/ping/abc"]);

      // A run that hangs or is killed: the monitor heard its start and never its end. The
      // upload is slowed down (--bwlimit) so that it is still going when it is killed.
      hc.hits.length = 0;
      Deno.writeFileSync(`${src}/big.sql`, new Uint8Array(16 * MiB));
      const slow = spawnCli(["run", "-c", cfg, "--bwlimit", "1M"], { env: aws.env });
      const output = slow.output();
      const t0 = performance.now();
      while (hc.hits.length === 0 && performance.now() - t0 < 20_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(hc.hits, ["/ping/abc/start"]);
      // A run locked out by it pings nothing: neither start nor end of the run it did not do.
      const locked = await runCli(["run", "-c", cfg], { env: aws.env });
      assert.equal(locked.code, 3, locked.stderr);
      slow.kill("SIGKILL");
      const killed = await output;
      assert.equal(killed.signal, "SIGKILL");
      assert.ok(performance.now() - t0 < 12_000, "killed mid-upload, not after it");
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(hc.hits, ["/ping/abc/start"], "a start and no end: the monitor alerts");
    } finally {
      await hc.stop();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "run: the report lists the uploaded files, the first 50 then a count (text, JSON, SNS)",
  opts,
  async () => {
    const b = buckets();
    const aws = await startLocalAws(Object.values(b));
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++) files[`f${String(i).padStart(2, "0")}.txt`] = `${i}`;
    const { dir, src } = tree(files);
    try {
      const cfg = writeConfig(dir, {
        source: src,
        stateDir: `${dir}/state`,
        endpoint: aws.endpoint,
        topicArn: aws.topicArn,
        buckets: b,
      });
      const keys = Object.keys(files).sort().map((f) => `s3://${b.documents}/${f}`);
      const text = await runCli(["run", "-c", cfg], { env: aws.env });
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.split("\n");
      const at = lines.indexOf("Uploaded (60):");
      assert.ok(at > 3, text.stdout);
      assert.deepEqual(lines.slice(at + 1, at + 52), [
        ...keys.slice(0, 50).map((k) => `  ${k}`),
        "  ... and 10 more",
      ]);
      const sns = aws.snsMessages().at(-1)!.message;
      assert.ok(
        sns.includes(`Uploaded (60):\n${keys.slice(0, 50).map((k) => `  ${k}\n`).join("")}`),
        sns,
      );
      assert.match(sns, /^ {2}\.\.\. and 10 more$/m);

      Deno.writeTextFileSync(`${src}/f00.txt`, "changed");
      Deno.writeTextFileSync(`${src}/new.txt`, "new");
      const json = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
      const report = JSON.parse(json.stdout);
      assert.deepEqual(report.uploaded_files, [keys[0], `s3://${b.documents}/new.txt`]);
      assert.equal(report.uploaded_files_omitted, 0);
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
