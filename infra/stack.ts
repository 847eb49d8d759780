/**
 * The s3backup AWS stack as a pure function of the s3backup.toml Config: one BackupBucket per
 * category, the ReportTopic, and a HostIdentity (one, or one per [infra] hosts entry).
 * Construction only; synth.ts writes the Terraform JSON. Contradictory settings are refused
 * by the config (lib/config/infra.ts), not here.
 */
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity/index.js";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition/index.js";
import type { Config } from "../lib/config/config.ts";
import { BackupBucket, bucketKey, retiredBucketBlocks } from "./backup_bucket.ts";
import { HostIdentity } from "./host_identity.ts";
import { lifecycleRules } from "./lifecycle.ts";
import { bucketPolicy, type PolicyArns } from "./policy.ts";
import { ReportTopic } from "./report_topic.ts";

export {
  BUCKET_ACTIONS,
  BUCKET_READ_ACTIONS,
  KMS_ACTIONS,
  OBJECT_ACTIONS,
  TOPIC_ACTIONS,
} from "./policy.ts";
export { ABORT_MULTIPART_DAYS, lifecycleRules, MIN_TRANSITION_SIZE } from "./lifecycle.ts";

export interface StackOptions {
  /** Local backend state file, relative to the stack folder (terraform runs there). */
  localStatePath: string;
}

export interface InfraNames {
  /** Common prefix of the bucket names, used to name the other resources. */
  base: string;
  topicName: string;
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
  };
}

export class S3BackupStack extends TerraformStack {
  readonly buckets: Record<string, BackupBucket> = {};
  readonly topic: ReportTopic;
  /** Keyed by host; "" for the single identity of a one-host stack. */
  readonly identities: Record<string, HostIdentity> = {};

  constructor(scope: Construct, id: string, config: Config, opts: StackOptions) {
    super(scope, id);
    const infra = config.infra;
    const names = infraNames(config);
    this.backend(config, names.base, opts);

    new AwsProvider(this, "aws", {
      region: config.aws.region,
      profile: config.aws.profile,
      defaultTags: [{ tags: { "managed-by": "s3backup-infra", "s3backup-stack": names.base } }],
    });
    const partition = new DataAwsPartition(this, "partition").partition;
    const accountId = new DataAwsCallerIdentity(this, "caller").accountId;

    this.topic = new ReportTopic(this, {
      name: names.topicName,
      alertEmail: infra.alertEmail,
      partition,
      accountId,
    });
    const arns: PolicyArns = { partition, accountId, topicArn: this.topic.topic.arn };

    const rules = lifecycleRules(config);
    const keys = new Set(config.categories.map((c) => bucketKey(c.bucket)));
    for (const category of config.categories) {
      this.buckets[category.name] = new BackupBucket(this, {
        category: category.name,
        bucket: category.bucket,
        infra,
        rules,
        policy: JSON.stringify(bucketPolicy(config, category.bucket, arns)),
        moveFromCategoryId: !keys.has(category.name),
      });
    }
    if (infra.retiredBuckets.length > 0) {
      this.addOverride("removed", retiredBucketBlocks(infra.retiredBuckets));
    }

    const hosts = infra.hosts.length > 0 ? infra.hosts : [undefined];
    for (const host of hosts) {
      this.identities[host ?? ""] = new HostIdentity(this, {
        config,
        host,
        base: names.base,
        arns,
      });
    }
    this.outputs(config);
  }

  private backend(config: Config, base: string, opts: StackOptions): void {
    const infra = config.infra;
    if (infra.stateBucket === undefined) {
      new LocalBackend(this, { path: opts.localStatePath });
      return;
    }
    const backend = new S3Backend(this, {
      bucket: infra.stateBucket,
      key: infra.stateKey ?? `${base}/s3backup-infra.tfstate`,
      region: config.aws.region,
      profile: config.aws.profile,
      encrypt: true,
    });
    // S3-native state locking (Terraform >= 1.10, OpenTofu >= 1.10); no DynamoDB table needed.
    backend.addOverride("use_lockfile", true);
  }

  private outputs(config: Config): void {
    new TerraformOutput(this, "buckets", {
      description: "Bucket name per category",
      value: Object.fromEntries(
        config.categories.map((c) => [c.name, this.buckets[c.name].bucket.bucket]),
      ),
    });
    new TerraformOutput(this, "topic_arn", {
      description: "Put this in s3backup.toml as [aws] sns_topic_arn",
      value: this.topic.topic.arn,
    });
    const single = this.identities[""];
    if (single !== undefined) {
      new TerraformOutput(this, "policy_arn", { value: single.policy.arn });
      if (single.user) new TerraformOutput(this, "iam_user_name", { value: single.user.name });
      if (single.accessKey) {
        new TerraformOutput(this, "access_key_id", { value: single.accessKey.id, sensitive: true });
        new TerraformOutput(this, "secret_access_key", {
          value: single.accessKey.secret,
          sensitive: true,
        });
      }
      return;
    }
    // A fleet: one map per attribute, keyed by host.
    const fleet = Object.entries(this.identities);
    const map = <T>(pick: (i: HostIdentity) => T | undefined) =>
      Object.fromEntries(fleet.flatMap(([h, i]) => pick(i) === undefined ? [] : [[h, pick(i)]]));
    new TerraformOutput(this, "policy_arns", { value: map((i) => i.policy.arn) });
    if (config.infra.attachToRole === undefined) {
      new TerraformOutput(this, "iam_user_names", { value: map((i) => i.user?.name) });
    }
    if (config.infra.createAccessKey) {
      new TerraformOutput(this, "access_key_ids", {
        value: map((i) => i.accessKey?.id),
        sensitive: true,
      });
      new TerraformOutput(this, "secret_access_keys", {
        value: map((i) => i.accessKey?.secret),
        sensitive: true,
      });
    }
  }
}
