/**
 * Against a real versioned S3 (Ceph RGW): `snapshots` lists the restore points, each usable as
 * `restore --at`, from a machine with no local state; and a bucket made without versioning is
 * warned about by `run` and shown by `verify` (fauxqs ignores versioning: neither is provable
 * there).
 */
import assert from "node:assert/strict";
import { CreateBucketCommand, PutBucketVersioningCommand } from "@aws-sdk/client-s3";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../servers/rgw_env.ts";
import { runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const rgw = await rgwFromEnv();
if (!rgw) console.warn(`SKIPPED snapshots_rgw_test.ts: ${RGW_SKIP_MESSAGE}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readTree(root: string, rel = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Deno.readDirSync(rel ? `${root}/${rel}` : root)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) Object.assign(out, readTree(root, p));
    else out[p] = Deno.readTextFileSync(`${root}/${p}`);
  }
  return out;
}

/** Buckets (versioned unless named in `unversioned`), a source, and a config per "machine". */
async function setup(unversioned: string[] = []) {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const buckets = { documents: `sd-${id}`, photos: `sp-${id}`, database: `sb-${id}` };
  const s3 = rgwClient(rgw!);
  for (const [name, b] of Object.entries(buckets)) {
    if (unversioned.includes(name)) await s3.send(new CreateBucketCommand({ Bucket: b }));
    else await createVersionedBucket(s3, b);
  }
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-snap-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  const config = (name: string) => {
    const path = `${dir}/${name}.toml`;
    Deno.writeTextFileSync(
      path,
      `source = "${src}"
state_dir = "${dir}/${name}-state"
unmatched = "documents"
[aws]
region = "${rgw!.region}"
endpoint = "${rgw!.endpoint}"
[categories.documents]
bucket = "${buckets.documents}"
extensions = [".txt"]
[categories.photos]
bucket = "${buckets.photos}"
extensions = [".jpg"]
[categories.database]
bucket = "${buckets.database}"
extensions = [".sql"]
`,
    );
    return path;
  };
  const env = {
    AWS_ACCESS_KEY_ID: rgw!.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
    AWS_REGION: rgw!.region,
  };
  const server = config("server");
  const cli = (cfg: string, ...args: string[]) => runCli([...args, "-c", cfg], { env });
  return { s3, buckets, dir, src, server, config, cli };
}

interface SnapshotJson {
  time: string;
  bucket: string;
  categories: string[];
  files: number;
  bytes: number;
  missing: number;
}

Deno.test({
  name:
    "snapshots (RGW): one restore point per run that changed a bucket, each usable as restore --at",
  ignore: !rgw,
  ...opts,
  fn: async () => {
    const t = await setup();
    try {
      Deno.writeTextFileSync(`${t.src}/a.txt`, "a v1\n");
      Deno.writeTextFileSync(`${t.src}/cat.jpg`, "jpeg");
      Deno.writeTextFileSync(`${t.src}/db.sql`, "CREATE TABLE t;\n");
      assert.equal((await t.cli(t.server, "run")).code, 0);
      await sleep(1100); // RGW's listings have 1 s resolution
      // Only a content change: the key set is the same, yet it is a new restore point.
      Deno.writeTextFileSync(`${t.src}/a.txt`, "a v2, longer\n");
      assert.equal((await t.cli(t.server, "run")).code, 0);
      await sleep(1100);
      Deno.removeSync(`${t.src}/cat.jpg`);
      assert.equal((await t.cli(t.server, "run")).code, 0);

      // Another machine: the same buckets, no local state at all.
      const other = t.config("other");
      const r = await t.cli(other, "snapshots", "--json");
      assert.equal(r.code, 0, r.stderr);
      assert.throws(() => Deno.statSync(`${t.dir}/other-state`), "no state needed or made");
      const list: SnapshotJson[] = JSON.parse(r.stdout).snapshots;
      const of = (category: string) => list.filter((s) => s.categories[0] === category);
      assert.deepEqual(of("documents").map((s) => [s.files, s.bytes, s.missing]), [[1, 5, 0], [
        1,
        13,
        0,
      ]]);
      assert.deepEqual(of("photos").map((s) => [s.files, s.bytes]), [[1, 4], [0, 0]]);
      assert.deepEqual(of("database").map((s) => [s.files, s.bytes]), [[1, 16]]);
      for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].time <= list[i].time, "in order");

      // Each restore point gives back exactly that state of its bucket.
      const restored = async (s: SnapshotJson, n: number) => {
        const to = `${t.dir}/r${n}`;
        const res = await t.cli(
          other,
          "restore",
          "--to",
          to,
          "--at",
          s.time,
          "--category",
          s.categories[0],
        );
        return { code: res.code, tree: res.code === 0 ? readTree(to) : {}, out: res.stdout };
      };
      const [d1, d2] = of("documents");
      assert.deepEqual((await restored(d1, 1)).tree, { "a.txt": "a v1\n" });
      assert.deepEqual((await restored(d2, 2)).tree, { "a.txt": "a v2, longer\n" });
      const [p1, p2] = of("photos");
      assert.deepEqual((await restored(p1, 3)).tree, { "cat.jpg": "jpeg" });
      const gone = await restored(p2, 4);
      assert.equal(gone.code, 1, "the photo was deleted by then: nothing to restore");
      assert.match(gone.out, /no file was in the backup as of/);

      const text = await t.cli(other, "snapshots", "--category", "documents");
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^TIME \(restore --at\) +CATEGORY +BUCKET +FILES +BYTES$/);
      assert.match(
        lines[1],
        new RegExp(`^${d1.time} +documents +s3://${t.buckets.documents}/ +1 file +5 B$`),
      );
      assert.equal(lines.length, 3);
    } finally {
      Deno.removeSync(t.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "versioning (RGW): a bucket without it is warned about by run, shown by verify, until enabled",
  ignore: !rgw,
  ...opts,
  fn: async () => {
    const t = await setup(["documents"]);
    try {
      Deno.writeTextFileSync(`${t.src}/a.txt`, "a");
      Deno.writeTextFileSync(`${t.src}/b.jpg`, "b");
      const first = await t.cli(t.server, "run", "--json");
      assert.equal(first.code, 0, "a warning, not a failure");
      const report = JSON.parse(first.stdout);
      assert.equal(report.status, "OK");
      const warning = new RegExp(
        `Versioning is not enabled on bucket ${t.buckets.documents} \\(Disabled\\): ` +
          "an overwritten file's previous content is not kept and restore --at cannot go back",
      );
      const versioning = (report.warnings as string[]).filter((w) => /Versioning/.test(w));
      assert.equal(versioning.length, 1, JSON.stringify(report.warnings));
      assert.match(versioning[0], warning);
      assert.match(first.stderr, / - WARNING - Versioning is not enabled on bucket /);
      assert.equal(report.requests.GetBucketVersioning, 3);

      // Enabled is trusted for a day; the unversioned bucket is asked again each run.
      const second = JSON.parse((await t.cli(t.server, "run", "--json")).stdout);
      assert.equal(second.requests.GetBucketVersioning, 1);
      assert.ok((second.warnings as string[]).some((w) => warning.test(w)), second.warnings);

      const ls = await t.cli(t.server, "verify");
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(
        ls.stdout,
        new RegExp(`^== documents: s3://${t.buckets.documents}/ \\(versioning: Disabled\\)$`, "m"),
      );
      assert.match(
        ls.stdout,
        new RegExp(`^== photos: s3://${t.buckets.photos}/ \\(versioning: Enabled\\)$`, "m"),
      );
      const snaps = await t.cli(t.server, "snapshots", "--category", "documents");
      assert.match(
        snaps.stderr,
        /WARNING - Versioning is Disabled on bucket .*only its latest state/,
      );

      await t.s3.send(
        new PutBucketVersioningCommand({
          Bucket: t.buckets.documents,
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      const fixed = JSON.parse((await t.cli(t.server, "run", "--json")).stdout);
      assert.deepEqual(
        (fixed.warnings as string[]).filter((w) => /Versioning/.test(w)),
        [],
        "the warning ends with the next run",
      );
    } finally {
      Deno.removeSync(t.dir, { recursive: true });
    }
  },
});
