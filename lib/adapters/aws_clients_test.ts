import assert from "node:assert/strict";
import {
  createS3Client,
  plainHttpWarnings,
  resolveEndpoints,
  resolveRegion,
} from "./aws_clients.ts";
import type { AwsConfig } from "../config/config.ts";
import { createSnsClient } from "./sns.ts";
import { ConfigError } from "../core/errors.ts";

Deno.test("resolveEndpoints: the config's, else AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL", () => {
  const cases: Array<{
    aws: AwsConfig;
    env: Record<string, string>;
    s3?: string;
    sns?: string;
  }> = [
    { aws: {}, env: {} },
    {
      aws: { s3Endpoint: "http://a:1", snsEndpoint: "http://a:1" },
      env: {},
      s3: "http://a:1 aws.s3_endpoint",
      sns: "http://a:1 aws.sns_endpoint",
    },
    {
      aws: {},
      env: { AWS_ENDPOINT_URL: "http://e:2" },
      s3: "http://e:2 $AWS_ENDPOINT_URL",
      sns: "http://e:2 $AWS_ENDPOINT_URL",
    },
    {
      aws: {},
      env: {
        AWS_ENDPOINT_URL: "http://e:2",
        AWS_ENDPOINT_URL_SNS: "https://sns.eu-south-1.amazonaws.com",
      },
      s3: "http://e:2 $AWS_ENDPOINT_URL",
      sns: "https://sns.eu-south-1.amazonaws.com $AWS_ENDPOINT_URL_SNS",
    },
    {
      aws: { s3Endpoint: "http://c:3" },
      env: { AWS_ENDPOINT_URL_S3: "http://e:4" },
      s3: "http://c:3 aws.s3_endpoint",
    },
    { aws: {}, env: { AWS_ENDPOINT_URL_S3: "", AWS_ENDPOINT_URL: "" } },
  ];
  for (const c of cases) {
    const got = resolveEndpoints(c.aws, c.env);
    const show = (e?: { url: string; from: string }) => e && `${e.url} ${e.from}`;
    assert.equal(show(got.s3), c.s3, JSON.stringify(c));
    assert.equal(show(got.sns), c.sns, JSON.stringify(c));
  }
  assert.throws(
    () => resolveEndpoints({}, { AWS_ENDPOINT_URL: "localhost:9000" }),
    (e: Error) =>
      e instanceof ConfigError && /\$AWS_ENDPOINT_URL = 'localhost:9000'/.test(e.message),
  );
});

Deno.test("clients: a custom S3 endpoint means path-style; real S3 keeps virtual hosts", async () => {
  const custom = createS3Client({}, { AWS_ENDPOINT_URL: "http://localhost:9000", AWS_REGION: "x" });
  assert.equal(custom.config.forcePathStyle, true);
  const real = createS3Client({ region: "eu-south-1" }, {});
  assert.equal(real.config.forcePathStyle, false);
  const forced = createS3Client({
    region: "eu-south-1",
    s3Endpoint: "http://m:1",
    forcePathStyle: false,
  }, {});
  assert.equal(forced.config.forcePathStyle, false, "an explicit force_path_style wins");
  const sns = createSnsClient({ snsEndpoint: "https://sns.example:443" }, {});
  const url = await sns.config.endpoint!();
  assert.equal(url.hostname, "sns.example");
  for (const c of [custom, real, forced, sns]) c.destroy();
});

Deno.test("plainHttpWarnings: one per plain-http endpoint, naming where it was set", () => {
  assert.deepEqual(plainHttpWarnings({ s3Endpoint: "https://s3.lan" }, {}), []);
  assert.deepEqual(plainHttpWarnings({}, { AWS_ENDPOINT_URL: "http://127.0.0.1:4566" }), [
    "S3 endpoint http://127.0.0.1:4566 ($AWS_ENDPOINT_URL) is plain http: requests are not encrypted (loopback)",
    "SNS endpoint http://127.0.0.1:4566 ($AWS_ENDPOINT_URL) is plain http: requests are not encrypted (loopback)",
  ]);
  assert.deepEqual(plainHttpWarnings({ s3Endpoint: "http://minio.lan:9000" }, {}), [
    "S3 endpoint http://minio.lan:9000 (aws.s3_endpoint) is plain http: requests are not encrypted on the network",
  ]);
});

Deno.test("resolveRegion: an endpoint alone (local servers) defaults the region", () => {
  assert.equal(resolveRegion({}, { AWS_ENDPOINT_URL: "http://x:1" }), "us-east-1");
  assert.throws(() => resolveRegion({}, {}), ConfigError);
});
