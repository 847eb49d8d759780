/**
 * The stack's IAM and bucket policies as plain JSON documents, pure functions of the Config.
 * The stack renders exactly these (with Terraform references for the partition, account and
 * topic), and a CLI command can print them for a setup without Terraform: no cdktf import here.
 */
import type { Config } from "../lib/config/config.ts";

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: "*";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** What a backup host may do on its buckets: list, read the versioning status. */
export const BUCKET_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions"];
export const BUCKET_READ_ACTIONS = ["s3:GetBucketVersioning"];
/**
 * On objects: write, read, restore from Glacier, abort its own interrupted multipart uploads
 * (parts are billed until aborted; an abort cannot touch a finished version). Never delete.
 */
export const OBJECT_ACTIONS = [
  "s3:PutObject",
  "s3:GetObject",
  "s3:GetObjectVersion",
  "s3:RestoreObject",
  "s3:AbortMultipartUpload",
];
export const TOPIC_ACTIONS = ["sns:Publish"];
/** Only with SSE-KMS: S3 calls KMS on the caller's behalf to encrypt and decrypt. */
export const KMS_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"];
/** What destroys history; with break_glass_role, denied to every other principal. */
export const PROTECTED_ACTIONS = [
  "s3:DeleteObjectVersion",
  "s3:PutBucketVersioning",
  "s3:PutLifecycleConfiguration",
  "s3:PutBucketPolicy",
  "s3:DeleteBucketPolicy",
  "s3:PutBucketObjectLockConfiguration",
  "s3:BypassGovernanceRetention",
];
/** Present on a request exactly when it carries a customer-provided key (SSE-C). */
export const SSE_C_KEY = "s3:x-amz-server-side-encryption-customer-algorithm";

/** The ARN parts a policy needs: literal values, or Terraform references inside the stack. */
export interface PolicyArns {
  partition: string;
  /** The report topic; no Publish statement without one. */
  topicArn?: string;
  /** Only the bucket policy needs it (to name the break-glass role). */
  accountId?: string;
}

/** The AWS partition of a region (aws-cn, aws-us-gov or aws). */
export function partitionOf(region: string | undefined): string {
  if (region?.startsWith("cn-")) return "aws-cn";
  if (region?.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

export function bucketArn(partition: string, bucket: string): string {
  return `arn:${partition}:s3:::${bucket}`;
}

/** kms:ViaService value: the key may be used only through S3 in the key's region. */
export function kmsViaService(kmsKeyArn: string): string {
  const [, partition, , region] = kmsKeyArn.split(":");
  return `s3.${region}.amazonaws.com${partition === "aws-cn" ? ".cn" : ""}`;
}

/**
 * The backup host's identity policy. Without `host`: the whole of every bucket. With `host`
 * (a fleet, [infra] hosts): listing only under `<host>/` and objects only under `<host>/*`.
 */
export function hostPolicy(
  config: Config,
  host: string | undefined,
  arns: PolicyArns,
): PolicyDocument {
  const buckets = config.categories.map((c) => bucketArn(arns.partition, c.bucket));
  const objects = buckets.map((b) => host === undefined ? `${b}/*` : `${b}/${host}/*`);
  const list: PolicyStatement = {
    Sid: "ListBackupBuckets",
    Effect: "Allow",
    Action: BUCKET_ACTIONS,
    Resource: buckets,
  };
  // "<host>/*" also matches "<host>/" itself, never "<host>x/": the tool lists "<prefix>/".
  if (host !== undefined) list.Condition = { StringLike: { "s3:prefix": [`${host}/*`] } };
  const statements: PolicyStatement[] = [
    list,
    // Apart from the listing: a prefix condition would refuse it (it has no prefix).
    {
      Sid: "ReadBucketVersioning",
      Effect: "Allow",
      Action: BUCKET_READ_ACTIONS,
      Resource: buckets,
    },
    { Sid: "ReadWriteBackupObjects", Effect: "Allow", Action: OBJECT_ACTIONS, Resource: objects },
  ];
  if (arns.topicArn !== undefined) {
    statements.push({
      Sid: "PublishReports",
      Effect: "Allow",
      Action: TOPIC_ACTIONS,
      Resource: [arns.topicArn],
    });
  }
  const kms = config.infra.kmsKeyArn;
  if (kms !== undefined) {
    statements.push({
      Sid: "UseBucketKmsKey",
      Effect: "Allow",
      Action: KMS_ACTIONS,
      Resource: [kms],
      Condition: { StringEquals: { "kms:ViaService": kmsViaService(kms) } },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** ARN patterns of the break-glass role as aws:PrincipalArn shows it (a name may sit on a path). */
export function breakGlassArns(role: string, partition: string, accountId: string): string[] {
  if (role.startsWith("arn:")) return [role];
  return [
    `arn:${partition}:iam::${accountId}:role/${role}`,
    `arn:${partition}:iam::${accountId}:role/*/${role}`,
  ];
}

/** A bucket's resource policy: TLS only, plus the optional ransomware guards of [infra]. */
export function bucketPolicy(config: Config, bucket: string, arns: PolicyArns): PolicyDocument {
  const arn = bucketArn(arns.partition, bucket);
  const statements: PolicyStatement[] = [{
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: ["s3:*"],
    Resource: [arn, `${arn}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  }];
  const role = config.infra.breakGlassRole;
  if (role !== undefined) {
    if (arns.accountId === undefined && !role.startsWith("arn:")) {
      throw new Error("bucketPolicy: the account id is needed to name the break-glass role");
    }
    statements.push({
      Sid: "DenyHistoryChangesExceptBreakGlass",
      Effect: "Deny",
      Principal: "*",
      Action: PROTECTED_ACTIONS,
      Resource: [arn, `${arn}/*`],
      Condition: {
        ArnNotLike: {
          "aws:PrincipalArn": breakGlassArns(role, arns.partition, arns.accountId ?? ""),
        },
      },
    });
  }
  if (config.infra.denySseC) {
    statements.push({
      Sid: "DenySseCUploads",
      Effect: "Deny",
      Principal: "*",
      Action: ["s3:PutObject"],
      Resource: [`${arn}/*`],
      Condition: { Null: { [SSE_C_KEY]: "false" } },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}
