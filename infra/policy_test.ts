/** The host and bucket policies: exact actions and resources, and one source for stack and CLI. */
import { parseConfigText } from "../lib/config/config.ts";
import {
  BUCKET_ACTIONS,
  BUCKET_READ_ACTIONS,
  bucketPolicy,
  hostPolicy,
  KMS_ACTIONS,
  kmsViaService,
  OBJECT_ACTIONS,
  partitionOf,
  PROTECTED_ACTIONS,
  TOPIC_ACTIONS,
} from "./policy.ts";
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
const TOPIC = "${aws_sns_topic.reports.arn}";
const BUCKETS = ["acme-backup-documents", "acme-backup-photos", "acme-backup-database"];
const ARNS = BUCKETS.map((b) => `arn:${PARTITION}:s3:::${b}`);
const EXPECTED_HOST_ACTIONS = [
  "s3:PutObject",
  "s3:GetObject",
  "s3:GetObjectVersion",
  "s3:ListBucket",
  "s3:ListBucketVersions",
  "s3:GetBucketVersioning",
  "s3:RestoreObject",
  "s3:AbortMultipartUpload",
  "sns:Publish",
];
const KMS_KEY = "arn:aws:kms:eu-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** The synthesized IAM policies, parsed, keyed by resource id. */
function hostPolicies(tf: Json): Record<string, Json> {
  return Object.fromEntries(
    Object.entries(resources(tf, "aws_iam_policy")).map(([k, r]) => [k, JSON.parse(r.policy)]),
  );
}

const byAction = (statements: Json[], a: string) => statements.find((s) => s.Action.includes(a));

Deno.test("the host policy allows exactly the backup actions, on the backup resources only", () => {
  const { tf } = synthToml("");
  const policies = hostPolicies(tf);
  assertEquals(Object.keys(policies), ["backup_host"]);
  const statements: Json[] = policies.backup_host.Statement;
  for (const s of statements) assertEquals([s.Effect, s.Condition], ["Allow", undefined]);
  const actions = statements.flatMap((s) => s.Action);
  assertEquals(sorted(new Set(actions)), sorted(EXPECTED_HOST_ACTIONS));
  assertEquals(actions.length, EXPECTED_HOST_ACTIONS.length, "no duplicates");
  assert(!actions.some((a: string) => /delete|\*/i.test(a)), "no delete, no wildcard");
  for (const a of [...BUCKET_ACTIONS, ...BUCKET_READ_ACTIONS]) {
    assertEquals(byAction(statements, a).Resource, ARNS, a);
  }
  for (const a of OBJECT_ACTIONS) {
    assertEquals(byAction(statements, a).Resource, ARNS.map((arn) => `${arn}/*`), a);
  }
  for (const a of TOPIC_ACTIONS) assertEquals(byAction(statements, a).Resource, [TOPIC], a);
});

Deno.test("the stack's host policy is hostPolicy() of the same config, token for token", () => {
  for (const extra of ["", `[infra]\nhosts = ["web1", "db-2"]\nkms_key_arn = "${KMS_KEY}"\n`]) {
    const { tf, config } = synthToml(extra);
    const policies = resources(tf, "aws_iam_policy");
    const hosts = config.infra.hosts.length > 0 ? config.infra.hosts : [undefined];
    assertEquals(Object.keys(policies).length, hosts.length);
    for (const host of hosts) {
      const id = host === undefined ? "backup_host" : `backup_host_${host}`;
      const printed = JSON.stringify(hostPolicy(config, host, { partition: "aws", topicArn: "T" }));
      assertEquals(
        policies[id].policy.replaceAll(PARTITION, "aws").replaceAll(TOPIC, "T"),
        printed,
      );
    }
  }
});

Deno.test("policy.ts loads no cdktf, so a CLI command can print the policy without it", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("./policy.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const specifiers: string[] = info.modules.map((m: Json) => m.specifier);
  assert(specifiers.some((s) => s.endsWith("/infra/policy.ts")), specifiers.join());
  assertEquals(specifiers.filter((s) => /cdktf|constructs|provider-aws/.test(s)), []);
});

Deno.test("SSE-KMS: the host may use that key only, only through S3 in the key's region", () => {
  const { tf } = synthToml(`[infra]\nkms_key_arn = "${KMS_KEY}"\n`);
  const statements: Json[] = hostPolicies(tf).backup_host.Statement;
  const kms = statements.filter((s) => s.Action.some((a: string) => a.startsWith("kms:")));
  assertEquals(kms.length, 1);
  assertEquals(sorted(kms[0].Action), sorted(KMS_ACTIONS));
  assertEquals(kms[0].Resource, [KMS_KEY]);
  assertEquals(kms[0].Condition, {
    StringEquals: { "kms:ViaService": "s3.eu-south-1.amazonaws.com" },
  });
  const rest = statements.filter((s) => s !== kms[0]).flatMap((s) => s.Action);
  assertEquals(sorted(rest), sorted(EXPECTED_HOST_ACTIONS));
  assertEquals(
    kmsViaService("arn:aws-cn:kms:cn-north-1:123456789012:key/abc"),
    "s3.cn-north-1.amazonaws.com.cn",
  );
  assertEquals([partitionOf("cn-north-1"), partitionOf("us-gov-west-1"), partitionOf(undefined)], [
    "aws-cn",
    "aws-us-gov",
    "aws",
  ]);
});

Deno.test("fleet: one identity per host, listing and objects confined to <host>/", () => {
  const { tf } = synthToml(`[infra]\nhosts = ["web1", "db1"]\ncreate_access_key = true\n`);
  const policies = hostPolicies(tf);
  assertEquals(sorted(Object.keys(policies)), ["backup_host_db1", "backup_host_web1"]);
  for (const host of ["web1", "db1"]) {
    const statements: Json[] = policies[`backup_host_${host}`].Statement;
    assertEquals(
      sorted(new Set(statements.flatMap((s) => s.Action))),
      sorted(EXPECTED_HOST_ACTIONS),
    );
    const list = byAction(statements, "s3:ListBucket");
    assertEquals(list.Action, BUCKET_ACTIONS);
    assertEquals(list.Resource, ARNS);
    assertEquals(list.Condition, { StringLike: { "s3:prefix": [`${host}/*`] } });
    // Reading the versioning status carries no prefix: a prefix condition would refuse it.
    const versioning = byAction(statements, "s3:GetBucketVersioning");
    assertEquals([versioning.Resource, versioning.Condition], [ARNS, undefined]);
    for (const a of OBJECT_ACTIONS) {
      assertEquals(byAction(statements, a).Resource, ARNS.map((arn) => `${arn}/${host}/*`), a);
    }
    assertEquals(byAction(statements, "sns:Publish").Resource, [TOPIC]);
    const user = tf.resource.aws_iam_user[`backup_host_user_${host}`];
    assertEquals(user.name, `acme-backup-${host}`);
    const attachment =
      tf.resource.aws_iam_user_policy_attachment[`backup_host_user_policy_${host}`];
    assertEquals(attachment.policy_arn, `\${aws_iam_policy.backup_host_${host}.arn}`);
    assertEquals(attachment.user, `\${aws_iam_user.backup_host_user_${host}.name}`);
    assertEquals(
      tf.resource.aws_iam_access_key[`backup_host_key_${host}`].user,
      `\${aws_iam_user.backup_host_user_${host}.name}`,
    );
    assertEquals(
      tf.resource.aws_iam_policy[`backup_host_${host}`].name,
      `acme-backup-backup-${host}`,
    );
  }
  assertEquals(tf.output.access_key_ids.sensitive, true);
  assertEquals(tf.output.secret_access_keys.sensitive, true);
  assertEquals(tf.output.iam_user_names.value, {
    web1: "${aws_iam_user.backup_host_user_web1.name}",
    db1: "${aws_iam_user.backup_host_user_db1.name}",
  });
  assertEquals(tf.output.access_key_id, undefined);
  assertEquals(tf.output.policy_arn, undefined);

  const roles = synthToml(`[infra]\nhosts = ["web1", "db1"]\nattach_to_role = "ec2-{host}"\n`).tf;
  const attached = resources(roles, "aws_iam_role_policy_attachment");
  assertEquals(attached.backup_host_role_web1.role, "ec2-web1");
  assertEquals(attached.backup_host_role_db1.role, "ec2-db1");
  assertEquals(resources(roles, "aws_iam_user"), {});
  assertEquals(roles.output.iam_user_names, undefined);
});

Deno.test("IAM user by default; access key only when asked; role attachment instead of a user", () => {
  const plain = synthToml("").tf;
  const users = Object.values(resources(plain, "aws_iam_user")) as Json[];
  assertEquals(users.map((u) => u.name), ["acme-backup-host"]);
  const attach = Object.values(resources(plain, "aws_iam_user_policy_attachment")) as Json[];
  assertEquals(attach.map((a) => a.policy_arn), ["${aws_iam_policy.backup_host.arn}"]);
  assertEquals(resources(plain, "aws_iam_access_key"), {});
  assertEquals([plain.output.access_key_id, plain.output.iam_user_name.value], [
    undefined,
    "${aws_iam_user.backup_host_user.name}",
  ]);
  assertEquals(resources(plain, "aws_iam_role_policy_attachment"), {});

  const keyed = synthToml(`[infra]\ncreate_access_key = true\niam_user_name = "nas-backup"\n`).tf;
  assertEquals((Object.values(resources(keyed, "aws_iam_user"))[0] as Json).name, "nas-backup");
  assertEquals(Object.keys(resources(keyed, "aws_iam_access_key")), ["backup_host_key"]);
  assertEquals([keyed.output.access_key_id.sensitive, keyed.output.secret_access_key.sensitive], [
    true,
    true,
  ]);

  const role = synthToml(`[infra]\nattach_to_role = "backup-host-role"\n`).tf;
  const att = Object.values(resources(role, "aws_iam_role_policy_attachment")) as Json[];
  assertEquals(att.map((a) => [a.role, a.policy_arn]), [
    ["backup-host-role", "${aws_iam_policy.backup_host.arn}"],
  ]);
  assertEquals(resources(role, "aws_iam_user"), {});
  assertEquals(role.output.iam_user_name, undefined);
});

Deno.test("break_glass_role: the bucket policy denies history changes to every other principal", () => {
  const { tf } = synthToml(`[infra]\nbreak_glass_role = "backup-break-glass"\n`);
  const account = "${data.aws_caller_identity.caller.account_id}";
  for (const [i, bucket] of BUCKETS.entries()) {
    const key = `bucket_${bucket}`;
    const statements: Json[] = JSON.parse(forBucket(tf, "aws_s3_bucket_policy", key).policy)
      .Statement;
    assertEquals(statements.map((s) => s.Sid), [
      "DenyInsecureTransport",
      "DenyHistoryChangesExceptBreakGlass",
    ]);
    const deny = statements[1];
    assertEquals([deny.Effect, deny.Principal], ["Deny", "*"]);
    assertEquals(deny.Action, PROTECTED_ACTIONS);
    for (
      const a of [
        "s3:DeleteObjectVersion",
        "s3:PutBucketVersioning",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketObjectLockConfiguration",
      ]
    ) assert(deny.Action.includes(a), a);
    assertEquals(deny.Resource, [ARNS[i], `${ARNS[i]}/*`]);
    // aws:PrincipalArn of an assumed-role session is the role's ARN, with its path if any.
    assertEquals(deny.Condition, {
      ArnNotLike: {
        "aws:PrincipalArn": [
          `arn:${PARTITION}:iam::${account}:role/backup-break-glass`,
          `arn:${PARTITION}:iam::${account}:role/*/backup-break-glass`,
        ],
      },
    });
  }
  const arn = "arn:aws:iam::123456789012:role/ops/break-glass";
  const config = parseConfigText(`${BASE_TOML}[infra]\nbreak_glass_role = "${arn}"\n`, "/t.toml");
  const doc = bucketPolicy(config, "b", { partition: "aws" });
  assertEquals(doc.Statement[1].Condition, { ArnNotLike: { "aws:PrincipalArn": [arn] } });
});

Deno.test("deny_sse_c: PutObject with a customer-provided key is refused to everyone", () => {
  const { tf } = synthToml(`[infra]\ndeny_sse_c = true\n`);
  const statements: Json[] = JSON.parse(
    forBucket(tf, "aws_s3_bucket_policy", `bucket_${BUCKETS[0]}`).policy,
  ).Statement;
  assertEquals(statements.map((s) => s.Sid), ["DenyInsecureTransport", "DenySseCUploads"]);
  assertEquals(statements[1], {
    Sid: "DenySseCUploads",
    Effect: "Deny",
    Principal: "*",
    Action: ["s3:PutObject"],
    Resource: [`${ARNS[0]}/*`],
    Condition: { Null: { "s3:x-amz-server-side-encryption-customer-algorithm": "false" } },
  });
  const plain = JSON.parse(
    forBucket(synthToml("").tf, "aws_s3_bucket_policy", `bucket_${BUCKETS[0]}`).policy,
  );
  assertEquals(plain.Statement.map((s: Json) => s.Sid), ["DenyInsecureTransport"]);
});

Deno.test("hostPolicy for a CLI without Terraform: literal ARNs, Publish only with a topic", () => {
  const config = parseConfigText(BASE_TOML, "/t.toml");
  const doc = hostPolicy(config, undefined, { partition: partitionOf(config.aws.region) });
  assertEquals(doc.Statement.map((s) => s.Sid), [
    "ListBackupBuckets",
    "ReadBucketVersioning",
    "ReadWriteBackupObjects",
  ]);
  assertEquals(doc.Statement[0].Resource[0], "arn:aws:s3:::acme-backup-documents");
  const topic = "arn:aws:sns:eu-south-1:123456789012:r";
  assertEquals(hostPolicy(config, "web1", { partition: "aws", topicArn: topic }).Statement[3], {
    Sid: "PublishReports",
    Effect: "Allow",
    Action: ["sns:Publish"],
    Resource: [topic],
  });
});
