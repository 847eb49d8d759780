/**
 * The stack's host policies, enforced by a real server: each synthesized IAM policy is put on
 * its own Ceph RGW user as a user policy (RGW 16.2 evaluates user policies, s3:prefix included),
 * the buckets belong to another user, and the tool itself runs with those keys.
 *
 *  - fleet ([infra] hosts): host A lists, reads and writes only under `<A>/`; it cannot list,
 *    read or overwrite host B's objects; `run`, `verify` and `restore` work for both hosts;
 *  - every host identity may abort its own multipart uploads and read the versioning status,
 *    and may not delete.
 * Not provable here: sns:Publish (RGW has no SNS and refuses sns: actions in user policies)
 * and the KMS statement (no SSE-KMS).
 * Skipped, visibly, without RGW or without radosgw-admin access to it (users are made there).
 */
import { join } from "node:path";
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../tests/servers/rgw_env.ts";
import { runCli } from "../tests/support/cli.ts";
import {
  createRgwUser,
  httpStatus,
  putUserPolicy,
  removeRgwUser,
  rgwCephConf,
  type RgwUser,
  rgwUserClient,
} from "./rgw_iam.ts";
import { assert, assertEquals, resources, synthToml } from "./testing.ts";

const rgw = await rgwFromEnv();
const conf = rgwCephConf();
const skipReason = rgw === undefined
  ? RGW_SKIP_MESSAGE
  : conf === undefined
  ? "no radosgw-admin or no ceph.conf beside the RGW env file"
  : undefined;
if (skipReason !== undefined) console.warn(`SKIPPING host policies on RGW: ${skipReason}`);

/**
 * The stack's IAM policy `id`, with the Terraform references made literal, less its
 * PublishReports statement: RGW 16.2 refuses any sns: action in a user policy
 * (MalformedPolicyDocument), and has no SNS to publish to anyway.
 */
function stackPolicy(tf: Record<string, unknown>, id: string): unknown {
  const text: string = resources(tf, "aws_iam_policy")[id].policy;
  const doc = JSON.parse(text.replaceAll("${data.aws_partition.partition.partition}", "aws"));
  const statements: { Sid: string }[] = doc.Statement;
  assertEquals(statements.filter((x) => x.Sid === "PublishReports").length, 1);
  return { ...doc, Statement: statements.filter((x) => x.Sid !== "PublishReports") };
}

/** Deletes every version and delete marker, then the bucket; ignores what is already gone. */
async function removeBucket(s3: S3Client, Bucket: string): Promise<void> {
  try {
    const all = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    for (const v of [...(all.Versions ?? []), ...(all.DeleteMarkers ?? [])]) {
      await s3.send(new DeleteObjectCommand({ Bucket, Key: v.Key, VersionId: v.VersionId }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket }));
  } catch { /* best effort: a leftover test bucket on a throwaway server */ }
}

Deno.test({
  name: `host policies enforced by RGW: a fleet host stays in its prefix (${
    skipReason ?? rgw?.endpoint
  })`,
  ignore: skipReason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const buckets = { documents: `hp-${id}-documents`, photos: `hp-${id}-photos` };
    const toml = (extra: string) =>
      `source = "./data"\n[aws]\nregion = "eu-south-1"\n` +
      `[categories.documents]\nbucket = "${buckets.documents}"\nextensions = [".txt"]\n` +
      `[categories.photos]\nbucket = "${buckets.photos}"\nextensions = [".jpg"]\n` + extra;
    const fleet = synthToml(toml(`[infra]\nhosts = ["web1", "db1"]\n`), { whole: true }).tf;
    const single = synthToml(toml(""), { whole: true }).tf;

    const owner = rgwClient(rgw!);
    const users: RgwUser[] = [];
    const clients: S3Client[] = [];
    const dir = await Deno.makeTempDir({ prefix: "s3backup-hostpolicy-" });
    try {
      const admin = await createRgwUser(conf!, `hpadm-${id}`, "user-policy=*");
      users.push(admin);
      const identity = async (name: string, policy: unknown) => {
        const user = await createRgwUser(conf!, `hp${name}-${id}`);
        users.push(user);
        await putUserPolicy(rgw!, admin, user.uid, "s3backup-host", policy);
        const client = rgwUserClient(rgw!, user);
        clients.push(client);
        return { user, client };
      };
      const web1 = await identity("web1", stackPolicy(fleet, "backup_host_web1"));
      const db1 = await identity("db1", stackPolicy(fleet, "backup_host_db1"));
      const whole = await identity("one", stackPolicy(single, "backup_host"));

      for (const b of Object.values(buckets)) await createVersionedBucket(owner, b);
      const Bucket = buckets.documents;
      const theirs = await owner.send(
        new PutObjectCommand({ Bucket, Key: "db1/ledger.txt", Body: "db1's data" }),
      );

      // 1. Listing: only under the host's own prefix, plain and versioned.
      const a = web1.client;
      const list = (Prefix?: string) =>
        httpStatus(a.send(new ListObjectsV2Command({ Bucket, Prefix })));
      const versions = (Prefix?: string) =>
        httpStatus(a.send(new ListObjectVersionsCommand({ Bucket, Prefix })));
      assertEquals(await list("web1/"), 200);
      assertEquals(await versions("web1/"), 200);
      for (const prefix of ["db1/", undefined, "", "web", "web1"]) {
        assertEquals(await list(prefix), 403, `list ${prefix}`);
        assertEquals(await versions(prefix), 403, `versions ${prefix}`);
      }

      // 2. Objects: host B's cannot be read or overwritten; host A's own can, but not deleted.
      const key = { Bucket, Key: "db1/ledger.txt" };
      assertEquals(await httpStatus(a.send(new GetObjectCommand(key))), 403);
      assertEquals(
        await httpStatus(a.send(new GetObjectCommand({ ...key, VersionId: theirs.VersionId }))),
        403,
      );
      assertEquals(await httpStatus(a.send(new HeadObjectCommand(key))), 403);
      assertEquals(
        await httpStatus(a.send(new PutObjectCommand({ ...key, Body: "overwritten" }))),
        403,
      );
      const left = await owner.send(new ListObjectVersionsCommand({ Bucket, Prefix: "db1/" }));
      assertEquals(left.Versions?.map((v) => v.VersionId), [theirs.VersionId]);
      const own = { Bucket, Key: "web1/notes.txt" };
      assertEquals(await httpStatus(a.send(new PutObjectCommand({ ...own, Body: "mine" }))), 200);
      assertEquals(await httpStatus(a.send(new GetObjectCommand(own))), 200);
      assertEquals(await httpStatus(a.send(new DeleteObjectCommand(own))), 403);
      assertEquals(await httpStatus(db1.client.send(new GetObjectCommand(own))), 403);

      // 3. Every identity reads the versioning status and aborts its own multipart uploads.
      for (
        const [who, client, prefix] of [[web1, a, "web1/"], [whole, whole.client, ""]] as const
      ) {
        assertEquals(
          await httpStatus(client.send(new GetBucketVersioningCommand({ Bucket }))),
          200,
        );
        const Key = `${prefix}big.bin`;
        const upload = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
        assertEquals(
          await httpStatus(
            client.send(
              new AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId }),
            ),
          ),
          200,
          `${who.user.uid}: AbortMultipartUpload`,
        );
      }

      // 4. The tool itself, with each host's keys and key_prefix = the host.
      for (const [host, who] of [["web1", web1], ["db1", db1]] as const) {
        const src = join(dir, host, "src");
        Deno.mkdirSync(join(src, "sub"), { recursive: true });
        Deno.writeTextFileSync(join(src, "report.txt"), `${host} report`);
        Deno.writeTextFileSync(join(src, "sub", "photo.jpg"), `${host} photo`);
        const cfg = join(dir, host, "s3backup.toml");
        Deno.writeTextFileSync(
          cfg,
          toml("")
            .replace(
              'source = "./data"',
              `source = "${src}"\nkey_prefix = "${host}"\nstate_dir = "${
                join(dir, host, "state")
              }"`,
            )
            .replace(
              'region = "eu-south-1"',
              `region = "${rgw!.region}"\nendpoint = "${rgw!.endpoint}"`,
            ),
        );
        const env = {
          AWS_ACCESS_KEY_ID: who.user.accessKeyId,
          AWS_SECRET_ACCESS_KEY: who.user.secretAccessKey,
          AWS_REGION: rgw!.region,
          HOME: join(dir, host),
        };
        const run = await runCli(["run", "-c", cfg, "--json"], { env });
        assertEquals(run.code, 0, `${host} run: ${run.stderr}`);
        const report = JSON.parse(run.stdout);
        assertEquals([report.uploaded, report.errors], [2, 0], run.stdout);
        const verify = await runCli(["verify", "-c", cfg, "--compare"], { env });
        assertEquals(verify.code, 0, `${host} verify: ${verify.stdout}${verify.stderr}`);
        const to = join(dir, host, "restored");
        const restore = await runCli(["restore", "-c", cfg, "--to", to], { env });
        assertEquals(restore.code, 0, `${host} restore: ${restore.stdout}${restore.stderr}`);
        assertEquals(Deno.readTextFileSync(join(to, "sub", "photo.jpg")), `${host} photo`);
        const stored = await owner.send(new ListObjectsV2Command({ Bucket: buckets.photos }));
        assert(
          stored.Contents?.some((o) => o.Key === `${host}/sub/photo.jpg`),
          JSON.stringify(stored),
        );
        console.log(`  ${host}: run uploaded 2, verify --compare clean, restore wrote the files`);
      }
      // Host A's keys pretending to be host B: the buckets cannot be listed at all.
      const webCfg = join(dir, "web1", "s3backup.toml");
      const impostor = join(dir, "web1", "impostor.toml");
      Deno.writeTextFileSync(
        impostor,
        Deno.readTextFileSync(webCfg).replace('key_prefix = "web1"', 'key_prefix = "db1"'),
      );
      const denied = await runCli(["run", "-c", impostor, "--json"], {
        env: {
          AWS_ACCESS_KEY_ID: web1.user.accessKeyId,
          AWS_SECRET_ACCESS_KEY: web1.user.secretAccessKey,
          AWS_REGION: rgw!.region,
          HOME: join(dir, "web1"),
        },
      });
      assertEquals(denied.code, 4, denied.stdout + denied.stderr);
      assert(/AccessDenied/.test(denied.stdout), denied.stdout);
      console.log("  web1's keys with key_prefix db1: exit 4, AccessDenied");
    } finally {
      for (const Bucket of Object.values(buckets)) await removeBucket(owner, Bucket);
      for (const c of clients) c.destroy();
      owner.destroy();
      for (const u of users) await removeRgwUser(conf!, u.uid).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
