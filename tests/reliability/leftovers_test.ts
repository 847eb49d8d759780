/**
 * What kill -9 leaves behind: a run killed during a multipart upload cannot abort it, and S3
 * bills its parts until something does. The upload id is in the local state before the first
 * part, so the next run aborts it. Shown twice: through the fault proxy, which watches
 * multipart traffic (fauxqs has no ListMultipartUploads), and on RGW with a real listing.
 */
import assert from "node:assert/strict";
import { configText } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { DatabaseSync } from "node:sqlite";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { startLocalAws } from "../support/local_aws.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { spawnCli } from "../support/cli.ts";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../servers/rgw_env.ts";
import { BUCKETS, checkIntact, makeTree, MiB, runCliWithin, testOpts } from "./helpers.ts";

const rgw = await rgwFromEnv();
if (!rgw) console.warn(`SKIPPED the RGW case of leftovers_test.ts: ${RGW_SKIP_MESSAGE}`);

/** The multipart uploads the state journals as open. */
function journaled(stateDir: string): Array<{ bucket: string; key: string }> {
  const db = new DatabaseSync(`${stateDir}/state.db`, { readOnly: true });
  try {
    return db.prepare("SELECT bucket, key FROM open_uploads").all().map((r) => ({
      bucket: String(r.bucket),
      key: String(r.key),
    }));
  } finally {
    db.close();
  }
}

/** Starts a run and SIGKILLs it once its first UploadPart reached the proxy. */
async function killDuringFirstPart(
  cfg: string,
  env: Record<string, string>,
  firstPart: Promise<void>,
): Promise<void> {
  const child = spawnCli(["run", "-c", cfg], { env });
  const output = child.output();
  await firstPart;
  child.kill("SIGKILL");
  const out = await output;
  assert.equal(out.signal, "SIGKILL", new TextDecoder().decode(out.stderr).slice(-2000));
}

Deno.test(
  "leftovers: the multipart upload of a run killed with kill -9 is aborted by the next run",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    let slow = true;
    let onPart: (() => void) | undefined;
    const proxy = await startFaultProxy({
      upstream: aws.endpoint,
      seed: 17,
      // Parts held 3 s: the kill lands while the upload is open, with parts in flight.
      delayOf: (i) => (slow && i.op === "UploadPart" ? 3000 : 0),
      onRequest: (i) => {
        if (i.op === "UploadPart") onPart?.();
      },
    });
    const s3 = testS3Client(aws.endpoint);
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-leftover-" });
    const src = `${dir}/src`;
    const state = `${dir}/state`;
    const cfg = `${dir}/s3backup.toml`;
    try {
      const files = makeTree(src, 3, 20, [40 * MiB]);
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: src,
          stateDir: state,
          endpoint: proxy.endpoint,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );
      await killDuringFirstPart(cfg, aws.env, new Promise((r) => (onPart = r)));
      onPart = undefined;
      const left = [...proxy.openMultipartUploads().values()];
      assert.deepEqual(left, [{ bucket: BUCKETS.database, key: "big/dump-0.sql" }]);
      assert.deepEqual(journaled(state), left, "journaled before its first part");

      slow = false;
      const next = await runCliWithin(["run", "-c", cfg, "--json"], aws.env, 120_000);
      assert.equal(next.code, 0, next.stderr.slice(-2000));
      assert.match(
        next.stderr,
        / - INFO - Aborted the multipart upload of s3:\/\/t-database\/big\/dump-0\.sql left open by an interrupted run\n/,
      );
      assert.match(
        next.stderr,
        / - INFO - Multipart uploads left open by an interrupted run: 1 aborted\n/,
      );
      assert.equal(JSON.parse(next.stdout).requests.AbortMultipartUpload, 1);
      assert.equal(proxy.openMultipartUploads().size, 0, "nothing left open");
      assert.deepEqual(journaled(state), [], "the journal is empty again");
      assert.deepEqual(await checkIntact(s3, src, files), []);

      // Nothing left: the run after aborts nothing.
      const third = await runCliWithin(["run", "-c", cfg, "--json"], aws.env, 60_000);
      assert.equal(JSON.parse(third.stdout).requests.AbortMultipartUpload, undefined);
      assert.doesNotMatch(third.stderr, /left open by an interrupted run/);
    } finally {
      s3.destroy();
      await proxy.close();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test({
  name: "leftovers (RGW): ListMultipartUploads shows the killed run's upload, then none",
  ignore: !rgw,
  ...testOpts,
  fn: async () => {
    const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const buckets = { documents: `ld-${id}`, photos: `lp-${id}`, database: `lb-${id}` };
    const s3 = rgwClient(rgw!);
    for (const b of Object.values(buckets)) await createVersionedBucket(s3, b);
    let slow = true;
    let onPart: (() => void) | undefined;
    const proxy = await startFaultProxy({
      upstream: rgw!.endpoint,
      seed: 19,
      delayOf: (i) => (slow && i.op === "UploadPart" ? 3000 : 0),
      onRequest: (i) => {
        if (i.op === "UploadPart") onPart?.();
      },
    });
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-leftover-rgw-" });
    const cfg = `${dir}/s3backup.toml`;
    const env = {
      AWS_ACCESS_KEY_ID: rgw!.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
      AWS_REGION: rgw!.region,
    };
    const uploads = async () =>
      ((await s3.send(new ListMultipartUploadsCommand({ Bucket: buckets.database }))).Uploads ??
        []).map((u) => u.Key);
    try {
      makeTree(`${dir}/src`, 4, 5, [24 * MiB]);
      const config = (endpoint: string) =>
        configText({
          source: `${dir}/src`,
          stateDir: `${dir}/state`,
          endpoint,
          buckets: BUCKETS,
          concurrency: 8,
        })
          .replaceAll(BUCKETS.documents, buckets.documents)
          .replaceAll(BUCKETS.photos, buckets.photos)
          .replaceAll(BUCKETS.database, buckets.database);
      Deno.writeTextFileSync(cfg, config(proxy.endpoint));
      await killDuringFirstPart(cfg, env, new Promise((r) => (onPart = r)));
      assert.deepEqual(await uploads(), ["big/dump-0.sql"], "RGW holds the killed run's upload");

      slow = false;
      Deno.writeTextFileSync(cfg, config(rgw!.endpoint));
      const next = await runCliWithin(["run", "-c", cfg], env, 120_000);
      assert.equal(next.code, 0, next.stderr.slice(-2000));
      assert.deepEqual(await uploads(), [], "RGW lists no open upload");
      assert.match(next.stderr, /Multipart uploads left open by an interrupted run: 1 aborted/);
    } finally {
      s3.destroy();
      await proxy.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
