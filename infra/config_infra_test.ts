/** The [infra] table: defaults, new keys, and the settings that exclude each other. */
import { parseConfigText } from "../lib/config/config.ts";
import { ConfigError } from "../lib/core/errors.ts";
import { assertEquals, assertThrows, BASE_TOML } from "./testing.ts";

const infra = (toml: string) => parseConfigText(`${BASE_TOML}[infra]\n${toml}\n`, "/t.toml").infra;
const refused = (toml: string, message: string) =>
  assertThrows(() => infra(toml), ConfigError, message);
const KEY = "arn:aws:kms:eu-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

Deno.test("[infra] defaults", () => {
  const d = infra("");
  assertEquals(
    [d.hosts, d.objectLockMode, d.breakGlassRole, d.denySseC, d.retiredBuckets],
    [[], "GOVERNANCE", undefined, false, []],
  );
  assertEquals(
    [
      d.noncurrentTransitionToIaDays,
      d.noncurrentTransitionToGlacierDays,
      d.newerNoncurrentVersions,
    ],
    [30, 60, undefined],
  );
});

Deno.test("kms_key_arn must be a key ARN in the buckets' region, not an alias", () => {
  assertEquals(infra(`kms_key_arn = "${KEY}"`).kmsKeyArn, KEY);
  const mrk = "arn:aws:kms:eu-south-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab";
  assertEquals(infra(`kms_key_arn = "${mrk}"`).kmsKeyArn, mrk);
  for (
    const bad of [
      "alias/backup",
      "arn:aws:kms:eu-south-1:123456789012:alias/backup",
      "1234abcd-12ab-34cd-56ef-1234567890ab",
    ]
  ) refused(`kms_key_arn = "${bad}"`, "must be a key ARN");
  refused(`kms_key_arn = "${KEY.replace("eu-south-1", "us-east-1")}"`, "is in us-east-1");
});

Deno.test("settings that exclude each other are refused by the config, naming both keys", () => {
  refused(`attach_to_role = "r"\ncreate_access_key = true`, "exclude each other");
  refused(`attach_to_role = "r"\niam_user_name = "u"`, "exclude each other");
  refused(`object_lock_mode = "COMPLIANCE"`, "needs object_lock_days > 0");
  refused(`object_lock_days = 3\nobject_lock_mode = "compliance"`, "GOVERNANCE or COMPLIANCE");
  assertEquals(
    infra(`object_lock_days = 3\nobject_lock_mode = "COMPLIANCE"`).objectLockMode,
    "COMPLIANCE",
  );
});

Deno.test("hosts: names usable as key prefix and id; per-host names need {host}", () => {
  assertEquals(infra(`hosts = ["web1", "db_2", "Mail-3"]`).hosts, ["web1", "db_2", "Mail-3"]);
  for (const bad of ["web.1", "a/b", "-x", "", "x*"]) refused(`hosts = ["${bad}"]`, "must be 1-63");
  refused(`hosts = ["a", "a"]`, "twice");
  refused(`hosts = ["a"]\niam_user_name = "backup"`, "must contain {host}");
  refused(`hosts = ["a"]\nattach_to_role = "role"`, "must contain {host}");
  refused(`attach_to_role = "role-{host}"`, "infra.hosts is not set");
  assertEquals(infra(`hosts = ["a"]\nattach_to_role = "ec2-{host}"`).attachToRole, "ec2-{host}");
});

Deno.test("break_glass_role: a role name or a role ARN", () => {
  assertEquals(infra(`break_glass_role = "break-glass"`).breakGlassRole, "break-glass");
  const arn = "arn:aws:iam::123456789012:role/ops/break-glass";
  assertEquals(infra(`break_glass_role = "${arn}"`).breakGlassRole, arn);
  refused(`break_glass_role = "arn:aws:iam::123456789012:user/bob"`, "role name or role ARN");
  refused(`break_glass_role = "a b"`, "role name or role ARN");
  assertEquals(infra(`deny_sse_c = true`).denySseC, true);
});

Deno.test("noncurrent tiers: set days must precede the expiry; defaults drop where they cannot pay", () => {
  const set = infra(
    `noncurrent_transition_to_ia_days = 45\nnoncurrent_transition_to_glacier_days = 100\n` +
      `newer_noncurrent_versions = 3`,
  );
  assertEquals(
    [
      set.noncurrentTransitionToIaDays,
      set.noncurrentTransitionToGlacierDays,
      set.newerNoncurrentVersions,
    ],
    [45, 100, 3],
  );
  // Default Glacier follows a later IA day by 30 days.
  assertEquals(
    infra(`noncurrent_transition_to_ia_days = 90`).noncurrentTransitionToGlacierDays,
    120,
  );
  refused(`noncurrent_transition_to_ia_days = 10`, "must be 0 (off) or from 30");
  refused(`noncurrent_transition_to_ia_days = 365`, "noncurrent_version_expiration_days - 1 (364)");
  refused(
    `noncurrent_transition_to_ia_days = 40\nnoncurrent_transition_to_glacier_days = 50`,
    "at least 30 days after",
  );
  refused(`newer_noncurrent_versions = 0`, "between 1 and 100");
  const short = infra(`noncurrent_version_expiration_days = 100`);
  assertEquals([short.noncurrentTransitionToIaDays, short.noncurrentTransitionToGlacierDays], [
    30,
    0,
  ]);
});

Deno.test("retired_buckets: valid names no category still uses", () => {
  assertEquals(infra(`retired_buckets = ["acme-old"]`).retiredBuckets, ["acme-old"]);
  refused(`retired_buckets = ["Bad_Name"]`, "not a valid S3 bucket name");
  refused(`retired_buckets = ["acme-backup-photos"]`, "still the bucket of 'categories.photos'");
  refused(`unknown_key = 1`, "unknown key 'infra.unknown_key'");
});
