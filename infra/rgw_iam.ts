/**
 * Test helper: RGW users with IAM user policies, so the stack's policies are enforced by a real
 * server. Users are made with radosgw-admin (RGW 16.2 has no CreateUser in its IAM API); their
 * policies go through RGW's IAM API (PutUserPolicy), signed by a throwaway user that holds the
 * `user-policy=*` cap. Nothing here is used by the real deploy.
 */
import { createHash, createHmac } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import { dirname, join } from "node:path";
import type { RgwEnv } from "../tests/servers/rgw_env.ts";
import { RGW_DEFAULT_ENV_FILE } from "../tests/servers/rgw_env.ts";

export interface RgwUser {
  uid: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The ceph.conf beside the env file rgw.sh wrote, or undefined (no radosgw-admin access). */
export function rgwCephConf(): string | undefined {
  const envFile = Deno.env.get("RGW_ENV_FILE") ?? RGW_DEFAULT_ENV_FILE;
  const conf = join(dirname(envFile), "ceph.conf");
  try {
    Deno.statSync(conf);
  } catch {
    return undefined;
  }
  try {
    const out = new Deno.Command("radosgw-admin", { args: ["--version"], stdout: "null" })
      .outputSync();
    return out.success ? conf : undefined;
  } catch {
    return undefined;
  }
}

async function radosgwAdmin(conf: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("radosgw-admin", {
    args: ["-c", conf, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`radosgw-admin ${args.join(" ")}: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
}

/** Creates an RGW user with one S3 key (and optional caps, e.g. "user-policy=*"). */
export async function createRgwUser(conf: string, uid: string, caps?: string): Promise<RgwUser> {
  const secret = Array.from(crypto.getRandomValues(new Uint8Array(20)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const access = `K${uid.replace(/[^A-Za-z0-9]/g, "").toUpperCase()}`.slice(0, 20).padEnd(20, "0");
  await radosgwAdmin(conf, [
    "user",
    "create",
    `--uid=${uid}`,
    `--display-name=${uid}`,
    `--access-key=${access}`,
    `--secret=${secret}`,
  ]);
  if (caps !== undefined) {
    await radosgwAdmin(conf, ["caps", "add", `--uid=${uid}`, `--caps=${caps}`]);
  }
  return { uid, accessKeyId: access, secretAccessKey: secret };
}

/** Removes a user made by createRgwUser (it owns no buckets). */
export async function removeRgwUser(conf: string, uid: string): Promise<void> {
  await radosgwAdmin(conf, ["user", "rm", `--uid=${uid}`]);
}

/** Removes a bucket and all its versions as the RGW admin: bypasses policies and Object Lock. */
export async function purgeRgwBucket(conf: string, bucket: string): Promise<void> {
  await radosgwAdmin(conf, [
    "bucket",
    "rm",
    `--bucket=${bucket}`,
    "--purge-objects",
    "--bypass-gc",
  ]);
}

/** The ARN RGW 16.2 gives a user of the default tenant, for Principal and aws:PrincipalArn. */
export function rgwUserArn(uid: string): string {
  return `arn:aws:iam:::user/${uid}`;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const hmac = (key: string | Uint8Array, s: string) => createHmac("sha256", key).update(s).digest();

/** One SigV4-signed IAM API call (form-encoded POST) to RGW; throws on a non-2xx answer. */
export async function rgwIamCall(
  rgw: RgwEnv,
  signer: RgwUser,
  params: Record<string, string>,
): Promise<string> {
  const url = new URL(rgw.endpoint);
  const body = new URLSearchParams({ ...params, Version: "2010-05-08" }).toString();
  const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
  const day = now.slice(0, 8);
  const scope = `${day}/${rgw.region}/iam/aws4_request`;
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    host: url.host,
    "x-amz-content-sha256": sha256(body),
    "x-amz-date": now,
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    "POST",
    "/",
    "",
    ...names.map((n) => `${n}:${headers[n]}`),
    "",
    names.join(";"),
    headers["x-amz-content-sha256"],
  ].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", now, scope, sha256(canonical)].join("\n");
  let key: Uint8Array = hmac(`AWS4${signer.secretAccessKey}`, day);
  for (const part of [rgw.region, "iam", "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${signer.accessKeyId}/${scope}, ` +
    `SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const res = await fetch(new URL("/", url), {
    method: "POST",
    headers,
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`IAM ${params.Action}: HTTP ${res.status}: ${text}`);
  return text;
}

/** Sets (replaces) a user's inline policy. */
export async function putUserPolicy(
  rgw: RgwEnv,
  signer: RgwUser,
  uid: string,
  name: string,
  policy: unknown,
): Promise<void> {
  await rgwIamCall(rgw, signer, {
    Action: "PutUserPolicy",
    UserName: uid,
    PolicyName: name,
    PolicyDocument: JSON.stringify(policy),
  });
}

/** An S3 client signing as an RGW user (path style; checksums as rgw_env.ts explains). */
export function rgwUserClient(rgw: RgwEnv, user: RgwUser): S3Client {
  return new S3Client({
    endpoint: rgw.endpoint,
    region: rgw.region,
    forcePathStyle: true,
    credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** 200 when the request succeeds, else its HTTP status (what a policy test compares). */
export async function httpStatus(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    const code = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (code === undefined) throw err;
    return code;
  }
}
