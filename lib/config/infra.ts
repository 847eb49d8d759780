/**
 * The [infra] table of s3backup.toml, read only by the CDKTF stack in infra/ (kept beside
 * config.ts so that its keys, defaults and cross-key rules live in one place, outside the stack).
 */
import { ConfigError } from "../core/errors.ts";
import * as v from "valibot";
import type { Category } from "../core/types.ts";
import { bool, int, oneOf, optionalTable, strList, text } from "./schema.ts";
import { isValidBucketName } from "./buckets.ts";

/** Settings only the CDKTF stack in infra/ reads. */
export interface InfraConfig {
  alertEmail?: string;
  transitionToIaDays: number;
  transitionToGlacierDays: number;
  noncurrentVersionExpirationDays: number;
  objectLockDays: number;
  kmsKeyArn?: string;
  iamUserName?: string;
  createAccessKey: boolean;
  attachToRole?: string;
  stateBucket?: string;
  stateKey?: string;
  /** Fleet: one identity per host, confined to the `<host>/` key prefix. Empty: one identity. */
  hosts: string[];
  objectLockMode: "GOVERNANCE" | "COMPLIANCE";
  /** Bucket policy denies history-destroying actions to every principal but this role. */
  breakGlassRole?: string;
  denySseC: boolean;
  /** 0: off. Defaults apply only where a version would stay the class's minimum duration. */
  noncurrentTransitionToIaDays: number;
  noncurrentTransitionToGlacierDays: number;
  newerNoncurrentVersions?: number;
  /** Buckets the stack stops managing (Terraform `removed`, nothing destroyed). */
  retiredBuckets: string[];
}

/** The keys of [infra], their types, ranges and defaults (the tiers' defaults depend on expiry). */
export const INFRA_TABLE = optionalTable({
  alert_email: v.optional(text()),
  transition_to_ia_days: v.optional(int(30, 36500), 30),
  transition_to_glacier_days: v.optional(int(1, 36500), 60),
  noncurrent_version_expiration_days: v.optional(int(1, 36500), 365),
  object_lock_days: v.optional(int(0, 36500), 0),
  kms_key_arn: v.optional(text()),
  iam_user_name: v.optional(text()),
  create_access_key: v.optional(bool(), false),
  attach_to_role: v.optional(text()),
  state_bucket: v.optional(text()),
  state_key: v.optional(text()),
  hosts: v.optional(strList(), []),
  object_lock_mode: v.optional(oneOf(["GOVERNANCE", "COMPLIANCE"] as const)),
  break_glass_role: v.optional(text()),
  deny_sse_c: v.optional(bool(), false),
  noncurrent_transition_to_ia_days: v.optional(int(0, 36500)),
  noncurrent_transition_to_glacier_days: v.optional(int(0, 36500)),
  newer_noncurrent_versions: v.optional(int(1, 100)),
  retired_buckets: v.optional(strList(), []),
});

type InfraTable = v.InferOutput<typeof INFRA_TABLE>;

/** A KMS key ARN (IAM and S3 need the key, not an alias; KMS checks the key ARN). */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/[A-Za-z0-9-]+$/;
/** A host is its key_prefix and part of Terraform ids and IAM names: no dots, no slashes. */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const ROLE =
  /^([\w+=,.@-]{1,64}|arn:aws[a-z-]*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64})$/;
/** Minimum storage durations billed by Standard-IA and Glacier Flexible Retrieval, in days. */
const MIN_DAYS = { ia: 30, glacier: 90 };

/** The [infra] table (read only by infra/); mutually exclusive settings are refused here. */
/** The [infra] table (read only by infra/) with the rules between its keys checked here. */
export function infraFromToml(
  t: InfraTable,
  region: string | undefined,
  categories: Category[],
): InfraConfig {
  const w = "infra.";
  const ia = t.transition_to_ia_days;
  const glacier = t.transition_to_glacier_days;
  if (glacier < ia + 30) {
    throw new ConfigError(
      `'infra.transition_to_glacier_days' must be at least 30 days after transition_to_ia_days`,
    );
  }
  const expiry = t.noncurrent_version_expiration_days;
  // A default tier applies only where a version stays its minimum billed duration; a set one
  // must come before the expiry.
  const tier = (
    key: string,
    set: number | undefined,
    min: number,
    dflt: number,
    minStay: number,
  ) => {
    if (set === undefined) return dflt + minStay <= expiry ? dflt : 0;
    if (set !== 0 && (set < min || set >= expiry)) {
      throw new ConfigError(
        `'${w}${key}' must be 0 (off) or from ${min} to noncurrent_version_expiration_days - 1 ` +
          `(${expiry - 1}), got ${set}`,
      );
    }
    return set;
  };
  const ncIa = tier(
    "noncurrent_transition_to_ia_days",
    t.noncurrent_transition_to_ia_days,
    30,
    30,
    MIN_DAYS.ia,
  );
  const ncGlacier = tier(
    "noncurrent_transition_to_glacier_days",
    t.noncurrent_transition_to_glacier_days,
    1,
    Math.max(60, ncIa + 30),
    MIN_DAYS.glacier,
  );
  if (ncIa > 0 && ncGlacier > 0 && ncGlacier < ncIa + 30) {
    throw new ConfigError(
      `'${w}noncurrent_transition_to_glacier_days' must be at least 30 days after ` +
        `noncurrent_transition_to_ia_days (${ncIa})`,
    );
  }
  const kmsKeyArn = t.kms_key_arn;
  const kmsRegion = kmsKeyArn === undefined ? undefined : KMS_KEY_ARN.exec(kmsKeyArn)?.[1];
  if (kmsKeyArn !== undefined && kmsRegion === undefined) {
    throw new ConfigError(
      `'${w}kms_key_arn' = '${kmsKeyArn}' must be a key ARN ` +
        `(arn:aws:kms:<region>:<account>:key/<key-id>), not an alias or a key id`,
    );
  }
  if (kmsRegion !== undefined && region !== undefined && kmsRegion !== region) {
    throw new ConfigError(`'${w}kms_key_arn' is in ${kmsRegion}; the buckets are in ${region}`);
  }
  const hosts = t.hosts;
  for (const [i, host] of hosts.entries()) {
    if (!HOST_NAME.test(host)) {
      throw new ConfigError(
        `'${w}hosts' entry '${host}' must be 1-63 letters, digits, '_' or '-' ` +
          `(it is the host's key_prefix)`,
      );
    }
    if (hosts.indexOf(host) !== i) throw new ConfigError(`'${w}hosts' lists '${host}' twice`);
  }
  const { iam_user_name: iamUserName, attach_to_role: attachToRole } = t;
  if (attachToRole !== undefined && t.create_access_key) {
    throw new ConfigError(
      `'infra.create_access_key' and 'infra.attach_to_role' exclude each other: ` +
        `a role gets temporary credentials, an access key belongs to an IAM user`,
    );
  }
  if (attachToRole !== undefined && iamUserName !== undefined) {
    throw new ConfigError(`'infra.iam_user_name' and 'infra.attach_to_role' exclude each other`);
  }
  for (const [key, value] of [["iam_user_name", iamUserName], ["attach_to_role", attachToRole]]) {
    if (value !== undefined && value.includes("{host}") !== hosts.length > 0) {
      throw new ConfigError(
        hosts.length > 0
          ? `'${w}${key}' must contain {host} when infra.hosts is set (one identity per host)`
          : `'${w}${key}' contains {host} but infra.hosts is not set`,
      );
    }
  }
  if (t.object_lock_mode !== undefined && t.object_lock_days === 0) {
    throw new ConfigError(`'${w}object_lock_mode' needs object_lock_days > 0`);
  }
  if (t.break_glass_role !== undefined && !ROLE.test(t.break_glass_role)) {
    throw new ConfigError(
      `'${w}break_glass_role' = '${t.break_glass_role}' must be an IAM role name or role ARN`,
    );
  }
  for (const b of t.retired_buckets) {
    if (!isValidBucketName(b)) {
      throw new ConfigError(`'${w}retired_buckets' entry '${b}' is not a valid S3 bucket name`);
    }
    const user = categories.find((c) => c.bucket === b);
    if (user !== undefined) {
      throw new ConfigError(
        `'${w}retired_buckets' lists '${b}', still the bucket of 'categories.${user.name}'`,
      );
    }
  }
  return {
    alertEmail: t.alert_email,
    transitionToIaDays: ia,
    transitionToGlacierDays: glacier,
    noncurrentVersionExpirationDays: expiry,
    objectLockDays: t.object_lock_days,
    kmsKeyArn,
    iamUserName,
    createAccessKey: t.create_access_key,
    attachToRole,
    stateBucket: t.state_bucket,
    stateKey: t.state_key,
    hosts,
    objectLockMode: t.object_lock_mode ?? "GOVERNANCE",
    breakGlassRole: t.break_glass_role,
    denySseC: t.deny_sse_c,
    noncurrentTransitionToIaDays: ncIa,
    noncurrentTransitionToGlacierDays: ncGlacier,
    newerNoncurrentVersions: t.newer_noncurrent_versions,
    retiredBuckets: t.retired_buckets,
  };
}
