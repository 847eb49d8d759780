/**
 * restore stays inside --to, and a restore gives back what an unreadable folder held: the CLI as
 * a subprocess against a real versioned S3 (Ceph RGW; fauxqs keeps no versions).
 */
import assert from "node:assert/strict";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../servers/rgw_env.ts";
import { CAN_DROP_READ_OVERRIDE, type CliOptions, runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const rgw = await rgwFromEnv();
if (!rgw) console.warn(`SKIPPED restore_inside_rgw_test.ts: ${RGW_SKIP_MESSAGE}`);

function readTree(root: string, rel = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Deno.readDirSync(rel ? `${root}/${rel}` : root)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) Object.assign(out, readTree(root, p));
    else out[p] = Deno.readTextFileSync(`${root}/${p}`);
  }
  return out;
}

async function setup(files: Record<string, string>) {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const buckets = { documents: `id-${id}`, photos: `ip-${id}`, database: `ib-${id}` };
  const s3 = rgwClient(rgw!);
  for (const b of Object.values(buckets)) await createVersionedBucket(s3, b);
  s3.destroy();
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-inside-" });
  const src = `${dir}/src`;
  for (const [rel, content] of Object.entries(files)) {
    Deno.mkdirSync(`${src}/${rel}`.replace(/\/[^/]*$/, ""), { recursive: true });
    Deno.writeTextFileSync(`${src}/${rel}`, content);
  }
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
extensions = [".txt"]
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
    HOME: dir,
  };
  const cli = (args: string[], extra: CliOptions = {}) =>
    runCli([...args, "-c", cfg], { env, ...extra });
  return { dir, src, cli, cleanup: () => Deno.removeSync(dir, { recursive: true }) };
}

Deno.test({
  name: "restore (RGW): a symlinked folder under --to is never followed; --overwrite replaces it",
  ignore: !rgw,
  ...opts,
  fn: async () => {
    const files = {
      "top.txt": "top\n",
      "sub/pwned.txt": "would land outside\n",
      "deep/er/x.txt": "deeper\n",
    };
    const t = await setup(files);
    try {
      const run = await t.cli(["run"]);
      assert.equal(run.code, 0, run.stderr);
      const to = `${t.dir}/out`;
      const elsewhere = `${t.dir}/elsewhere`;
      const elsewhere2 = `${t.dir}/elsewhere2`;
      Deno.mkdirSync(to);
      Deno.mkdirSync(elsewhere);
      Deno.mkdirSync(elsewhere2);
      Deno.symlinkSync(elsewhere, `${to}/sub`);
      Deno.symlinkSync(elsewhere2, `${to}/deep`);

      for (const extra of [["--dry-run"], []]) {
        const r = await t.cli(["restore", "--to", to, ...extra]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /^Restore refused: /);
        assert.match(r.stdout, /Symlinked folders .*:\n {2}deep\n {2}sub\n/);
        assert.match(r.stderr, /2 folders are symlinks \(never followed\); nothing was restored/);
        assert.deepEqual([...Deno.readDirSync(elsewhere)], [], "nothing written outside --to");
        assert.deepEqual([...Deno.readDirSync(elsewhere2)], [], "no folder made outside --to");
        assert.throws(() => Deno.lstatSync(`${to}/top.txt`), "a refused restore writes nothing");
      }

      const over = await t.cli(["restore", "--to", to, "--overwrite", "--json"]);
      assert.equal(over.code, 0, over.stdout + over.stderr);
      assert.equal(JSON.parse(over.stdout).restored, 3);
      assert.ok(Deno.lstatSync(`${to}/sub`).isDirectory, "the link was replaced by a folder");
      assert.deepEqual(readTree(to), files);
      assert.deepEqual([...Deno.readDirSync(elsewhere)], []);
      assert.deepEqual([...Deno.readDirSync(elsewhere2)], []);
    } finally {
      t.cleanup();
    }
  },
});

Deno.test({
  name: "restore (RGW): --json keys are snake_case, like run --json",
  ignore: !rgw,
  ...opts,
  fn: async () => {
    const t = await setup({ "a.txt": "a\n" });
    try {
      assert.equal((await t.cli(["run"])).code, 0);
      const keysOf = (v: unknown): string[] =>
        Array.isArray(v)
          ? v.flatMap(keysOf)
          : v !== null && typeof v === "object"
          ? Object.entries(v).flatMap(([k, x]) => [k, ...keysOf(x)])
          : [];
      const dry = await t.cli(["restore", "--to", `${t.dir}/dry`, "--dry-run", "--json"]);
      assert.equal(dry.code, 0, dry.stderr);
      const json = JSON.parse(dry.stdout);
      assert.equal(json.dry_run, true);
      assert.equal(json.planned[0].path, "a.txt");
      assert.ok(json.planned[0].version_id);
      const real = await t.cli(["restore", "--to", `${t.dir}/out`, "--json"]);
      const again = await t.cli(["restore", "--to", `${t.dir}/out`, "--json"]);
      assert.equal(JSON.parse(again.stdout).already_present, 1);
      for (const out of [dry.stdout, real.stdout, again.stdout]) {
        for (const k of keysOf(JSON.parse(out))) assert.match(k, /^[a-z0-9_]+$/, k);
      }
    } finally {
      t.cleanup();
    }
  },
});

Deno.test({
  name: "restore (RGW): files of a folder a later run could not read are still restored",
  ignore: !rgw || !CAN_DROP_READ_OVERRIDE,
  ...opts,
  fn: async () => {
    const t = await setup({
      "keep.txt": "keep\n",
      "locked/a.txt": "in the locked folder\n",
      "locked/deep/b.txt": "deeper in it\n",
    });
    try {
      assert.equal((await t.cli(["run"])).code, 0);
      Deno.writeTextFileSync(`${t.src}/new.txt`, "added later\n");
      Deno.chmodSync(`${t.src}/locked`, 0o000);
      const second = await t.cli(["run", "--json"], { withoutReadOverride: true });
      Deno.chmodSync(`${t.src}/locked`, 0o755);
      assert.equal(second.code, 1, second.stdout + second.stderr);
      const json = JSON.parse(second.stdout);
      assert.deepEqual(json.failures.map((f: { path: string }) => f.path), ["locked/"]);
      assert.equal(json.uploaded, 1);

      const r = await t.cli(["restore", "--to", `${t.dir}/out`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(readTree(`${t.dir}/out`), {
        "keep.txt": "keep\n",
        "new.txt": "added later\n",
        "locked/a.txt": "in the locked folder\n",
        "locked/deep/b.txt": "deeper in it\n",
      });
    } finally {
      t.cleanup();
    }
  },
});
