/** The lifecycle rules every backup bucket gets, a pure function of [infra]. */
import type { S3BucketLifecycleConfigurationRule } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js";
import type { Config } from "../lib/config/config.ts";

/** Transition only objects larger than this: Standard-IA bills smaller objects as 128 KiB. */
export const MIN_TRANSITION_SIZE = 131072;
/** Incomplete multipart uploads are billed storage until aborted. */
export const ABORT_MULTIPART_DAYS = 7;

/** The lifecycle rules for every bucket. Current versions never expire. */
export function lifecycleRules(config: Config): S3BucketLifecycleConfigurationRule[] {
  const infra = config.infra;
  // Standard-IA bills objects smaller than 128 KiB as 128 KiB, and each Glacier Flexible
  // Retrieval object adds 40 KiB of billed overhead (8 KiB at Standard, 32 KiB at Glacier
  // rates) plus a per-request transition fee: small files are cheaper left in Standard.
  const largeOnly = [{ objectSizeGreaterThan: MIN_TRANSITION_SIZE }];
  const rules: S3BucketLifecycleConfigurationRule[] = [{
    id: "tier-current-versions",
    status: "Enabled",
    filter: largeOnly,
    transition: [
      { days: infra.transitionToIaDays, storageClass: "STANDARD_IA" },
      { days: infra.transitionToGlacierDays, storageClass: "GLACIER" },
    ],
  }];
  const noncurrent = [
    { noncurrentDays: infra.noncurrentTransitionToIaDays, storageClass: "STANDARD_IA" },
    { noncurrentDays: infra.noncurrentTransitionToGlacierDays, storageClass: "GLACIER" },
  ].filter((t) => t.noncurrentDays > 0);
  if (noncurrent.length > 0) {
    // A nightly dump keeps one noncurrent copy per night: these hold most of its bytes.
    rules.push({
      id: "tier-noncurrent-versions",
      status: "Enabled",
      filter: largeOnly,
      noncurrentVersionTransition: noncurrent,
    });
  }
  rules.push(
    {
      // The only expiry: older versions of changed or deleted files, after the retention period
      // (and, with newer_noncurrent_versions, only beyond that many newer noncurrent versions).
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: [{}],
      noncurrentVersionExpiration: [{
        noncurrentDays: infra.noncurrentVersionExpirationDays,
        newerNoncurrentVersions: infra.newerNoncurrentVersions,
      }],
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: ABORT_MULTIPART_DAYS }],
    },
    {
      // Separate rule: AWS rejects expired_object_delete_marker together with days in one block.
      id: "remove-expired-delete-markers",
      status: "Enabled",
      filter: [{}],
      expiration: [{ expiredObjectDeleteMarker: true }],
    },
  );
  return rules;
}
