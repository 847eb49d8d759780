/**
 * The ransomware options against a stolen admin key, as far as Ceph RGW 16.2 enforces them.
 *
 *  - break_glass_role: the synthesized bucket policy's deny of history-destroying actions
 *    refuses them to the bucket owner (the "admin"), and the excepted principal may still do
 *    them. RGW knows no aws:PrincipalArn (measured below: the condition never matches, so the
 *    statement as synthesized denies nobody), so here the exception is written as NotPrincipal
 *    naming an RGW user; the actions, resources and effect are the synthesized ones. That
 *    aws:PrincipalArn matches an assumed role's ARN is AWS behaviour, proven only on the JSON.
 *  - object_lock_mode: the stack's Object Lock configuration applied with terraform; a version
 *    is undeletable, with s3:BypassGovernanceRetention in GOVERNANCE mode only. RGW cannot
 *    enable Object Lock on an existing bucket (409 InvalidBucketState), so the bucket resource
 *    gets object_lock_enabled = true here (on AWS the lock configuration enables it). The
 *    COMPLIANCE bucket is removed at the end with radosgw-admin, which bypasses Object Lock.
 *  - deny_sse_c: not provable on RGW 16.2, which refuses SSE-C over plain HTTP anyway (400) and
 *    evaluates the Null condition wrongly (the statement refuses every PutObject, measured
 *    below); proven only on the JSON.
 * Skipped, visibly, without terraform and its mirror, RGW, or radosgw-admin access to RGW.
 */
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetObjectLockConfigurationCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { RGW_SKIP_MESSAGE, rgwClient, rgwFromEnv } from "../tests/servers/rgw_env.ts";
import { bucketAddress } from "./backup_bucket.ts";
import {
  mirroredProviderVersion,
  pointAtRgw,
  serializePerBucket,
  targetsOf,
  terraform,
  terraformSkipReason,
  writeTerraformRc,
} from "./rgw_apply.ts";
import {
  createRgwUser,
  httpStatus,
  purgeRgwBucket,
  putUserPolicy,
  removeRgwUser,
  rgwCephConf,
  type RgwUser,
  rgwUserArn,
  rgwUserClient,
} from "./rgw_iam.ts";
import { assert, assertEquals, type Json, synthToml } from "./testing.ts";

const rgw = await rgwFromEnv();
const conf = rgwCephConf();
const skipReason = terraformSkipReason() ??
  (rgw === undefined
    ? RGW_SKIP_MESSAGE
    : conf === undefined
    ? "no radosgw-admin or no ceph.conf beside the RGW env file"
    : undefined);
if (skipReason !== undefined) console.warn(`SKIPPING ransomware options on RGW: ${skipReason}`);
const opts = { ignore: skipReason !== undefined, sanitizeResources: false, sanitizeOps: false };
const uniq = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** The synthesized bucket policy of `bucket`, Terraform references made literal. */
function bucketPolicyOf(extra: string, bucket: string): Json {
  const { tf } = synthToml(
    `source = "."\n[categories.a]\nbucket = "${bucket}"\nextensions = [".x"]\n[infra]\n${extra}\n`,
    { whole: true },
  );
  const text: string = tf.resource.aws_s3_bucket_policy[`policy_${bucket}`].policy;
  return JSON.parse(
    text.replaceAll("${data.aws_partition.partition.partition}", "aws")
      .replaceAll("${data.aws_caller_identity.caller.account_id}", "123456789012"),
  );
}

const CONTENT_MD5_OF_1 = "xMpCOKC5I4INzFCab3WEmw==";

Deno.test({
  name: `break_glass_role: history changes refused to the owner, allowed to the exception (${
    skipReason ?? rgw?.endpoint
  })`,
  ...opts,
  async fn() {
    const id = uniq();
    const Bucket = `bg-${id}`;
    const owner = rgwClient(rgw!);
    const users: RgwUser[] = [];
    let glass: S3Client | undefined;
    try {
      const admin = await createRgwUser(conf!, `bgadm-${id}`, "user-policy=*");
      const breakGlass = await createRgwUser(conf!, `bgrole-${id}`);
      users.push(admin, breakGlass);
      await putUserPolicy(rgw!, admin, breakGlass.uid, "all", {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }],
      });
      glass = rgwUserClient(rgw!, breakGlass);
      // Object Lock enabled at creation, so that PutObjectLockConfiguration is a real change.
      await owner.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
      const policy = bucketPolicyOf(`break_glass_role = "backup-break-glass"`, Bucket);
      const deny = policy.Statement.find((s: Json) =>
        s.Sid === "DenyHistoryChangesExceptBreakGlass"
      );
      assertEquals(Object.keys(deny.Condition), ["ArnNotLike"]);

      const v1 = await owner.send(
        new PutObjectCommand({ Bucket, Key: "db.sql", Body: "1", ContentMD5: CONTENT_MD5_OF_1 }),
      );
      const attempts = (s3: S3Client) => ({
        "s3:DeleteObjectVersion": () =>
          s3.send(new DeleteObjectCommand({ Bucket, Key: "db.sql", VersionId: v1.VersionId })),
        "s3:PutBucketVersioning": () =>
          s3.send(
            new PutBucketVersioningCommand({
              Bucket,
              VersioningConfiguration: { Status: "Enabled" },
            }),
          ),
        "s3:PutLifecycleConfiguration": () =>
          s3.send(
            new PutBucketLifecycleConfigurationCommand({
              Bucket,
              LifecycleConfiguration: {
                Rules: [{
                  ID: "purge",
                  Status: "Enabled",
                  Filter: { Prefix: "" },
                  Expiration: { Days: 1 },
                }],
              },
            }),
          ),
        "s3:PutBucketObjectLockConfiguration": () =>
          s3.send(
            new PutObjectLockConfigurationCommand({
              Bucket,
              ObjectLockConfiguration: { ObjectLockEnabled: "Enabled" },
            }),
          ),
        "s3:PutBucketPolicy": () =>
          s3.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(policy) })),
        "s3:DeleteBucketPolicy": () => s3.send(new DeleteBucketPolicyCommand({ Bucket })),
      });

      // As synthesized, RGW never matches aws:PrincipalArn: the owner is not refused.
      await owner.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(policy) }));
      assertEquals(await httpStatus(attempts(owner)["s3:PutBucketVersioning"]()), 200);
      console.log("  RGW 16.2: the aws:PrincipalArn condition never matches (statement inert)");

      // With the exception as NotPrincipal: every listed action refused to the owner.
      const { Condition: _, Principal: __, ...rest } = deny;
      const rgwPolicy = {
        ...policy,
        Statement: policy.Statement.map((s: Json) =>
          s === deny ? { ...rest, NotPrincipal: { AWS: [rgwUserArn(breakGlass.uid)] } } : s
        ),
      };
      await owner.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(rgwPolicy) }));
      const asOwner = attempts(owner);
      for (const [action, attempt] of Object.entries(asOwner)) {
        assert(deny.Action.includes(action), action);
        assertEquals(await httpStatus(attempt()), 403, `owner: ${action}`);
      }
      // New versions and delete markers (which destroy nothing) still work for the owner.
      const put = { Bucket, Key: "db.sql", Body: "1", ContentMD5: CONTENT_MD5_OF_1 };
      assertEquals(await httpStatus(owner.send(new PutObjectCommand(put))), 200);
      assertEquals(
        await httpStatus(owner.send(new DeleteObjectCommand({ Bucket, Key: "db.sql" }))),
        200,
      );
      // The break-glass principal may do each of them (the policy last: it removes the guard).
      const asGlass = attempts(glass);
      for (const action of Object.keys(asOwner).filter((a) => a !== "s3:DeleteBucketPolicy")) {
        assertEquals(
          await httpStatus(asGlass[action as keyof typeof asGlass]()),
          200,
          `glass: ${action}`,
        );
      }
      assertEquals(await httpStatus(asGlass["s3:DeleteBucketPolicy"]()), 200);
      console.log(`  owner refused ${Object.keys(asOwner).length} actions; the exception allowed`);
    } finally {
      if (glass !== undefined) {
        await glass.send(new DeleteBucketPolicyCommand({ Bucket })).catch(() => {});
        const all = await glass.send(new ListObjectVersionsCommand({ Bucket })).catch(() => ({}));
        for (
          const v of [...((all as Json).Versions ?? []), ...((all as Json).DeleteMarkers ?? [])]
        ) {
          await glass.send(new DeleteObjectCommand({ Bucket, Key: v.Key, VersionId: v.VersionId }))
            .catch(() => {});
        }
        await glass.send(new DeleteBucketCommand({ Bucket })).catch(() => {});
        glass.destroy();
      }
      owner.destroy();
      for (const u of users) await removeRgwUser(conf!, u.uid).catch(() => {});
    }
  },
});

Deno.test({
  name: `deny_sse_c on RGW 16.2: the Null condition refuses every PutObject (JSON-only) (${
    skipReason ?? rgw?.endpoint
  })`,
  ...opts,
  async fn() {
    const Bucket = `ssec-${uniq()}`;
    const owner = rgwClient(rgw!);
    try {
      await owner.send(new CreateBucketCommand({ Bucket }));
      const policy = bucketPolicyOf("deny_sse_c = true", Bucket);
      await owner.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(policy) }));
      const plain = { Bucket, Key: "x", Body: "1", ContentMD5: CONTENT_MD5_OF_1 };
      // If this starts passing, RGW evaluates Null correctly: make this a real test of SSE-C.
      assertEquals(await httpStatus(owner.send(new PutObjectCommand(plain))), 403);
      await owner.send(new DeleteBucketPolicyCommand({ Bucket }));
      assertEquals(await httpStatus(owner.send(new PutObjectCommand(plain))), 200);
      const sseC = {
        ...plain,
        SSECustomerAlgorithm: "AES256",
        SSECustomerKey: "k".repeat(32),
      };
      // And SSE-C itself is refused over plain HTTP, with or without the policy.
      assertEquals(await httpStatus(owner.send(new PutObjectCommand(sseC))), 400);
    } finally {
      await owner.send(new DeleteObjectCommand({ Bucket, Key: "x" })).catch(() => {});
      const all = await owner.send(new ListObjectVersionsCommand({ Bucket })).catch(() => ({}));
      for (const v of [...((all as Json).Versions ?? []), ...((all as Json).DeleteMarkers ?? [])]) {
        await owner.send(new DeleteObjectCommand({ Bucket, Key: v.Key, VersionId: v.VersionId }))
          .catch(() => {});
      }
      await owner.send(new DeleteBucketCommand({ Bucket })).catch(() => {});
      owner.destroy();
    }
  },
});

Deno.test({
  name: `object_lock_mode applied by terraform: GOVERNANCE bypassable, COMPLIANCE not (${
    skipReason ?? rgw?.endpoint
  })`,
  ...opts,
  async fn() {
    const id = uniq();
    const owner = rgwClient(rgw!);
    const root = await Deno.makeTempDir({ prefix: "s3backup-tf-lock-" });
    try {
      await Promise.all((["GOVERNANCE", "COMPLIANCE"] as const).map(async (mode) => {
        const Bucket = `tflock-${id}-${mode.toLowerCase()}`;
        const { tf: synthesized, outdir } = synthToml(
          `source = "."\n[aws]\nregion = "${rgw!.region}"\n` +
            `[categories.db]\nbucket = "${Bucket}"\nextensions = [".sql"]\n` +
            `[infra]\nobject_lock_days = 1\nobject_lock_mode = "${mode}"\n`,
          { whole: true },
        );
        const stackDir = join(outdir, "stacks", "s3backup");
        const tf = synthesized;
        pointAtRgw(tf, rgw!, mirroredProviderVersion()!);
        // RGW enables Object Lock only at bucket creation; AWS also on an existing bucket.
        tf.resource.aws_s3_bucket[`bucket_${Bucket}`].object_lock_enabled = true;
        const types = [
          "aws_s3_bucket",
          "aws_s3_bucket_versioning",
          "aws_s3_bucket_object_lock_configuration",
        ];
        serializePerBucket(tf, types);
        Deno.writeTextFileSync(join(stackDir, "cdk.tf.json"), JSON.stringify(tf, null, 2));
        const rc = join(root, `rc-${mode}`);
        writeTerraformRc(rc);
        const run = (args: string[]) => terraform(args, stackDir, rc, root);
        const init = await run(["init", "-input=false", "-no-color"]);
        assertEquals(init.code, 0, init.stdout + init.stderr);
        const targets = targetsOf(tf, types).map((a) => `-target=${a}`);
        assert(
          targets.includes(
            `-target=${bucketAddress("aws_s3_bucket_object_lock_configuration", Bucket)}`,
          ),
        );
        const apply = await run([
          "apply",
          "-auto-approve",
          "-input=false",
          "-no-color",
          ...targets,
        ]);
        assertEquals(apply.code, 0, apply.stdout + apply.stderr);

        const lock = await owner.send(new GetObjectLockConfigurationCommand({ Bucket }));
        assertEquals(lock.ObjectLockConfiguration?.Rule?.DefaultRetention, { Mode: mode, Days: 1 });
        const v = await owner.send(
          new PutObjectCommand({ Bucket, Key: "db.sql", Body: "1", ContentMD5: CONTENT_MD5_OF_1 }),
        );
        const del = (bypass: boolean) =>
          httpStatus(owner.send(
            new DeleteObjectCommand({
              Bucket,
              Key: "db.sql",
              VersionId: v.VersionId,
              BypassGovernanceRetention: bypass || undefined,
            }),
          ));
        assertEquals(await del(false), 403, `${mode}: delete`);
        assertEquals(await del(true), mode === "GOVERNANCE" ? 200 : 403, `${mode}: bypass`);
        if (mode === "GOVERNANCE") await owner.send(new DeleteBucketCommand({ Bucket }));
        console.log(
          `  ${mode}: version undeletable; bypass ${mode === "GOVERNANCE" ? "allowed" : "refused"}`,
        );
      }));
    } finally {
      // The S3 API cannot remove a COMPLIANCE-locked version; the RGW admin can.
      await purgeRgwBucket(conf!, `tflock-${id}-compliance`).catch(() => {});
      owner.destroy();
      await Deno.remove(root, { recursive: true });
    }
  },
});
