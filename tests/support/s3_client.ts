/** The one S3 client tests use to look at a server behind the tool's back (not the adapter). */
import { S3Client } from "@aws-sdk/client-s3";

export interface TestClientOptions {
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Path-style, with the SDK's own checksums off (RGW 16.2 answers its trailing checksums with
 * 411); any credentials fauxqs accepts unless given (RGW checks them).
 */
export function testS3Client(endpoint: string, opts: TestClientOptions = {}): S3Client {
  return new S3Client({
    endpoint,
    region: opts.region ?? "us-east-1",
    forcePathStyle: true,
    credentials: opts.credentials ?? { accessKeyId: "x", secretAccessKey: "y" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
