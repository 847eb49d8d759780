/**
 * The report tells the truth when a channel or S3 itself fails (issue 12): the JSON's status
 * agrees with the exit code and names what failed; a bucket that cannot be listed is one error,
 * and no bucket at all is one fatal line with exit 4. The CLI as a subprocess against fauxqs
 * and, for a server's own error codes, against RGW.
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { startLocalAws, TEST_CREDENTIALS } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";
import { RGW_SKIP_MESSAGE, rgwFromEnv } from "../servers/rgw_env.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const FILES = { "a.txt": "a", "b.txt": "b", "c.jpg": "c", "d.sql": "d" };
let counter = 0;

function tree(): { dir: string; src: string } {
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-report-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  for (const [name, content] of Object.entries(FILES)) {
    Deno.writeTextFileSync(`${src}/${name}`, content);
  }
  return { dir, src };
}

function buckets() {
  const n = ++counter;
  return { documents: `rep-docs-${n}`, photos: `rep-pics-${n}`, database: `rep-db-${n}` };
}

const errorLines = (stderr: string) => stderr.split("\n").filter((l) => / - ERROR - /.test(l));

/** A local HTTP server answering every request with `status`; returns its URL and hit paths. */
function pingServer(status: number) {
  const hits: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    hits.push(new URL(req.url).pathname);
    return new Response("x", { status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/ping/abc`,
    hits,
    stop: () => server.shutdown(),
  };
}

Deno.test("run --json: an SNS failure is in the JSON, status FAILED, exit 1", opts, async () => {
  const b = buckets();
  const aws = await startLocalAws(Object.values(b));
  const { dir, src } = tree();
  try {
    const cfg = writeConfig(dir, {
      source: src,
      stateDir: `${dir}/state`,
      endpoint: aws.endpoint,
      topicArn: "arn:aws:sns:us-east-1:000000000000:no-such-topic",
      buckets: b,
    });
    const r = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
    assert.equal(r.code, 1, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.equal(json.uploaded, 4);
    assert.equal(json.status, "FAILED", "status agrees with the exit code");
    assert.equal(json.notifications.sns.sent, false);
    assert.match(json.notifications.sns.error, /\S/);
    assert.match(r.stderr, / - ERROR - Error sending SNS notification: /);

    const text = await runCli(["run", "-c", cfg], { env: aws.env });
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^Report NOT sent to SNS: \S/m);
  } finally {
    await aws.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  "run --json: the heartbeat's outcome is in the JSON and the exit code",
  opts,
  async () => {
    const b = buckets();
    const aws = await startLocalAws(Object.values(b));
    const { dir, src } = tree();
    const down = pingServer(500);
    const up = pingServer(200);
    try {
      const config = (url: string) =>
        writeConfig(dir, {
          source: src,
          stateDir: `${dir}/state`,
          endpoint: aws.endpoint,
          topicArn: aws.topicArn,
          buckets: b,
          extra: `[notify]\nping_url = ${JSON.stringify(url)}\n`,
        });
      const failed = await runCli(["run", "-c", config(down.url), "--json"], { env: aws.env });
      assert.equal(failed.code, 1, failed.stderr);
      const json = JSON.parse(failed.stdout);
      assert.equal(json.status, "FAILED");
      assert.equal(json.notifications.sns.sent, true);
      assert.equal(json.notifications.heartbeat.sent, false);
      assert.match(json.notifications.heartbeat.error, /HTTP 500/);
      assert.deepEqual(
        down.hits,
        ["/ping/abc/start", "/ping/abc"],
        "a successful backup pings its start, then success",
      );

      const ok = await runCli(["run", "-c", config(up.url), "--json"], { env: aws.env });
      assert.equal(ok.code, 0, ok.stderr);
      const okJson = JSON.parse(ok.stdout);
      assert.equal(okJson.status, "OK");
      assert.deepEqual(okJson.notifications, { sns: { sent: true }, heartbeat: { sent: true } });
    } finally {
      await down.stop();
      await up.stop();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "run: a bucket that cannot be listed is one error naming its files; no manifest try",
  opts,
  async () => {
    const b = buckets();
    const aws = await startLocalAws([b.documents, b.database]); // photos missing
    const { dir, src } = tree();
    Deno.writeTextFileSync(`${src}/e.png`, "e");
    try {
      const cfg = writeConfig(dir, {
        source: src,
        stateDir: `${dir}/state`,
        endpoint: aws.endpoint,
        buckets: b,
      });
      const r = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
      assert.equal(r.code, 1, r.stderr);
      const json = JSON.parse(r.stdout);
      assert.equal(json.uploaded, 3);
      assert.equal(json.errors, 1);
      assert.equal(json.failures.length, 1);
      assert.equal(json.failures[0].path, `s3://${b.photos}/`);
      assert.match(json.failures[0].error, /NoSuchBucket.*2 files routed to it not backed up/);
      const errors = errorLines(r.stderr);
      assert.equal(errors.length, 1, errors.join("\n"));
      assert.doesNotMatch(r.stderr, /c\.jpg|e\.png|manifest/);
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "run: no bucket listable, or S3 unreachable: one fatal line, FAILED report, exit 4",
  opts,
  async () => {
    const b = buckets();
    const aws = await startLocalAws([]); // no bucket exists
    const { dir, src } = tree();
    try {
      const cfg = writeConfig(dir, {
        source: src,
        stateDir: `${dir}/state`,
        endpoint: aws.endpoint,
        topicArn: aws.topicArn,
        buckets: b,
      });
      const r = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
      assert.equal(r.code, 4, r.stderr);
      const json = JSON.parse(r.stdout);
      assert.equal(json.status, "FAILED");
      assert.match(json.fatal, /no bucket could be listed, nothing was backed up: .*NoSuchBucket/);
      assert.match(json.fatal, /check the bucket names/);
      const errors = errorLines(r.stderr);
      assert.equal(errors.length, 1, errors.join("\n"));
      const [report] = aws.snsMessages();
      assert.match(report.subject, /^s3backup FAILED on .*: nothing was backed up$/);

      // Nothing listens on the endpoint: the same, with a hint about reaching S3.
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (closed.addr as Deno.NetAddr).port;
      closed.close();
      const cfg2 = writeConfig(dir, {
        source: src,
        stateDir: `${dir}/state`,
        endpoint: `http://127.0.0.1:${port}`,
        buckets: b,
      });
      const r2 = await runCli(["run", "-c", cfg2, "--json"], { env: aws.env });
      assert.equal(r2.code, 4, r2.stderr);
      assert.match(
        JSON.parse(r2.stdout).fatal,
        /ECONNREFUSED.*check \[aws\] region \/ s3_endpoint/,
      );
      assert.equal(errorLines(r2.stderr).length, 1, r2.stderr);
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("run: no credentials at all is fatal (exit 4) and says what to check", opts, async () => {
  const b = buckets();
  const aws = await startLocalAws(Object.values(b));
  const { dir, src } = tree();
  try {
    const cfg = writeConfig(dir, {
      source: src,
      stateDir: `${dir}/state`,
      endpoint: aws.endpoint,
      buckets: b,
    });
    // No AWS_* variables, a HOME without ~/.aws, no instance metadata service.
    const r = await runCli(["run", "-c", cfg, "--json"], {
      env: { HOME: dir, AWS_EC2_METADATA_DISABLED: "true", PATH: Deno.env.get("PATH") ?? "" },
    });
    assert.equal(r.code, 4, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.match(json.fatal, /Could not load credentials/);
    assert.match(json.fatal, /check the credentials/);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.equal(json.uploaded, 0);
  } finally {
    await aws.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  "run: a wrong key against RGW names the S3 error code and HTTP status",
  opts,
  async () => {
    const rgw = await rgwFromEnv();
    if (!rgw) {
      console.warn(`SKIPPED: ${RGW_SKIP_MESSAGE}`);
      return;
    }
    const { dir, src } = tree();
    try {
      const cfg = writeConfig(dir, {
        source: src,
        stateDir: `${dir}/state`,
        endpoint: rgw.endpoint,
        buckets: buckets(),
      });
      const r = await runCli(["run", "-c", cfg, "--json"], {
        env: { ...TEST_CREDENTIALS, AWS_REGION: rgw.region, HOME: dir },
      });
      assert.equal(r.code, 4, r.stderr);
      const json = JSON.parse(r.stdout);
      assert.match(json.fatal, /InvalidAccessKeyId \(HTTP 403\)/);
      assert.doesNotMatch(json.fatal, /UnknownError/);
      assert.match(json.fatal, /check the access key id and secret/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
