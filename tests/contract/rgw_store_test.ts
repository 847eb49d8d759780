/**
 * The ObjectStore contract against the real S3 adapter talking to Ceph RGW (a versioned,
 * checksum-verifying S3 server): every case runs, versioning and BadDigest included. Each test
 * gets a fresh bucket with versioning enabled, deleted afterwards. Skipped, visibly, when RGW
 * is not running (start it with tests/servers/rgw.sh).
 */
import { CreateBucketCommand, PutBucketVersioningCommand } from "@aws-sdk/client-s3";
import { S3Store } from "../../lib/adapters/s3/store.ts";
import { RGW_SKIP_MESSAGE, rgwFromEnv } from "../servers/rgw_env.ts";
import { objectStoreContract } from "./object_store_contract.ts";
import { contentTypeReader, deleteBucketFully, testS3Client } from "./s3_fixture.ts";

const rgw = await rgwFromEnv();
const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
let n = 0;

objectStoreContract("S3Store over RGW", async () => {
  if (rgw === undefined) throw new Error("unreachable: RGW cases are skipped");
  const client = testS3Client(rgw.endpoint, rgw.region, rgw);
  const bucket = `s3b-contract-${run}-${++n}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      VersioningConfiguration: { Status: "Enabled" },
    }),
  );
  return {
    store: new S3Store(client),
    bucket,
    versioned: true,
    contentType: contentTypeReader(client, bucket),
    async cleanup() {
      try {
        await deleteBucketFully(client, bucket);
      } finally {
        client.destroy();
      }
    },
  };
}, { skip: { all: rgw === undefined ? RGW_SKIP_MESSAGE : undefined } });
