/** The synthesized Terraform JSON, checked resource by resource for every bucket. */
import { join, resolve } from "node:path";
import { parseConfigText } from "../lib/config/config.ts";
import { PROTECTED_TYPES } from "./backup_bucket.ts";
import { ABORT_MULTIPART_DAYS, infraNames, MIN_TRANSITION_SIZE } from "./stack.ts";
import {
  assert,
  assertEquals,
  BASE_TOML,
  forBucket,
  type Json,
  resources,
  sorted,
  synthToml,
} from "./testing.ts";

const PARTITION = "${data.aws_partition.partition.partition}";
const KEYS = [
  "bucket_acme-backup-database",
  "bucket_acme-backup-documents",
  "bucket_acme-backup-photos",
];

function bucketKeys(tf: Json): string[] {
  return Object.keys(resources(tf, "aws_s3_bucket")).sort();
}

function checkBucketProtections(tf: Json, kms?: string): void {
  const keys = bucketKeys(tf);
  assert(keys.length > 0);
  for (const key of keys) {
    const bucket = resources(tf, "aws_s3_bucket")[key];
    assert(!bucket.force_destroy, `${key}: force_destroy`);
    const arn = `arn:${PARTITION}:s3:::${bucket.bucket}`;

    const versioning = forBucket(tf, "aws_s3_bucket_versioning", key);
    assertEquals(versioning.versioning_configuration.status, "Enabled", key);

    const sse = forBucket(tf, "aws_s3_bucket_server_side_encryption_configuration", key);
    assertEquals(sse.rule.length, 1);
    const byDefault = sse.rule[0].apply_server_side_encryption_by_default;
    if (kms === undefined) {
      assertEquals(byDefault, { sse_algorithm: "AES256" }, key);
    } else {
      assertEquals(byDefault, { sse_algorithm: "aws:kms", kms_master_key_id: kms }, key);
      assertEquals(sse.rule[0].bucket_key_enabled, true, key);
    }

    const pab = forBucket(tf, "aws_s3_bucket_public_access_block", key);
    for (
      const flag of [
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
      ]
    ) assertEquals(pab[flag], true, `${key}: ${flag}`);

    const ownership = forBucket(tf, "aws_s3_bucket_ownership_controls", key);
    assertEquals(ownership.rule, { object_ownership: "BucketOwnerEnforced" }, key);

    const policy = JSON.parse(forBucket(tf, "aws_s3_bucket_policy", key).policy);
    const deny = policy.Statement.filter((s: Json) =>
      s.Effect === "Deny" &&
      JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}'
    );
    assertEquals(deny.length, 1, `${key}: TLS-deny statement`);
    assertEquals(deny[0].Action, ["s3:*"]);
    assertEquals(deny[0].Principal, "*");
    assertEquals(deny[0].Resource, [arn, `${arn}/*`]);
  }
}

Deno.test("every bucket is versioned, encrypted, private, owner-enforced and TLS-only", () => {
  const { tf } = synthToml("");
  assertEquals(bucketKeys(tf).map((k) => tf.resource.aws_s3_bucket[k].bucket), [
    "acme-backup-database",
    "acme-backup-documents",
    "acme-backup-photos",
  ]);
  checkBucketProtections(tf);
});

Deno.test("resource ids are keyed by bucket name, so renaming a category changes no id", () => {
  const before = synthToml("").tf;
  const renamed = synthToml(
    BASE_TOML.replace("[categories.documents]", "[categories.docs]"),
    { whole: true },
  ).tf;
  assertEquals(bucketKeys(before), KEYS);
  for (const type of Object.keys(before.resource).filter((t) => t.startsWith("aws_s3_bucket"))) {
    assertEquals(
      Object.keys(resources(renamed, type)).sort(),
      Object.keys(resources(before, type)).sort(),
      type,
    );
  }
  // Dots, which Terraform ids cannot hold, become underscores (bucket names never hold those).
  const dotted = synthToml(
    `source = "."\n[categories.a]\nbucket = "acme.backup.a"\nextensions = [".x"]\n`,
    { whole: true },
  ).tf;
  assertEquals(bucketKeys(dotted), ["bucket_acme_backup_a"]);
});

Deno.test("stacks keyed by category move over: one moved block per bucket resource", () => {
  const { tf } = synthToml(`[infra]\nobject_lock_days = 5\n`);
  const moved: Json[] = tf.moved;
  assertEquals(moved.length, 3 * 8);
  for (const category of ["documents", "photos", "database"]) {
    for (
      const [type, prefix] of [["aws_s3_bucket", "bucket"], ["aws_s3_bucket_policy", "policy"]]
    ) {
      assert(
        moved.some((m) =>
          m.from === `${type}.${prefix}_${category}` &&
          m.to === `${type}.${prefix}_acme-backup-${category}`
        ),
        `${type} of ${category}: ${JSON.stringify(moved)}`,
      );
    }
  }
  // A category named like another bucket's key would move that bucket onto itself: no block.
  const clash = synthToml(
    `source = "."\n[categories.aaa]\nbucket = "bbb"\nextensions = [".x"]\n` +
      `[categories.bbb]\nbucket = "aaa"\nextensions = [".y"]\n`,
    { whole: true },
  ).tf;
  assertEquals(clash.moved, undefined);
});

Deno.test("prevent_destroy on every bucket and its versioning, lock, policy and access block", () => {
  const { tf } = synthToml(`[infra]\nobject_lock_days = 5\n`);
  for (const type of PROTECTED_TYPES) {
    const all = Object.entries(resources(tf, type));
    assertEquals(all.length, 3, type);
    for (const [name, r] of all) assertEquals(r.lifecycle, { prevent_destroy: true }, name);
  }
});

Deno.test("retired_buckets: removed blocks that forget every resource and destroy nothing", () => {
  const { tf } = synthToml(`[infra]\nretired_buckets = ["acme-old.photos"]\n`);
  const removed: Json[] = tf.removed;
  assertEquals(removed.length, 8);
  assert(removed.every((r) => JSON.stringify(r.lifecycle) === '{"destroy":false}'));
  assert(removed.some((r) => r.from === "aws_s3_bucket.bucket_acme-old_photos"));
  assert(removed.some((r) => r.from === "aws_s3_bucket_versioning.versioning_acme-old_photos"));
  assertEquals(synthToml("").tf.removed, undefined);
});

function checkLifecycle(tf: Json, ia: number, glacier: number, noncurrent: number): void {
  for (const key of bucketKeys(tf)) {
    const lifecycle = forBucket(tf, "aws_s3_bucket_lifecycle_configuration", key);
    assertEquals(lifecycle.depends_on, [
      `aws_s3_bucket_versioning.${key.replace("bucket_", "versioning_")}`,
    ]);
    const rules: Json[] = lifecycle.rule;
    for (const rule of rules) assertEquals(rule.status, "Enabled", `${key}/${rule.id}`);

    const tiering = rules.filter((r) => r.transition);
    assertEquals(tiering.length, 1, key);
    assertEquals(tiering[0].filter, [{ object_size_greater_than: MIN_TRANSITION_SIZE }]);
    assertEquals(MIN_TRANSITION_SIZE, 131072);
    assertEquals(tiering[0].transition, [
      { days: ia, storage_class: "STANDARD_IA" },
      { days: glacier, storage_class: "GLACIER" },
    ]);
    const expiring = rules.filter((r) => r.noncurrent_version_expiration);
    assertEquals(expiring.length, 1, key);
    assertEquals(expiring[0].noncurrent_version_expiration, [{ noncurrent_days: noncurrent }]);
    assertEquals(expiring[0].abort_incomplete_multipart_upload, [
      { days_after_initiation: ABORT_MULTIPART_DAYS },
    ]);
    const markers = rules.filter((r) => r.expiration);
    assertEquals(markers.length, 1, key);
    assertEquals(markers[0].expiration, [{ expired_object_delete_marker: true }]);
    // Current versions never expire: no expiration block anywhere carries days or a date.
    for (const rule of rules) {
      for (const exp of rule.expiration ?? []) {
        assertEquals(Object.keys(exp), ["expired_object_delete_marker"], `${key}/${rule.id}`);
      }
    }
  }
}

/** The noncurrent-version transitions of the first bucket, or undefined without that rule. */
function noncurrentTiers(tf: Json): Json {
  const rules: Json[] = forBucket(tf, "aws_s3_bucket_lifecycle_configuration", KEYS[0]).rule;
  const rule = rules.find((r) => r.id === "tier-noncurrent-versions");
  if (rule !== undefined) {
    assertEquals(rule.filter, [{ object_size_greater_than: MIN_TRANSITION_SIZE }]);
  }
  return rule?.noncurrent_version_transition;
}

Deno.test("every bucket's lifecycle tiers large current versions and expires only old ones", () => {
  checkLifecycle(synthToml("").tf, 30, 60, 365);
  const custom = synthToml(`[infra]
transition_to_ia_days = 45
transition_to_glacier_days = 120
noncurrent_version_expiration_days = 730
`).tf;
  checkLifecycle(custom, 45, 120, 730);
});

Deno.test("noncurrent versions over 128 KiB tier to Standard-IA and Glacier; cap optional", () => {
  assertEquals(noncurrentTiers(synthToml("").tf), [
    { noncurrent_days: 30, storage_class: "STANDARD_IA" },
    { noncurrent_days: 60, storage_class: "GLACIER" },
  ]);
  const custom = synthToml(`[infra]
noncurrent_transition_to_ia_days = 0
noncurrent_transition_to_glacier_days = 7
newer_noncurrent_versions = 10
`).tf;
  assertEquals(noncurrentTiers(custom), [{ noncurrent_days: 7, storage_class: "GLACIER" }]);
  const expiry = forBucket(custom, "aws_s3_bucket_lifecycle_configuration", KEYS[0]).rule
    .find((r: Json) => r.id === "expire-noncurrent-versions").noncurrent_version_expiration;
  assertEquals(expiry, [{ noncurrent_days: 365, newer_noncurrent_versions: 10 }]);
  // Short retention: the defaults are left out where a version would not stay a class's
  // minimum billed duration (30 days Standard-IA, 90 days Glacier).
  const short = `[infra]\nnoncurrent_version_expiration_days = `;
  assertEquals(noncurrentTiers(synthToml(`${short}90\n`).tf), [
    { noncurrent_days: 30, storage_class: "STANDARD_IA" },
  ]);
  assertEquals(noncurrentTiers(synthToml(`${short}45\n`).tf), undefined);
  const off =
    `[infra]\nnoncurrent_transition_to_ia_days = 0\nnoncurrent_transition_to_glacier_days = 0\n`;
  assertEquals(noncurrentTiers(synthToml(off).tf), undefined);
});

Deno.test("object lock only when object_lock_days > 0, in governance or compliance mode", () => {
  const off = synthToml("").tf;
  assertEquals(resources(off, "aws_s3_bucket_object_lock_configuration"), {});
  for (const mode of ["GOVERNANCE", "COMPLIANCE"]) {
    const on = synthToml(`[infra]\nobject_lock_days = 30\nobject_lock_mode = "${mode}"\n`).tf;
    for (const key of bucketKeys(on)) {
      // Not on the bucket (changing it there replaces the bucket): the lock configuration does.
      assertEquals(on.resource.aws_s3_bucket[key].object_lock_enabled, undefined, key);
      const lock = forBucket(on, "aws_s3_bucket_object_lock_configuration", key);
      assertEquals(lock.object_lock_enabled, "Enabled");
      assertEquals(lock.rule, { default_retention: { mode, days: 30 } });
      assertEquals(lock.depends_on, [
        `aws_s3_bucket_versioning.${key.replace("bucket_", "versioning_")}`,
      ]);
    }
    checkBucketProtections(on);
  }
  const dflt = synthToml(`[infra]\nobject_lock_days = 30\n`).tf;
  assertEquals(
    forBucket(dflt, "aws_s3_bucket_object_lock_configuration", KEYS[0]).rule.default_retention.mode,
    "GOVERNANCE",
  );
});

Deno.test("SSE-KMS with a bucket key on every bucket", () => {
  const key = "arn:aws:kms:eu-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  checkBucketProtections(synthToml(`[infra]\nkms_key_arn = "${key}"\n`).tf, key);
});

Deno.test("SNS topic, TLS-only owner-publish policy, email subscription from the variable", () => {
  const { tf } = synthToml(`[infra]\nalert_email = "admin@example.com"\n`);
  const topics = Object.values(resources(tf, "aws_sns_topic")) as Json[];
  assertEquals(topics.length, 1);
  assertEquals(topics[0].name, "acme-backup-reports");
  assertEquals(tf.variable.alert_email.default, "admin@example.com");
  const sub = tf.resource.aws_sns_topic_subscription.reports_email;
  assertEquals([sub.protocol, sub.endpoint], ["email", "${var.alert_email}"]);
  assertEquals(sub.count, "${min(1, length(var.alert_email))}");
  const policy = tf.resource.aws_sns_topic_policy.reports_topic_policy;
  assertEquals(policy.arn, "${aws_sns_topic.reports.arn}");
  const statements = tf.data.aws_iam_policy_document.reports_policy.statement;
  const allow = statements.filter((s: Json) => s.effect === "Allow");
  assertEquals(allow.length, 1);
  assertEquals(allow[0].actions, ["sns:Publish"]);
  assert(/^arn:\$\{data\.aws_partition.*:root$/.test(allow[0].principals[0].identifiers[0]));
  const deny = statements.filter((s: Json) => s.effect === "Deny");
  assertEquals(deny.length, 1);
  assertEquals(deny[0].condition, [
    { test: "Bool", variable: "aws:SecureTransport", values: ["false"] },
  ]);
  assertEquals(synthToml("").tf.variable.alert_email.default, "");
  assertEquals(tf.output.topic_arn.value, "${aws_sns_topic.reports.arn}");
  assertEquals(tf.output.policy_arn.value, "${aws_iam_policy.backup_host.arn}");
  const out = tf.output.buckets.value;
  assertEquals(sorted(Object.keys(out)), ["database", "documents", "photos"]);
  assertEquals(out.documents, "${aws_s3_bucket.bucket_acme-backup-documents.bucket}");
});

Deno.test("names: common bucket prefix, or the topic named in aws.sns_topic_arn", () => {
  const config = parseConfigText(
    BASE_TOML.replace(
      'region = "eu-south-1"',
      'region = "eu-south-1"\nsns_topic_arn = "arn:aws:sns:eu-south-1:123456789012:ops-reports"',
    ),
    "/tmp/x.toml",
  );
  assertEquals(infraNames(config), { base: "acme-backup", topicName: "ops-reports" });
  const odd = parseConfigText(
    `source = "."\n[categories.a]\nbucket = "alpha1"\nextensions = [".x"]\n` +
      `[categories.b]\nbucket = "zeta2"\nextensions = [".y"]\n`,
    "/tmp/y.toml",
  );
  assertEquals(infraNames(odd).base, "s3backup");
});

Deno.test("local state path is relative to the stack folder; S3 backend with state_bucket", () => {
  const { tf, outdir } = synthToml("");
  const path: string = tf.terraform.backend.local.path;
  // Moving the checkout (synth folder and state together) keeps the backend unchanged.
  assertEquals(path, "../../state/tf.tfstate");
  assertEquals(resolve(outdir, "stacks", "s3backup", path), join(outdir, "state", "tf.tfstate"));

  const s3 = synthToml(`[infra]\nstate_bucket = "acme-tfstate"\n`).tf;
  assertEquals(s3.terraform.backend.local, undefined);
  assertEquals(s3.terraform.backend.s3, {
    bucket: "acme-tfstate",
    key: "acme-backup/s3backup-infra.tfstate",
    region: "eu-south-1",
    encrypt: true,
    use_lockfile: true,
  });
  const keyed = synthToml(`[infra]\nstate_bucket = "b-tf"\nstate_key = "x/y.tfstate"\n`).tf;
  assertEquals(keyed.terraform.backend.s3.key, "x/y.tfstate");
});
