/** Shared pieces of the contract runners that drive the real S3 adapter over an SDK client. */
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { AwsConfig } from "../../lib/config/config.ts";
import { createS3Client } from "../../lib/adapters/aws_clients.ts";
import { forEachPool } from "../../lib/core/pool.ts";

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The production client (createS3Client: checksum settings, retries) signing with the given
 * keys. The SDK reads `config.credentials` on every request, so it is replaced here rather than
 * exporting AWS_* into this process's environment, which other test modules share.
 */
export function testS3Client(
  endpoint: string,
  region: string,
  credentials: StaticCredentials,
): S3Client {
  const aws: AwsConfig = { s3Endpoint: endpoint, region };
  const client = createS3Client(aws, {});
  (client.config as unknown as { credentials: () => Promise<StaticCredentials> }).credentials =
    () => Promise.resolve(credentials);
  return client;
}

/** The stored Content-Type, read with a plain HeadObject. */
export function contentTypeReader(client: S3Client, bucket: string) {
  return async (key: string): Promise<string | undefined> =>
    (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentType;
}

/** Deletes every version and delete marker, then the bucket (best effort). */
export async function deleteBucketFully(client: S3Client, bucket: string): Promise<void> {
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const out = await client.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    const objects = [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key!,
      VersionId: v.VersionId,
    }));
    // RGW deletes a batch one object at a time: many small batches in parallel go faster.
    const batches: Array<typeof objects> = [];
    for (let i = 0; i < objects.length; i += 50) batches.push(objects.slice(i, i + 50));
    await forEachPool(batches, 16, async (batch) => {
      await client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }),
      );
    });
    keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
    versionMarker = out.IsTruncated ? out.NextVersionIdMarker : undefined;
  } while (keyMarker);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
