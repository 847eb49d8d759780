/**
 * Locate the Ceph RADOS Gateway started by `tests/servers/rgw.sh start`.
 *
 * Order: RGW_ENDPOINT / RGW_ACCESS_KEY / RGW_SECRET_KEY from the environment,
 * else the env file that rgw.sh writes (RGW_ENV_FILE, default
 * /tmp/s3backup-rgw/env). The server is then checked with one quick HTTP GET.
 *
 * - Nothing configured, or only a stale env file whose server is gone:
 *   returns undefined, so the test can skip with `RGW_SKIP_MESSAGE`.
 * - RGW_ENDPOINT set explicitly but the server does not answer: throws,
 *   since a configured-but-dead server (e.g. in CI) must not skip silently.
 *
 * S3 clients talking to RGW 16.2 need forcePathStyle: true and
 * requestChecksumCalculation / responseChecksumValidation: "WHEN_REQUIRED"
 * (see the header of rgw.sh for the known limits).
 */

import { CreateBucketCommand, PutBucketVersioningCommand, type S3Client } from "@aws-sdk/client-s3";
import { testS3Client } from "../support/s3_client.ts";

export interface RgwEnv {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export const RGW_DEFAULT_ENV_FILE = "/tmp/s3backup-rgw/env";

export const RGW_SKIP_MESSAGE =
  "RGW not available: run `bash tests/servers/rgw.sh install && bash tests/servers/rgw.sh start` " +
  "(or set RGW_ENDPOINT, RGW_ACCESS_KEY, RGW_SECRET_KEY)";

function getEnv(name: string): string | undefined {
  try {
    const v = Deno.env.get(name);
    return v === undefined || v === "" ? undefined : v;
  } catch {
    return undefined; // no --allow-env
  }
}

/** Parse KEY=VALUE lines (as written by rgw.sh); ignores blanks and comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

async function readEnvFile(path: string): Promise<Record<string, string> | undefined> {
  try {
    return parseEnvFile(await Deno.readTextFile(path));
  } catch {
    return undefined; // missing or unreadable
  }
}

/** One GET / with a short timeout; any HTTP answer (even 403) means alive. */
async function isAlive(endpoint: string, timeoutMs = 2000): Promise<boolean> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(endpoint.replace(/\/+$/, "") + "/", { signal: ctl.signal });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export async function rgwFromEnv(): Promise<RgwEnv | undefined> {
  let vars: Record<string, string | undefined> = {
    RGW_ENDPOINT: getEnv("RGW_ENDPOINT"),
    RGW_ACCESS_KEY: getEnv("RGW_ACCESS_KEY"),
    RGW_SECRET_KEY: getEnv("RGW_SECRET_KEY"),
    RGW_REGION: getEnv("RGW_REGION"),
  };
  const explicit = vars.RGW_ENDPOINT !== undefined;
  if (!explicit) {
    const file = await readEnvFile(getEnv("RGW_ENV_FILE") ?? RGW_DEFAULT_ENV_FILE);
    if (file === undefined) return undefined;
    vars = file;
  }
  const endpoint = vars.RGW_ENDPOINT;
  const accessKeyId = vars.RGW_ACCESS_KEY;
  const secretAccessKey = vars.RGW_SECRET_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) {
    if (explicit) {
      throw new Error("RGW_ENDPOINT is set but RGW_ACCESS_KEY or RGW_SECRET_KEY is missing");
    }
    return undefined;
  }
  if (!(await isAlive(endpoint))) {
    if (explicit) {
      throw new Error(`RGW_ENDPOINT=${endpoint} is set but does not answer HTTP`);
    }
    return undefined;
  }
  return { endpoint, accessKeyId, secretAccessKey, region: vars.RGW_REGION ?? "us-east-1" };
}

/** The test S3 client, signed with RGW's test user; and a fresh bucket with versioning on. */
export function rgwClient(rgw: RgwEnv): S3Client {
  return testS3Client(rgw.endpoint, {
    region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
  });
}

export async function createVersionedBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      VersioningConfiguration: { Status: "Enabled" },
    }),
  );
}
