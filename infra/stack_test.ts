/** The synthesized Terraform JSON, checked resource by resource for every bucket. */
import { assert, assertEquals, assertMatch, assertThrows } from "./testing.ts";
import { join } from "node:path";
import { parseConfigText } from "../lib/config/config.ts";
import { ConfigError, UsageError } from "../lib/core/errors.ts";
import { parseDeployArgs, terraformBinary } from "./deploy.ts";
import {
  ABORT_MULTIPART_DAYS,
  BUCKET_ACTIONS,
  infraNames,
  KMS_ACTIONS,
  MIN_TRANSITION_SIZE,
  OBJECT_ACTIONS,
  TOPIC_ACTIONS,
} from "./stack.ts";
import { synthesize } from "./synth.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const BASE = `
source = "./data"
[aws]
region = "eu-south-1"
[categories.documents]
bucket = "acme-backup-documents"
extensions = [".pdf", ".txt"]
[categories.photos]
bucket = "acme-backup-photos"
extensions = [".jpg", ".png"]
[categories.database]
bucket = "acme-backup-database"
extensions = [".sql"]
`;

const EXPECTED_HOST_ACTIONS = [
  "s3:PutObject",
  "s3:GetObject",
  "s3:GetObjectVersion",
  "s3:ListBucket",
  "s3:ListBucketVersions",
  "s3:RestoreObject",
  "sns:Publish",
];

/** All temp folders of this file live under one root, removed when the module unloads. */
const TMP = Deno.makeTempDirSync({ prefix: "s3backup-infra-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(TMP, { recursive: true }));
const tempDir = (prefix: string) => Deno.makeTempDirSync({ dir: TMP, prefix });

/** Synthesizes a config (BASE plus extra TOML, or a whole document) into a temp folder. */
function synth(toml: string, opts: { whole?: boolean } = {}): { tf: Json; outdir: string } {
  const outdir = tempDir("synth-");
  const config = parseConfigText(opts.whole ? toml : BASE + toml, join(outdir, "s3backup.toml"));
  const { file } = synthesize(config, { outdir, statePath: join(outdir, "state", "tf.tfstate") });
  const tf = JSON.parse(Deno.readTextFileSync(file));
  return { tf, outdir };
}

function resources(tf: Json, type: string): Record<string, Json> {
  return tf.resource?.[type] ?? {};
}

/** The one resource of a type configuring bucket `key` (referenced by its id). */
function forBucket(tf: Json, type: string, key: string): Json {
  const ref = `\${aws_s3_bucket.${key}.id}`;
  const found = Object.values(resources(tf, type)).filter((r: Json) => r.bucket === ref);
  assertEquals(found.length, 1, `${type} for bucket ${key}: found ${found.length}`);
  return found[0];
}

/** The policy document data source a `${data.aws_iam_policy_document.X.json}` ref points to. */
function policyDoc(tf: Json, ref: string): Json {
  const m = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(ref);
  assert(m, `not a policy document reference: ${ref}`);
  const doc = tf.data.aws_iam_policy_document[m[1]];
  assert(doc, `missing policy document ${m[1]}`);
  return doc;
}

function bucketKeys(tf: Json): string[] {
  return Object.keys(resources(tf, "aws_s3_bucket"));
}

function hostStatements(tf: Json): Json[] {
  const policies = Object.values(resources(tf, "aws_iam_policy"));
  assertEquals(policies.length, 1);
  return policyDoc(tf, policies[0].policy).statement;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

function checkBucketProtections(tf: Json, kms?: string): void {
  const keys = bucketKeys(tf);
  assert(keys.length > 0);
  for (const key of keys) {
    const bucket = resources(tf, "aws_s3_bucket")[key];
    assert(!bucket.force_destroy, `${key}: force_destroy`);

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
    for (const flag of ["block_public_acls", "block_public_policy", "ignore_public_acls"]) {
      assertEquals(pab[flag], true, `${key}: ${flag}`);
    }
    assertEquals(pab.restrict_public_buckets, true, `${key}: restrict_public_buckets`);

    const ownership = forBucket(tf, "aws_s3_bucket_ownership_controls", key);
    assertEquals(ownership.rule, { object_ownership: "BucketOwnerEnforced" }, key);

    const policy = forBucket(tf, "aws_s3_bucket_policy", key);
    const statements = policyDoc(tf, policy.policy).statement;
    const deny = statements.filter((s: Json) =>
      s.effect === "Deny" &&
      s.condition?.some((c: Json) =>
        c.test === "Bool" && c.variable === "aws:SecureTransport" &&
        JSON.stringify(c.values) === '["false"]'
      )
    );
    assertEquals(deny.length, 1, `${key}: TLS-deny statement`);
    assertEquals(deny[0].actions, ["s3:*"]);
    assertEquals(deny[0].principals, [{ type: "*", identifiers: ["*"] }]);
    assertEquals(sorted(deny[0].resources), [
      `\${aws_s3_bucket.${key}.arn}`,
      `\${aws_s3_bucket.${key}.arn}/*`,
    ]);
  }
}

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

    const noncurrentRules = rules.filter((r) => r.noncurrent_version_expiration);
    assertEquals(noncurrentRules.length, 1, key);
    assertEquals(noncurrentRules[0].noncurrent_version_expiration, [{
      noncurrent_days: noncurrent,
    }]);

    const mpu = rules.filter((r) => r.abort_incomplete_multipart_upload);
    assertEquals(mpu.length, 1, key);
    assertEquals(mpu[0].abort_incomplete_multipart_upload, [
      { days_after_initiation: ABORT_MULTIPART_DAYS },
    ]);

    const markers = rules.filter((r) => r.expiration);
    assertEquals(markers.length, 1, key);
    assertEquals(markers[0].expiration, [{ expired_object_delete_marker: true }]);

    // Current versions never expire: no expiration block anywhere carries days or a date.
    for (const rule of rules) {
      for (const exp of rule.expiration ?? []) {
        assertEquals(exp.days, undefined, `${key}/${rule.id}: expiration.days`);
        assertEquals(exp.date, undefined, `${key}/${rule.id}: expiration.date`);
        assertEquals(Object.keys(exp), ["expired_object_delete_marker"]);
      }
    }
  }
}

Deno.test("every bucket is versioned, encrypted, private, owner-enforced and TLS-only", () => {
  const { tf } = synth("");
  assertEquals(sorted(bucketKeys(tf).map((k) => tf.resource.aws_s3_bucket[k].bucket)), [
    "acme-backup-database",
    "acme-backup-documents",
    "acme-backup-photos",
  ]);
  checkBucketProtections(tf);
});

Deno.test("every bucket's lifecycle tiers large current versions and expires only old ones", () => {
  checkLifecycle(synth("").tf, 30, 60, 365);
  const custom = synth(`[infra]
transition_to_ia_days = 45
transition_to_glacier_days = 120
noncurrent_version_expiration_days = 730
`).tf;
  checkLifecycle(custom, 45, 120, 730);
});

Deno.test("the host policy allows exactly the backup actions, on the backup resources only", () => {
  const { tf } = synth("");
  const statements = hostStatements(tf);
  for (const s of statements) assertEquals(s.effect, "Allow");
  const actions = statements.flatMap((s: Json) => s.actions);
  assertEquals(sorted(new Set(actions)), sorted(EXPECTED_HOST_ACTIONS));
  assertEquals(actions.length, EXPECTED_HOST_ACTIONS.length, "no duplicates");
  assert(!actions.some((a: string) => /delete|\*/i.test(a)), "no delete, no wildcard");

  const keys = bucketKeys(tf);
  const byAction = (a: string) => statements.find((s: Json) => s.actions.includes(a));
  const bucketArns = sorted(keys.map((k) => `\${aws_s3_bucket.${k}.arn}`));
  for (const a of BUCKET_ACTIONS) assertEquals(sorted(byAction(a).resources), bucketArns, a);
  for (const a of OBJECT_ACTIONS) {
    assertEquals(sorted(byAction(a).resources), bucketArns.map((arn) => `${arn}/*`), a);
  }
  for (const a of TOPIC_ACTIONS) {
    assertEquals(byAction(a).resources, ["${aws_sns_topic.reports.arn}"], a);
  }
  for (const s of statements) {
    for (const r of s.resources) assert(r !== "*" && !r.startsWith("arn:aws:s3:::*"), r);
  }
});

Deno.test("SSE-KMS with a bucket key, and the host may use that key only", () => {
  const key = "arn:aws:kms:eu-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const { tf } = synth(`[infra]\nkms_key_arn = "${key}"\n`);
  checkBucketProtections(tf, key);
  const statements = hostStatements(tf);
  const kms = statements.filter((s: Json) => s.actions.some((a: string) => a.startsWith("kms:")));
  assertEquals(kms.length, 1);
  assertEquals(sorted(kms[0].actions), sorted(KMS_ACTIONS));
  assertEquals(kms[0].resources, [key]);
  const s3sns = statements.filter((s: Json) => s !== kms[0]).flatMap((s: Json) => s.actions);
  assertEquals(sorted(s3sns), sorted(EXPECTED_HOST_ACTIONS));
});

Deno.test("four categories yield four buckets, each fully configured", () => {
  const { tf } = synth(
    BASE + `[categories.video]\nbucket = "acme-backup-video"\nextensions = [".mp4"]\n`,
    { whole: true },
  );
  assertEquals(bucketKeys(tf).length, 4);
  for (
    const type of [
      "aws_s3_bucket_versioning",
      "aws_s3_bucket_server_side_encryption_configuration",
      "aws_s3_bucket_public_access_block",
      "aws_s3_bucket_ownership_controls",
      "aws_s3_bucket_policy",
      "aws_s3_bucket_lifecycle_configuration",
    ]
  ) {
    assertEquals(Object.keys(resources(tf, type)).length, 4, type);
  }
  checkBucketProtections(tf);
  checkLifecycle(tf, 30, 60, 365);
  const out = tf.output.buckets.value;
  assertEquals(sorted(Object.keys(out)), ["database", "documents", "photos", "video"]);
  assertEquals(out.video, "${aws_s3_bucket.bucket_video.bucket}");
  assertEquals(hostStatements(tf)[0].resources.length, 4);
});

Deno.test("object lock only when object_lock_days > 0, in governance mode", () => {
  const off = synth("").tf;
  assertEquals(resources(off, "aws_s3_bucket_object_lock_configuration"), {});
  for (const b of Object.values(resources(off, "aws_s3_bucket"))) {
    assertEquals((b as Json).object_lock_enabled, undefined);
  }

  const on = synth(`[infra]\nobject_lock_days = 30\n`).tf;
  for (const key of bucketKeys(on)) {
    // Not on the bucket (changing it there replaces the bucket): the lock configuration enables it.
    assertEquals(on.resource.aws_s3_bucket[key].object_lock_enabled, undefined, key);
    const lock = forBucket(on, "aws_s3_bucket_object_lock_configuration", key);
    assertEquals(lock.object_lock_enabled, "Enabled");
    assertEquals(lock.rule, { default_retention: { mode: "GOVERNANCE", days: 30 } });
    assertEquals(lock.depends_on, [
      `aws_s3_bucket_versioning.${key.replace("bucket_", "versioning_")}`,
    ]);
  }
  checkBucketProtections(on);
});

Deno.test("IAM user by default; access key only when asked, with sensitive outputs", () => {
  const plain = synth("").tf;
  const users = Object.values(resources(plain, "aws_iam_user")) as Json[];
  assertEquals(users.length, 1);
  assertEquals(users[0].name, "acme-backup-host");
  const attach = Object.values(resources(plain, "aws_iam_user_policy_attachment")) as Json[];
  assertEquals(attach.length, 1);
  assertEquals(attach[0].policy_arn, "${aws_iam_policy.backup_host.arn}");
  assertEquals(resources(plain, "aws_iam_access_key"), {});
  assertEquals(plain.output.access_key_id, undefined);
  assertEquals(resources(plain, "aws_iam_role_policy_attachment"), {});

  const keyed = synth(`[infra]\ncreate_access_key = true\niam_user_name = "nas-backup"\n`).tf;
  assertEquals((Object.values(resources(keyed, "aws_iam_user"))[0] as Json).name, "nas-backup");
  assertEquals(Object.keys(resources(keyed, "aws_iam_access_key")).length, 1);
  assertEquals(keyed.output.access_key_id.sensitive, true);
  assertEquals(keyed.output.secret_access_key.sensitive, true);
});

Deno.test("attach_to_role attaches the policy to the role and creates no user", () => {
  const { tf } = synth(`[infra]\nattach_to_role = "backup-host-role"\n`);
  const att = Object.values(resources(tf, "aws_iam_role_policy_attachment")) as Json[];
  assertEquals(att.length, 1);
  assertEquals(att[0].role, "backup-host-role");
  assertEquals(att[0].policy_arn, "${aws_iam_policy.backup_host.arn}");
  assertEquals(resources(tf, "aws_iam_user"), {});
  assertEquals(resources(tf, "aws_iam_user_policy_attachment"), {});
  assertEquals(resources(tf, "aws_iam_access_key"), {});
  assertEquals(tf.output.iam_user_name, undefined);

  assertThrows(
    () => synth(`[infra]\nattach_to_role = "r"\ncreate_access_key = true\n`),
    ConfigError,
    "exclude each other",
  );
});

Deno.test("SNS topic, TLS-only owner-publish policy, email subscription from the variable", () => {
  const { tf } = synth(`[infra]\nalert_email = "admin@example.com"\n`);
  const topics = Object.values(resources(tf, "aws_sns_topic")) as Json[];
  assertEquals(topics.length, 1);
  assertEquals(topics[0].name, "acme-backup-reports");
  assertEquals(tf.variable.alert_email.default, "admin@example.com");

  const sub = tf.resource.aws_sns_topic_subscription.reports_email;
  assertEquals(sub.protocol, "email");
  assertEquals(sub.endpoint, "${var.alert_email}");
  assertEquals(sub.count, "${min(1, length(var.alert_email))}");

  const policy = tf.resource.aws_sns_topic_policy.reports_topic_policy;
  assertEquals(policy.arn, "${aws_sns_topic.reports.arn}");
  const statements = policyDoc(tf, policy.policy).statement;
  const allow = statements.filter((s: Json) => s.effect === "Allow");
  assertEquals(allow.length, 1);
  assertEquals(allow[0].actions, ["sns:Publish"]);
  assertMatch(allow[0].principals[0].identifiers[0], /^arn:\$\{data\.aws_partition.*:root$/);
  const deny = statements.filter((s: Json) => s.effect === "Deny");
  assertEquals(deny.length, 1);
  assertEquals(deny[0].condition, [
    { test: "Bool", variable: "aws:SecureTransport", values: ["false"] },
  ]);

  const none = synth("").tf;
  assertEquals(none.variable.alert_email.default, "");
  assertEquals(tf.output.topic_arn.value, "${aws_sns_topic.reports.arn}");
  assertEquals(tf.output.policy_arn.value, "${aws_iam_policy.backup_host.arn}");
});

Deno.test("names: common bucket prefix, or the topic named in aws.sns_topic_arn", () => {
  const config = parseConfigText(
    BASE.replace(
      'region = "eu-south-1"',
      'region = "eu-south-1"\nsns_topic_arn = "arn:aws:sns:eu-south-1:123456789012:ops-reports"',
    ),
    "/tmp/x.toml",
  );
  assertEquals(infraNames(config), {
    base: "acme-backup",
    topicName: "ops-reports",
    policyName: "acme-backup-backup-host",
    userName: "acme-backup-host",
  });
  const odd = parseConfigText(
    `source = "."\n[categories.a]\nbucket = "alpha1"\nextensions = [".x"]\n` +
      `[categories.b]\nbucket = "zeta2"\nextensions = [".y"]\n`,
    "/tmp/y.toml",
  );
  assertEquals(infraNames(odd).base, "s3backup");
});

Deno.test("local state outside the synth folder by default; S3 backend with state_bucket", () => {
  const { tf, outdir } = synth("");
  const path: string = tf.terraform.backend.local.path;
  assertEquals(path, join(outdir, "state", "tf.tfstate"));
  assert(!path.startsWith(join(outdir, "stacks")), path);

  const s3 = synth(`[infra]\nstate_bucket = "acme-tfstate"\n`).tf;
  assertEquals(s3.terraform.backend.local, undefined);
  assertEquals(s3.terraform.backend.s3, {
    bucket: "acme-tfstate",
    key: "acme-backup/s3backup-infra.tfstate",
    region: "eu-south-1",
    encrypt: true,
    use_lockfile: true,
  });
  const keyed = synth(`[infra]\nstate_bucket = "b-tf"\nstate_key = "x/y.tfstate"\n`).tf;
  assertEquals(keyed.terraform.backend.s3.key, "x/y.tfstate");
});

Deno.test("deploy.ts: argument split and binary choice", () => {
  assertEquals(parseDeployArgs([]), { action: "apply", passthrough: [] });
  assertEquals(
    parseDeployArgs(["plan", "-c", "x.toml", "-var", "alert_email=a@b.c", "--out=/o"]),
    { action: "plan", config: "x.toml", out: "/o", passthrough: ["-var", "alert_email=a@b.c"] },
  );
  assertEquals(parseDeployArgs(["destroy", "--", "-c", "z"]), {
    action: "destroy",
    passthrough: ["-c", "z"],
  });
  assertThrows(() => parseDeployArgs(["deploy"]), UsageError, "unknown action");
  assertThrows(() => parseDeployArgs(["plan", "-c"]), UsageError, "needs a value");
  assertEquals(terraformBinary({}), "terraform");
  assertEquals(terraformBinary({ TF_BIN: "tofu" }), "tofu");
  assertEquals(
    terraformBinary({ TF_BIN: "tofu", S3BACKUP_TF_BIN: "/x/terraform" }),
    "/x/terraform",
  );
});

const DENO = Deno.execPath();

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(DENO, {
    args,
    env,
    cwd: join(import.meta.dirname!, ".."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("main.ts prints the stack folder; a bad config exits 2 naming the key", async () => {
  const dir = tempDir("cli-");
  const cfg = join(dir, "s3backup.toml");
  Deno.writeTextFileSync(cfg, BASE);
  const ok = await run(["run", "-A", "infra/main.ts", "-c", cfg, "--out", join(dir, "out")]);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(ok.stdout.trim(), join(dir, "out", "stacks", "s3backup"));
  assert(Deno.statSync(join(dir, "out", "stacks", "s3backup", "cdk.tf.json")).isFile);

  Deno.writeTextFileSync(cfg, BASE + `[infra]\nobject_lock_dayz = 3\n`);
  const bad = await run(["run", "-A", "infra/main.ts", "-c", cfg, "--out", join(dir, "out")]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /infra\.object_lock_dayz/);
});

Deno.test("deploy.ts runs init then the action in the stack folder, passing args through", async () => {
  const dir = tempDir("deploy-");
  const cfg = join(dir, "s3backup.toml");
  Deno.writeTextFileSync(cfg, BASE);
  const log = join(dir, "calls.log");
  const fake = join(dir, "fake-terraform");
  Deno.writeTextFileSync(fake, `#!/bin/sh\necho "$PWD|$*" >> "${log}"\n`);
  Deno.chmodSync(fake, 0o755);
  const out = join(dir, "out");
  const res = await run(
    ["run", "-A", "infra/deploy.ts", "plan", "-c", cfg, "--out", out, "-var", "alert_email=a@b.c"],
    { S3BACKUP_TF_BIN: fake },
  );
  assertEquals(res.code, 0, res.stderr);
  const stackDir = join(out, "stacks", "s3backup");
  assertEquals(Deno.readTextFileSync(log).trim().split("\n"), [
    `${stackDir}|init`,
    `${stackDir}|plan -var alert_email=a@b.c`,
  ]);

  const missing = await run(
    ["run", "-A", "infra/deploy.ts", "apply", "-c", cfg, "--out", out],
    { S3BACKUP_TF_BIN: join(dir, "no-such-terraform") },
  );
  assertEquals(missing.code, 127);
  assertMatch(missing.stderr, /not found.*S3BACKUP_TF_BIN/s);
});
