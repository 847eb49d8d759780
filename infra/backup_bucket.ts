/**
 * One backup bucket and everything that protects it: versioning, default encryption, public
 * access block, owner-enforced ownership, the bucket policy, the lifecycle and Object Lock.
 *
 * Resource ids are keyed by the bucket name, so renaming a category changes nothing in the
 * plan; stacks applied when ids were keyed by category name move over with `moved` blocks.
 * The resources that hold the protections refuse `terraform destroy` (prevent_destroy).
 */
import type { TerraformResource } from "cdktf";
import { Construct } from "constructs";
import type { S3BucketLifecycleConfigurationRule } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket/index.js";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning/index.js";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy/index.js";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration/index.js";
import type { InfraConfig } from "../lib/config/config.ts";

/** Per-bucket resource types and the prefix of their ids (`<prefix>_<bucket key>`). */
export const BUCKET_RESOURCES = {
  aws_s3_bucket: "bucket",
  aws_s3_bucket_versioning: "versioning",
  aws_s3_bucket_server_side_encryption_configuration: "encryption",
  aws_s3_bucket_public_access_block: "public_access_block",
  aws_s3_bucket_ownership_controls: "ownership",
  aws_s3_bucket_policy: "policy",
  aws_s3_bucket_lifecycle_configuration: "lifecycle",
  aws_s3_bucket_object_lock_configuration: "object_lock",
} as const;

/** The types whose destruction strips a protection (the provider suspends versioning). */
export const PROTECTED_TYPES = [
  "aws_s3_bucket",
  "aws_s3_bucket_versioning",
  "aws_s3_bucket_object_lock_configuration",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_public_access_block",
] as const;

/** A bucket name as a Terraform id: dots (not allowed in ids) become `_`, which bucket names never hold. */
export function bucketKey(bucket: string): string {
  return bucket.replace(/\./g, "_");
}

/** The Terraform address of a bucket's resource of one type. */
export function bucketAddress(type: keyof typeof BUCKET_RESOURCES, bucket: string): string {
  return `${type}.${BUCKET_RESOURCES[type]}_${bucketKey(bucket)}`;
}

export interface BackupBucketProps {
  category: string;
  bucket: string;
  infra: InfraConfig;
  rules: S3BucketLifecycleConfigurationRule[];
  /** The bucket policy document, as JSON. */
  policy: string;
  /**
   * Move state from the id this bucket had when ids were keyed by category name. False when
   * that old id is some bucket's new id (a category named like another bucket's key).
   */
  moveFromCategoryId: boolean;
}

export class BackupBucket extends Construct {
  readonly bucket: S3Bucket;

  constructor(scope: Construct, props: BackupBucketProps) {
    super(scope, `bucket-${props.bucket}`);
    const { infra } = props;
    const key = bucketKey(props.bucket);
    const keep = { preventDestroy: true };
    const named = <T extends TerraformResource>(r: T): T => {
      const prefix = BUCKET_RESOURCES[r.terraformResourceType as keyof typeof BUCKET_RESOURCES];
      r.overrideLogicalId(`${prefix}_${key}`);
      if (props.moveFromCategoryId) {
        r.moveFromId(`${r.terraformResourceType}.${prefix}_${props.category}`);
      }
      return r;
    };

    const bucket = named(
      new S3Bucket(this, "bucket", {
        bucket: props.bucket,
        // object_lock_enabled is deliberately not set here: it forces a new bucket when changed.
        // The object lock configuration below enables Object Lock on the versioned bucket
        // instead, which AWS allows for new and existing buckets since November 2023.
        tags: { "s3backup-category": props.category },
        lifecycle: keep,
      }),
    );
    this.bucket = bucket;
    const versioning = named(
      new S3BucketVersioningA(this, "versioning", {
        bucket: bucket.id,
        versioningConfiguration: { status: "Enabled" },
        lifecycle: keep,
      }),
    );
    named(
      new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
        bucket: bucket.id,
        rule: [{
          applyServerSideEncryptionByDefault: infra.kmsKeyArn === undefined
            ? { sseAlgorithm: "AES256" }
            : { sseAlgorithm: "aws:kms", kmsMasterKeyId: infra.kmsKeyArn },
          bucketKeyEnabled: infra.kmsKeyArn !== undefined ? true : undefined,
        }],
      }),
    );
    const pab = named(
      new S3BucketPublicAccessBlock(this, "public_access_block", {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
        lifecycle: keep,
      }),
    );
    named(
      new S3BucketOwnershipControls(this, "ownership", {
        bucket: bucket.id,
        rule: { objectOwnership: "BucketOwnerEnforced" },
      }),
    );
    named(
      new S3BucketPolicy(this, "policy", {
        bucket: bucket.id,
        policy: props.policy,
        // S3 rejects concurrent bucket-level configuration changes.
        dependsOn: [pab],
        lifecycle: keep,
      }),
    );
    named(
      new S3BucketLifecycleConfiguration(this, "lifecycle", {
        bucket: bucket.id,
        rule: props.rules,
        // Rules on noncurrent versions need versioning in place first.
        dependsOn: [versioning],
      }),
    );
    if (infra.objectLockDays > 0) {
      named(
        new S3BucketObjectLockConfigurationA(this, "object_lock", {
          bucket: bucket.id,
          objectLockEnabled: "Enabled",
          rule: { defaultRetention: { mode: infra.objectLockMode, days: infra.objectLockDays } },
          dependsOn: [versioning],
          lifecycle: keep,
        }),
      );
    }
  }
}

/**
 * `removed` blocks for retired buckets: Terraform forgets every resource of the bucket and
 * destroys nothing, so the bucket keeps its versions, versioning and policy.
 */
export function retiredBucketBlocks(buckets: string[]): unknown[] {
  return buckets.flatMap((b) =>
    Object.keys(BUCKET_RESOURCES).map((type) => ({
      from: bucketAddress(type as keyof typeof BUCKET_RESOURCES, b),
      lifecycle: { destroy: false },
    }))
  );
}
