/**
 * verify and restore against a real versioned S3 (Ceph RGW, started by tests/servers/rgw.sh):
 * the CLI as a subprocess. fauxqs ignores versioning, so none of this could be proven there.
 */
import assert from "node:assert/strict";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../servers/rgw_env.ts";
import { runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const rgw = await rgwFromEnv();
if (!rgw) console.warn(`SKIPPED restore_rgw_test.ts: ${RGW_SKIP_MESSAGE}`);

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

async function setup() {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const buckets = { documents: `rd-${id}`, photos: `rp-${id}`, database: `rb-${id}` };
  const s3 = rgwClient(rgw!);
  for (const b of Object.values(buckets)) await createVersionedBucket(s3, b);
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-rgw-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/photos`, { recursive: true });
  const cfg = `${dir}/s3backup.toml`;
  Deno.writeTextFileSync(
    cfg,
    `source = "${src}"
state_dir = "${dir}/state"
unmatched = "documents"
[aws]
region = "${rgw!.region}"
endpoint = "${rgw!.endpoint}"
[categories.documents]
bucket = "${buckets.documents}"
extensions = [".txt", ".pdf"]
[categories.photos]
bucket = "${buckets.photos}"
extensions = [".jpg"]
[categories.database]
bucket = "${buckets.database}"
extensions = [".sql"]
`,
  );
  const env = {
    AWS_ACCESS_KEY_ID: rgw!.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
    AWS_REGION: rgw!.region,
  };
  const cli = (...args: string[]) => runCli([...args, "-c", cfg], { env });
  return {
    s3,
    buckets,
    dir,
    src,
    cfg,
    cli,
    cleanup: () => Deno.removeSync(dir, { recursive: true }),
  };
}

Deno.test({
  name: "restore (RGW): --at the first moment gives the first tree; now gives the second",
  ignore: !rgw,
  ...opts,
  fn: async () => {
    const t = await setup();
    try {
      const first = {
        "notes.txt": "notes v1\n",
        "report.pdf": "%PDF v1",
        "photos/cat.jpg": "jpeg v1",
        "db.sql": "CREATE TABLE v1;\n",
      };
      for (const [p, c] of Object.entries(first)) Deno.writeTextFileSync(`${t.src}/${p}`, c);
      const r1 = await t.cli("run");
      assert.equal(r1.code, 0, r1.stderr);
      await sleep(1100); // listings have 1 s resolution on RGW
      const firstMoment = new Date().toISOString();
      await sleep(1100);

      Deno.writeTextFileSync(`${t.src}/notes.txt`, "notes v2, longer\n");
      Deno.removeSync(`${t.src}/report.pdf`);
      const r2 = await t.cli("run");
      assert.equal(r2.code, 0, r2.stderr);
      assert.match(r2.stdout, /Files uploaded: 1\n/);

      const dry = await t.cli("restore", "--to", `${t.dir}/dry`, "--at", firstMoment, "--dry-run");
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would restore notes\.txt \(version \S+, \S+, 9 bytes\)/);
      assert.throws(() => Deno.statSync(`${t.dir}/dry`), "dry run writes nothing");

      const old = await t.cli("restore", "--to", `${t.dir}/then`, "--at", firstMoment);
      assert.equal(old.code, 0, old.stderr);
      assert.deepEqual(readTree(`${t.dir}/then`), first);
      // Original mtime comes back.
      const srcM = Deno.statSync(`${t.src}/photos/cat.jpg`).mtime!.getTime();
      assert.equal(Deno.statSync(`${t.dir}/then/photos/cat.jpg`).mtime!.getTime(), srcM);

      // A rerun into the same folder skips what is already there with that content.
      const rerun = await t.cli("restore", "--to", `${t.dir}/then`, "--at", firstMoment);
      assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
      assert.match(rerun.stdout, /Files restored: 0\n/);
      assert.match(rerun.stdout, /Files already present with the same content: 4\n/);

      const now = await t.cli("restore", "--to", `${t.dir}/now`);
      assert.equal(now.code, 0, now.stderr);
      assert.deepEqual(readTree(`${t.dir}/now`), readTree(t.src), "report.pdf absent, notes v2");

      // Into a folder where files exist, without --overwrite: refuses, changes nothing.
      Deno.writeTextFileSync(`${t.dir}/now/notes.txt`, "local edit");
      const refused = await t.cli("restore", "--to", `${t.dir}/now`, "--at", firstMoment);
      assert.equal(refused.code, 1);
      assert.match(refused.stdout, /Restore refused/);
      assert.equal(Deno.readTextFileSync(`${t.dir}/now/notes.txt`), "local edit");
      assert.throws(() => Deno.statSync(`${t.dir}/now/report.pdf`));
      const over = await t.cli(
        "restore",
        "--to",
        `${t.dir}/now`,
        "--at",
        firstMoment,
        "--overwrite",
      );
      assert.equal(over.code, 0, over.stderr);
      assert.deepEqual(readTree(`${t.dir}/now`), first);

      // --category and --prefix narrow the restore.
      const only = await t.cli("restore", "--to", `${t.dir}/only`, "--category", "photos");
      assert.equal(only.code, 0, only.stderr);
      assert.deepEqual(Object.keys(readTree(`${t.dir}/only`)), ["photos/cat.jpg"]);
      const pre = await t.cli(
        "restore",
        "--to",
        `${t.dir}/pre`,
        "--prefix",
        "no",
        "--at",
        firstMoment,
      );
      assert.equal(pre.code, 0, pre.stderr);
      assert.deepEqual(readTree(`${t.dir}/pre`), { "notes.txt": "notes v1\n" });
    } finally {
      t.cleanup();
    }
  },
});

Deno.test({
  name: "verify (RGW): --compare catches a local edit; --deep and restore catch a corrupted object",
  ignore: !rgw,
  ...opts,
  fn: async () => {
    const t = await setup();
    try {
      Deno.writeTextFileSync(`${t.src}/a.txt`, "original content\n");
      Deno.writeTextFileSync(`${t.src}/b.txt`, "second file\n");
      assert.equal((await t.cli("run")).code, 0);

      const clean = await t.cli("verify", "--compare");
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /Matching: 2/);
      const listing = await t.cli("verify");
      assert.match(listing.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {9}17 a\.txt$/m);

      Deno.writeTextFileSync(`${t.src}/b.txt`, "SECOND FILE\n"); // same size
      const changed = await t.cli("verify", "--compare");
      assert.equal(changed.code, 1);
      assert.match(changed.stdout, /CHANGED +s3:\/\/\S+\/b\.txt/);
      Deno.writeTextFileSync(`${t.src}/b.txt`, "second file\n");

      // Corrupt a.txt behind the tool's back: other bytes, same recorded checksum metadata.
      const head = await t.s3.send(
        new HeadObjectCommand({ Bucket: t.buckets.documents, Key: "a.txt" }),
      );
      await t.s3.send(
        new PutObjectCommand({
          Bucket: t.buckets.documents,
          Key: "a.txt",
          Body: "CORRUPTED content",
          Metadata: head.Metadata,
        }),
      );
      const deep = await t.cli("verify", "--deep");
      assert.equal(deep.code, 1, deep.stdout);
      assert.match(deep.stdout, /CHANGED +s3:\/\/\S+\/a\.txt: /);
      const download = await t.cli("verify", "--deep", "--download");
      assert.equal(download.code, 1);
      assert.match(download.stdout, /a\.txt: /);

      const restored = await t.cli("restore", "--to", `${t.dir}/out`);
      assert.equal(restored.code, 1);
      assert.match(restored.stdout, /a\.txt: checksum mismatch/);
      assert.throws(() => Deno.statSync(`${t.dir}/out/a.txt`), "nothing left behind");
      assert.equal(Deno.readTextFileSync(`${t.dir}/out/b.txt`), "second file\n");
      const leftovers = [...Deno.readDirSync(`${t.dir}/out`)].map((e) => e.name);
      assert.deepEqual(leftovers, ["b.txt"], "no temporary files remain");
    } finally {
      t.cleanup();
    }
  },
});
