/**
 * The s3backup AWS stack (issue 4) as a pure function of the s3backup.toml Config: buckets with
 * their protections and lifecycle, the SNS report topic, and the backup host's least-privilege
 * IAM identity. Construction only; synth.ts writes the Terraform JSON.
 */
import {
  Fn,
  LocalBackend,
  S3Backend,
  TerraformOutput,
  TerraformStack,
  TerraformVariable,
  Token,
} from "cdktf";
import type { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity/index.js";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition/index.js";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket/index.js";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning/index.js";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy/index.js";
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration/index.js";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic/index.js";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy/index.js";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription/index.js";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy/index.js";
import { IamUser } from "@cdktf/provider-aws/lib/iam-user/index.js";
import { IamUserPolicyAttachment } from "@cdktf/provider-aws/lib/iam-user-policy-attachment/index.js";
import { IamAccessKey } from "@cdktf/provider-aws/lib/iam-access-key/index.js";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js";
import type { Config } from "../lib/config/config.ts";
import { ConfigError } from "../lib/core/errors.ts";

/** Transition only objects larger than this: Standard-IA bills smaller objects as 128 KiB. */
export const MIN_TRANSITION_SIZE = 131072;
/** Incomplete multipart uploads are billed storage until aborted. */
export const ABORT_MULTIPART_DAYS = 7;

/** What the backup host may do: write, read, list and restore; never delete. */
export const BUCKET_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions"];
export const OBJECT_ACTIONS = [
  "s3:PutObject",
  "s3:GetObject",
  "s3:GetObjectVersion",
  "s3:RestoreObject",
];
export const TOPIC_ACTIONS = ["sns:Publish"];
/** Only with SSE-KMS: S3 calls KMS on the caller's behalf to encrypt and decrypt. */
export const KMS_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"];

export interface StackOptions {
  /** Terraform state file for the local backend; keep it outside the synth output folder. */
  localStatePath: string;
}

export interface InfraNames {
  /** Common prefix of the bucket names, used to name the other resources. */
  base: string;
  topicName: string;
  policyName: string;
  userName: string;
}

/** Names of the non-bucket resources, derived from the config. Pure. */
export function infraNames(config: Config): InfraNames {
  const buckets = config.categories.map((c) => c.bucket);
  let prefix = buckets[0];
  for (const b of buckets) {
    while (!b.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  let base = prefix.replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  if (base.length < 3) base = "s3backup";
  // An existing topic named in [aws].sns_topic_arn keeps its name, so the runtime config matches.
  const fromArn = config.aws.snsTopicArn?.split(":").at(-1);
  return {
    base,
    topicName: fromArn && /^[A-Za-z0-9_-]{1,256}$/.test(fromArn) ? fromArn : `${base}-reports`,
    policyName: `${base}-backup-host`,
    userName: config.infra.iamUserName ?? `${base}-host`,
  };
}

/** Terraform-safe construct id for a category. */
function tfId(prefix: string, category: string): string {
  return `${prefix}_${category.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** The lifecycle rules for every bucket. Current versions never expire. */
export function lifecycleRules(config: Config): S3BucketLifecycleConfigurationRule[] {
  const infra = config.infra;
  return [
    {
      id: "tier-current-versions",
      status: "Enabled",
      // Standard-IA bills objects smaller than 128 KiB as 128 KiB, and each Glacier Flexible
      // Retrieval object adds 40 KiB of billed overhead (8 KiB at Standard, 32 KiB at Glacier
      // rates) plus a per-request transition fee: small files are cheaper left in Standard.
      filter: [{ objectSizeGreaterThan: MIN_TRANSITION_SIZE }],
      transition: [
        { days: infra.transitionToIaDays, storageClass: "STANDARD_IA" },
        { days: infra.transitionToGlacierDays, storageClass: "GLACIER" },
      ],
    },
    {
      // The only expiry: older versions of changed or deleted files, after the retention period.
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: [{}],
      noncurrentVersionExpiration: [{ noncurrentDays: infra.noncurrentVersionExpirationDays }],
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: ABORT_MULTIPART_DAYS }],
    },
    {
      // Separate rule: AWS rejects expired_object_delete_marker together with days in one block.
      id: "remove-expired-delete-markers",
      status: "Enabled",
      filter: [{}],
      expiration: [{ expiredObjectDeleteMarker: true }],
    },
  ];
}

export interface S3BackupStackResources {
  buckets: Record<string, S3Bucket>;
  topic: SnsTopic;
  policy: IamPolicy;
  user?: IamUser;
  accessKey?: IamAccessKey;
  roleAttachment?: IamRolePolicyAttachment;
}

/** The whole stack. Throws ConfigError for contradictory infra settings. */
export class S3BackupStack extends TerraformStack {
  readonly resources: S3BackupStackResources;

  constructor(scope: Construct, id: string, config: Config, opts: StackOptions) {
    super(scope, id);
    const infra = config.infra;
    if (infra.attachToRole !== undefined && infra.createAccessKey) {
      throw new ConfigError(
        `'infra.create_access_key' and 'infra.attach_to_role' exclude each other: ` +
          `a role gets temporary credentials, an access key belongs to an IAM user`,
      );
    }
    if (infra.attachToRole !== undefined && infra.iamUserName !== undefined) {
      throw new ConfigError(`'infra.iam_user_name' and 'infra.attach_to_role' exclude each other`);
    }
    const names = infraNames(config);

    if (infra.stateBucket !== undefined) {
      const backend = new S3Backend(this, {
        bucket: infra.stateBucket,
        key: infra.stateKey ?? `${names.base}/s3backup-infra.tfstate`,
        region: config.aws.region,
        profile: config.aws.profile,
        encrypt: true,
      });
      // S3-native state locking (Terraform >= 1.10, OpenTofu >= 1.10); no DynamoDB table needed.
      backend.addOverride("use_lockfile", true);
    } else {
      new LocalBackend(this, { path: opts.localStatePath });
    }

    new AwsProvider(this, "aws", {
      region: config.aws.region,
      profile: config.aws.profile,
      defaultTags: [{ tags: { "managed-by": "s3backup-infra", "s3backup-stack": names.base } }],
    });
    const partition = new DataAwsPartition(this, "partition");
    const caller = new DataAwsCallerIdentity(this, "caller");

    const alertEmail = new TerraformVariable(this, "alert_email", {
      type: "string",
      default: infra.alertEmail ?? "",
      description: "Address that receives backup reports (empty: no subscription). " +
        "Default: infra.alert_email in s3backup.toml.",
      validation: [{
        condition:
          `\${var.alert_email == "" || can(regex("^[^@\\\\s]+@[^@\\\\s]+$", var.alert_email))}`,
        errorMessage: "alert_email must be an email address or empty.",
      }],
    });

    const buckets: Record<string, S3Bucket> = {};
    const rules = lifecycleRules(config);
    for (const category of config.categories) {
      const bucket = new S3Bucket(this, tfId("bucket", category.name), {
        bucket: category.bucket,
        // object_lock_enabled is deliberately not set here: it forces a new bucket when changed.
        // The object lock configuration below enables Object Lock on the versioned bucket instead,
        // which AWS allows for new and existing buckets since November 2023.
        tags: { "s3backup-category": category.name },
      });
      buckets[category.name] = bucket;

      const versioning = new S3BucketVersioningA(this, tfId("versioning", category.name), {
        bucket: bucket.id,
        versioningConfiguration: { status: "Enabled" },
      });
      new S3BucketServerSideEncryptionConfigurationA(this, tfId("encryption", category.name), {
        bucket: bucket.id,
        rule: [{
          applyServerSideEncryptionByDefault: infra.kmsKeyArn === undefined
            ? { sseAlgorithm: "AES256" }
            : { sseAlgorithm: "aws:kms", kmsMasterKeyId: infra.kmsKeyArn },
          bucketKeyEnabled: infra.kmsKeyArn !== undefined ? true : undefined,
        }],
      });
      const pab = new S3BucketPublicAccessBlock(this, tfId("public_access_block", category.name), {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      new S3BucketOwnershipControls(this, tfId("ownership", category.name), {
        bucket: bucket.id,
        rule: { objectOwnership: "BucketOwnerEnforced" },
      });
      const tlsOnly = new DataAwsIamPolicyDocument(this, tfId("tls_only", category.name), {
        statement: [{
          sid: "DenyInsecureTransport",
          effect: "Deny",
          principals: [{ type: "*", identifiers: ["*"] }],
          actions: ["s3:*"],
          resources: [bucket.arn, `${bucket.arn}/*`],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        }],
      });
      new S3BucketPolicy(this, tfId("policy", category.name), {
        bucket: bucket.id,
        policy: tlsOnly.json,
        // S3 rejects concurrent bucket-level configuration changes.
        dependsOn: [pab],
      });
      new S3BucketLifecycleConfiguration(this, tfId("lifecycle", category.name), {
        bucket: bucket.id,
        rule: rules,
        // Rules on noncurrent versions need versioning in place first.
        dependsOn: [versioning],
      });
      if (infra.objectLockDays > 0) {
        new S3BucketObjectLockConfigurationA(this, tfId("object_lock", category.name), {
          bucket: bucket.id,
          objectLockEnabled: "Enabled",
          rule: { defaultRetention: { mode: "GOVERNANCE", days: infra.objectLockDays } },
          dependsOn: [
            this.node.findChild(tfId("versioning", category.name)) as S3BucketVersioningA,
          ],
        });
      }
    }

    const topic = new SnsTopic(this, "reports", { name: names.topicName });
    const topicPolicy = new DataAwsIamPolicyDocument(this, "reports_policy", {
      statement: [
        {
          sid: "OwnerAccountPublish",
          effect: "Allow",
          principals: [{
            type: "AWS",
            identifiers: [`arn:${partition.partition}:iam::${caller.accountId}:root`],
          }],
          actions: ["sns:Publish"],
          resources: [topic.arn],
        },
        {
          sid: "DenyInsecureTransport",
          effect: "Deny",
          principals: [{ type: "*", identifiers: ["*"] }],
          actions: ["sns:Publish"],
          resources: [topic.arn],
          condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
        },
      ],
    });
    new SnsTopicPolicy(this, "reports_topic_policy", { arn: topic.arn, policy: topicPolicy.json });
    new SnsTopicSubscription(this, "reports_email", {
      // min(1, length(email)): 0 without an address, else 1.
      count: Token.asNumber(Fn.min([1, Fn.lengthOf(alertEmail.stringValue)])),
      topicArn: topic.arn,
      protocol: "email",
      endpoint: alertEmail.stringValue,
    });

    const bucketList = config.categories.map((c) => buckets[c.name]);
    const statements: DataAwsIamPolicyDocumentStatement[] = [
      {
        sid: "ListBackupBuckets",
        effect: "Allow",
        actions: BUCKET_ACTIONS,
        resources: bucketList.map((b) => b.arn),
      },
      {
        sid: "ReadWriteBackupObjects",
        effect: "Allow",
        actions: OBJECT_ACTIONS,
        resources: bucketList.map((b) => `${b.arn}/*`),
      },
      { sid: "PublishReports", effect: "Allow", actions: TOPIC_ACTIONS, resources: [topic.arn] },
    ];
    if (infra.kmsKeyArn !== undefined) {
      statements.push({
        sid: "UseBucketKmsKey",
        effect: "Allow",
        actions: KMS_ACTIONS,
        resources: [infra.kmsKeyArn],
      });
    }
    const hostPolicyDoc = new DataAwsIamPolicyDocument(this, "backup_host_policy_document", {
      statement: statements,
    });
    const policy = new IamPolicy(this, "backup_host", {
      name: names.policyName,
      description: "s3backup host: write, read, list and restore the backup buckets; " +
        "publish reports. No delete.",
      policy: hostPolicyDoc.json,
    });

    const resources: S3BackupStackResources = { buckets, topic, policy };
    if (infra.attachToRole !== undefined) {
      resources.roleAttachment = new IamRolePolicyAttachment(this, "backup_host_role", {
        role: infra.attachToRole,
        policyArn: policy.arn,
      });
    } else {
      const user = new IamUser(this, "backup_host_user", { name: names.userName });
      new IamUserPolicyAttachment(this, "backup_host_user_policy", {
        user: user.name,
        policyArn: policy.arn,
      });
      resources.user = user;
      new TerraformOutput(this, "iam_user_name", { value: user.name });
      if (infra.createAccessKey) {
        const key = new IamAccessKey(this, "backup_host_key", { user: user.name });
        resources.accessKey = key;
        new TerraformOutput(this, "access_key_id", { value: key.id, sensitive: true });
        new TerraformOutput(this, "secret_access_key", { value: key.secret, sensitive: true });
      }
    }

    new TerraformOutput(this, "buckets", {
      description: "Bucket name per category",
      value: Object.fromEntries(config.categories.map((c) => [c.name, buckets[c.name].bucket])),
    });
    new TerraformOutput(this, "topic_arn", {
      description: "Put this in s3backup.toml as [aws] sns_topic_arn",
      value: topic.arn,
    });
    new TerraformOutput(this, "policy_arn", { value: policy.arn });
    this.resources = resources;
  }
}
