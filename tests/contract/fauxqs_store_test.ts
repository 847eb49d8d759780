/**
 * The ObjectStore contract against the real S3 adapter (S3Store over createS3Client) talking to
 * fauxqs, the embedded S3-compatible server. fauxqs accepts but ignores versioning, so those
 * cases are skipped, visibly (checksums are proven against RGW: rgw_store_test.ts).
 */
import { S3Store } from "../../lib/adapters/s3/store.ts";
import { startLocalAws, TEST_CREDENTIALS } from "../support/local_aws.ts";
import { objectStoreContract } from "./object_store_contract.ts";
import { contentTypeReader, testS3Client } from "./s3_fixture.ts";

let n = 0;
objectStoreContract("S3Store over fauxqs", async () => {
  const bucket = `contract-fauxqs-${++n}`;
  const aws = await startLocalAws([bucket]);
  const client = testS3Client(aws.endpoint, aws.region, {
    accessKeyId: TEST_CREDENTIALS.AWS_ACCESS_KEY_ID,
    secretAccessKey: TEST_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
  });
  return {
    store: new S3Store(client),
    bucket,
    versioned: false,
    contentType: contentTypeReader(client, bucket),
    async cleanup() {
      client.destroy();
      await aws.stop();
    },
  };
}, {
  skip: {
    versioning: "fauxqs accepts but ignores bucket versioning",
  },
});
