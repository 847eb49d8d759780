/**
 * The [infra] table of s3backup.toml, read only by the CDKTF stack in infra/ (kept beside
 * config.ts so that its keys, defaults and cross-key rules live in one place, outside the stack).
 */
import { ConfigError } from "../core/errors.ts";
import { bool, checkKeys, int, nonEmptyStr, str, strList, type Table } from "./toml_values.ts";
import type { Category } from "../core/types.ts";
import { isValidBucketName } from "./config.ts";

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

const INFRA_KEYS = [
  "alert_email",
  "transition_to_ia_days",
  "transition_to_glacier_days",
  "noncurrent_version_expiration_days",
  "object_lock_days",
  "kms_key_arn",
  "iam_user_name",
  "create_access_key",
  "attach_to_role",
  "state_bucket",
  "state_key",
  "hosts",
  "object_lock_mode",
  "break_glass_role",
  "deny_sse_c",
  "noncurrent_transition_to_ia_days",
  "noncurrent_transition_to_glacier_days",
  "newer_noncurrent_versions",
  "retired_buckets",
];

/** A KMS key ARN (IAM and S3 need the key, not an alias; KMS checks the key ARN). */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/[A-Za-z0-9-]+$/;
/** A host is its key_prefix and part of Terraform ids and IAM names: no dots, no slashes. */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const ROLE =
  /^([\w+=,.@-]{1,64}|arn:aws[a-z-]*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64})$/;
/** Minimum storage durations billed by Standard-IA and Glacier Flexible Retrieval, in days. */
const MIN_DAYS = { ia: 30, glacier: 90 };

/** The [infra] table (read only by infra/); mutually exclusive settings are refused here. */
export function infraFromToml(
  t: Table,
  region: string | undefined,
  categories: Category[],
): InfraConfig {
  const w = "infra.";
  checkKeys(t, INFRA_KEYS, w);
  const ia = int(t, "transition_to_ia_days", w, 30, 36500) ?? 30;
  const glacier = int(t, "transition_to_glacier_days", w, 1, 36500) ?? 60;
  if (glacier < ia + 30) {
    throw new ConfigError(
      `'infra.transition_to_glacier_days' must be at least 30 days after transition_to_ia_days`,
    );
  }
  const expiry = int(t, "noncurrent_version_expiration_days", w, 1, 36500) ?? 365;
  // A default tier applies only where a version stays its minimum billed duration; a set one
  // must come before the expiry.
  const tier = (key: string, min: number, dflt: number, minStay: number): number => {
    const set = int(t, key, w, 0, 36500);
    if (set === undefined) return dflt + minStay <= expiry ? dflt : 0;
    if (set !== 0 && (set < min || set >= expiry)) {
      throw new ConfigError(
        `'${w}${key}' must be 0 (off) or from ${min} to noncurrent_version_expiration_days - 1 ` +
          `(${expiry - 1}), got ${set}`,
      );
    }
    return set;
  };
  const ncIa = tier("noncurrent_transition_to_ia_days", 30, 30, MIN_DAYS.ia);
  const ncGlacier = tier(
    "noncurrent_transition_to_glacier_days",
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
  const kmsKeyArn = nonEmptyStr(t, "kms_key_arn", w);
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
  const hosts = strList(t, "hosts", w) ?? [];
  for (const [i, host] of hosts.entries()) {
    if (!HOST_NAME.test(host)) {
      throw new ConfigError(
        `'${w}hosts' entry '${host}' must be 1-63 letters, digits, '_' or '-' ` +
          `(it is the host's key_prefix)`,
      );
    }
    if (hosts.indexOf(host) !== i) throw new ConfigError(`'${w}hosts' lists '${host}' twice`);
  }
  const iamUserName = nonEmptyStr(t, "iam_user_name", w);
  const attachToRole = nonEmptyStr(t, "attach_to_role", w);
  const createAccessKey = bool(t, "create_access_key", w) ?? false;
  if (attachToRole !== undefined && createAccessKey) {
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
  const objectLockDays = int(t, "object_lock_days", w, 0, 36500) ?? 0;
  const mode = str(t, "object_lock_mode", w);
  if (mode !== undefined && mode !== "GOVERNANCE" && mode !== "COMPLIANCE") {
    throw new ConfigError(`'${w}object_lock_mode' must be GOVERNANCE or COMPLIANCE, got '${mode}'`);
  }
  if (mode !== undefined && objectLockDays === 0) {
    throw new ConfigError(`'${w}object_lock_mode' needs object_lock_days > 0`);
  }
  const breakGlassRole = nonEmptyStr(t, "break_glass_role", w);
  if (breakGlassRole !== undefined && !ROLE.test(breakGlassRole)) {
    throw new ConfigError(
      `'${w}break_glass_role' = '${breakGlassRole}' must be an IAM role name or role ARN`,
    );
  }
  const retiredBuckets = strList(t, "retired_buckets", w) ?? [];
  for (const b of retiredBuckets) {
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
    alertEmail: nonEmptyStr(t, "alert_email", w),
    transitionToIaDays: ia,
    transitionToGlacierDays: glacier,
    noncurrentVersionExpirationDays: expiry,
    objectLockDays,
    kmsKeyArn,
    iamUserName,
    createAccessKey,
    attachToRole,
    stateBucket: nonEmptyStr(t, "state_bucket", w),
    stateKey: nonEmptyStr(t, "state_key", w),
    hosts,
    objectLockMode: (mode ?? "GOVERNANCE") as InfraConfig["objectLockMode"],
    breakGlassRole,
    denySseC: bool(t, "deny_sse_c", w) ?? false,
    noncurrentTransitionToIaDays: ncIa,
    noncurrentTransitionToGlacierDays: ncGlacier,
    newerNoncurrentVersions: int(t, "newer_noncurrent_versions", w, 1, 100),
    retiredBuckets,
  };
}
