/**
 * A run that could see nothing and a restore that could find nothing are failures, never a
 * quiet success: the CLI as a subprocess against fauxqs (which keeps no versions).
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { startLocalAws } from "../support/local_aws.ts";
import { CAN_DROP_READ_OVERRIDE, runCli } from "../support/cli.ts";
import { decodeManifest } from "../../lib/core/manifest.ts";
import { MANIFEST_NAME } from "../../lib/core/layout.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const BUCKETS = { documents: "nn-docs", photos: "nn-photos", database: "nn-db" };

async function fixture() {
  const aws = await startLocalAws(Object.values(BUCKETS));
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-nothing-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/sub`, { recursive: true });
  Deno.writeTextFileSync(`${src}/a.txt`, "a\n");
  Deno.writeTextFileSync(`${src}/sub/b.txt`, "b\n");
  const cfg = writeConfig(dir, {
    source: src,
    stateDir: `${dir}/state`,
    endpoint: aws.endpoint,
    buckets: BUCKETS,
  });
  const s3 = testS3Client(aws.endpoint);
  return {
    dir,
    src,
    cli: (args: string[], withoutReadOverride = false) =>
      runCli([...args, "-c", cfg], { env: { ...aws.env, HOME: dir }, withoutReadOverride }),
    async manifest(): Promise<string[]> {
      const out = await s3.send(
        new GetObjectCommand({ Bucket: BUCKETS.documents, Key: MANIFEST_NAME }),
      );
      return [...decodeManifest(await out.Body!.transformToByteArray())].sort();
    },
    async cleanup() {
      s3.destroy();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "run: a source folder that cannot be listed is fatal (exit 2) and writes no manifest",
  ignore: !CAN_DROP_READ_OVERRIDE,
  ...opts,
  fn: async () => {
    const f = await fixture();
    try {
      assert.equal((await f.cli(["run"])).code, 0);
      assert.deepEqual(await f.manifest(), ["a.txt", "sub/b.txt"]);
      Deno.chmodSync(f.src, 0o000);
      const r = await f.cli(["run", "--json"], true);
      Deno.chmodSync(f.src, 0o755);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const json = JSON.parse(r.stdout);
      assert.equal(json.status, "FAILED");
      assert.match(json.fatal, /source directory cannot be listed: .*permission denied/);
      assert.deepEqual(await f.manifest(), ["a.txt", "sub/b.txt"], "the manifest is untouched");
    } finally {
      Deno.chmodSync(f.src, 0o755);
      await f.cleanup();
    }
  },
});

Deno.test({
  name: "restore: a server that lists no versions (fauxqs) is an error, not 'Files restored: 0'",
  ...opts,
  fn: async () => {
    const f = await fixture();
    try {
      assert.equal((await f.cli(["run"])).code, 0);
      const r = await f.cli(["restore", "--to", `${f.dir}/out`]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /Errors encountered: 3\n/); // each bucket holds a manifest at least
      assert.match(r.stdout, /^Restore failed: nothing was restored\.\n/);
      assert.match(
        r.stdout,
        /s3:\/\/nn-docs\/: the bucket holds objects but the server listed no versions of them/,
      );
      assert.match(r.stderr, /ERROR - Cannot restore s3:\/\/nn-docs\/: .*ListObjectVersions/);
    } finally {
      await f.cleanup();
    }
  },
});
