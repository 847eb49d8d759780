/**
 * Endpoints as real deployments have them (issue 12): S3 on one server and SNS on another, and
 * the original script's zero-config mode pointed at a local server by the SDK's documented
 * variables, with path-style addressing and the plain-http warning. CLI against fauxqs.
 */
import assert from "node:assert/strict";
import { startLocalAws, TEST_CREDENTIALS } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../servers/rgw_env.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("run: s3_endpoint and sns_endpoint reach two different servers", opts, async () => {
  const s3 = await startLocalAws(["ep-docs", "ep-pics", "ep-db"]);
  const sns = await startLocalAws([]); // the topic lives here, the buckets do not
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-ep-" });
  try {
    Deno.mkdirSync(`${dir}/src`);
    Deno.writeTextFileSync(`${dir}/src/a.txt`, "a");
    Deno.writeTextFileSync(
      `${dir}/s3backup.toml`,
      `source = "src"
state_dir = "state"
[aws]
region = "us-east-1"
s3_endpoint = "${s3.endpoint}"
sns_endpoint = "${sns.endpoint}"
sns_topic_arn = "${sns.topicArn}"
[categories.documents]
bucket = "ep-docs"
extensions = [".txt"]
[categories.photos]
bucket = "ep-pics"
extensions = [".jpg"]
[categories.database]
bucket = "ep-db"
extensions = [".sql"]
`,
    );
    const r = await runCli(["run", "-c", `${dir}/s3backup.toml`, "--json"], { env: s3.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).uploaded, 1);
    assert.equal(sns.snsMessages().length, 1, "the report reached the SNS server");
    assert.equal(s3.snsMessages().length, 0);
    assert.match(
      r.stderr,
      /S3 endpoint http:\/\/127\.0\.0\.1:\d+ \(aws\.s3_endpoint\) is plain http/,
    );
    assert.match(
      r.stderr,
      /SNS endpoint http:\/\/127\.0\.0\.1:\d+ \(aws\.sns_endpoint\) is plain http/,
    );
  } finally {
    await s3.stop();
    await sns.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  "run (zero-config): AWS_ENDPOINT_URL with a host name works path-style and warns",
  opts,
  async () => {
    const aws = await startLocalAws(["zc-docs", "zc-pics", "zc-db"]);
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-zc-" });
    try {
      Deno.mkdirSync(`${dir}/src`);
      Deno.writeTextFileSync(`${dir}/src/notes.txt`, "n");
      Deno.writeTextFileSync(`${dir}/src/pic.png`, "p");
      const endpoint = aws.endpoint.replace("127.0.0.1", "localhost");
      const r = await runCli(["run", "--json"], {
        cwd: dir, // no s3backup.toml here: the environment defines the run
        env: {
          ...TEST_CREDENTIALS,
          HOME: dir,
          SOURCE_DIR: `${dir}/src`,
          S3_BUCKET_DOCUMENTS: "zc-docs",
          S3_BUCKET_PHOTOS: "zc-pics",
          S3_BUCKET_DATABASE: "zc-db",
          SNS_TOPIC_ARN: aws.topicArn,
          AWS_ENDPOINT_URL: endpoint,
        },
      });
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout);
      assert.equal(json.uploaded, 2);
      assert.deepEqual(json.notifications, { sns: { sent: true } });
      assert.match(
        r.stderr,
        /S3 endpoint http:\/\/localhost:\d+ \(\$AWS_ENDPOINT_URL\) is plain http/,
      );
      assert.doesNotMatch(r.stderr, /ENOTFOUND/);
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "run: [aws] profile picks that profile's keys from ~/.aws/credentials (RGW checks them)",
  opts,
  async () => {
    const rgw = await rgwFromEnv();
    if (!rgw) {
      console.warn(`SKIPPED: ${RGW_SKIP_MESSAGE}`);
      return;
    }
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-profile-" });
    const s3 = rgwClient(rgw);
    const bucket = `profile-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await createVersionedBucket(s3, bucket);
      Deno.mkdirSync(`${dir}/src`);
      Deno.writeTextFileSync(`${dir}/src/a.txt`, "a");
      Deno.mkdirSync(`${dir}/.aws`);
      // The default profile's keys are wrong: only the named profile can list the bucket.
      Deno.writeTextFileSync(
        `${dir}/.aws/credentials`,
        `[default]\naws_access_key_id = WRONGKEY000000000000\naws_secret_access_key = wrong\n` +
          `[backup]\naws_access_key_id = ${rgw.accessKeyId}\naws_secret_access_key = ${rgw.secretAccessKey}\n`,
      );
      const config = (profile: string) =>
        Deno.writeTextFileSync(
          `${dir}/s3backup.toml`,
          `source = "src"\nstate_dir = "state"\n[aws]\nregion = "${rgw.region}"\n` +
            `s3_endpoint = "${rgw.endpoint}"\n${profile}\n` +
            `[categories.documents]\nbucket = "${bucket}"\nextensions = [".txt"]\n`,
        );
      const env = { HOME: dir, AWS_EC2_METADATA_DISABLED: "true" };
      config(`profile = "backup"`);
      const ok = await runCli(["run", "-c", `${dir}/s3backup.toml`, "--json"], { env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).uploaded, 1);
      config("");
      const wrong = await runCli(["run", "-c", `${dir}/s3backup.toml`, "--json"], { env });
      assert.equal(wrong.code, 4, "without the profile, the default's wrong key is refused");
    } finally {
      s3.destroy();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
