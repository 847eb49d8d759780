/**
 * Several source trees (`[[sources]]`) through the CLI against fauxqs: keys under each tree's
 * prefix, excludes per tree added to the global ones, the run manifest covering every tree,
 * `verify --compare`, and a missing tree (exit 1; exit 2 when every tree is missing). Restore
 * per tree (`--prefix`) needs versions: databases_rgw_test.ts.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { testS3Client } from "../support/s3_client.ts";
import { type LocalAws, startLocalAws } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";
import { decodeManifest } from "../../lib/core/manifest.ts";
import { MANIFEST_NAME } from "../../lib/core/layout.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
let counter = 0;

function write(path: string, content: string) {
  Deno.mkdirSync(dirname(path), { recursive: true });
  Deno.writeTextFileSync(path, content);
}

interface Report {
  status: string;
  uploaded: number;
  skipped: number;
  excluded: number;
  errors: number;
  fatal?: string;
  failures: Array<{ path: string; error: string }>;
}

async function fixture() {
  const n = ++counter;
  const bucket = `src-all-${n}`;
  const aws: LocalAws = await startLocalAws([bucket]);
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-sources-" });
  const www = `${dir}/srv/www`;
  const etc = `${dir}/etc`;
  write(`${www}/index.html`, "<h1>hi</h1>");
  write(`${www}/cache/page.html`, "cached");
  write(`${www}/img/logo.tmp`, "tmp");
  write(`${etc}/hosts`, "127.0.0.1 localhost\n");
  write(`${etc}/nginx/nginx.conf`, "events {}\n");
  write(`${etc}/.git/HEAD`, "ref\n");
  const cfg = `${dir}/s3backup.toml`;
  Deno.writeTextFileSync(
    cfg,
    `state_dir = "${dir}/state"
exclude = ["**/.git/**", "**/*.tmp"]
key_prefix = "web1"

[[sources]]
path = "${www}"
prefix = "www"
exclude = ["**/cache/**"]

[[sources]]
path = "${etc}"
prefix = "etc"

[aws]
region = "us-east-1"
endpoint = "${aws.endpoint}"

[categories.all]
bucket = "${bucket}"
extensions = [".html"]
`,
  );
  const s3 = testS3Client(aws.endpoint);
  return {
    aws,
    dir,
    www,
    etc,
    bucket,
    cfg,
    async cli(...args: string[]) {
      return await runCli([...args, "-c", cfg], { env: aws.env });
    },
    async run() {
      const r = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
      try {
        return { code: r.code, json: JSON.parse(r.stdout) as Report, stderr: r.stderr };
      } catch {
        throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
    },
    async keys() {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (out.Contents ?? []).map((o) => o.Key!).sort();
    },
    async manifest() {
      const out = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: `web1/${MANIFEST_NAME}` }),
      );
      return [...decodeManifest(await out.Body!.transformToByteArray())].sort();
    },
    async cleanup() {
      s3.destroy();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

const ALL = [
  "web1/etc/hosts",
  "web1/etc/nginx/nginx.conf",
  "web1/www/index.html",
];

Deno.test({
  name: "[[sources]]: each tree under its prefix, its excludes and the global ones; one manifest",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      const r = await fx.run();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.uploaded, 3);
      assert.equal(r.json.excluded, 3, "www/cache/ (its own), *.tmp and .git/ (global)");
      assert.deepEqual(await fx.keys(), [...ALL, `web1/${MANIFEST_NAME}`].sort());
      assert.deepEqual(await fx.manifest(), ALL);
      assert.match(
        r.stderr,
        new RegExp(`Starting incremental backup from directory: ${fx.www}, ${fx.etc}`),
      );

      const again = await fx.run();
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json.uploaded, 0);
      assert.equal(again.json.skipped, 3);

      const cmp = await fx.cli("verify", "--compare");
      assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
      assert.match(cmp.stdout, /^Compared 3 files with the buckets \(metadata\)\.\nMatching: 3\n/);

      // A change in one tree is found by --compare under its prefix.
      Deno.writeTextFileSync(`${fx.etc}/hosts`, "10.0.0.1 db\n");
      const changed = await fx.cli("verify", "--compare");
      assert.equal(changed.code, 1);
      assert.match(changed.stdout, /^CHANGED {2}s3:\/\/src-all-\d+\/web1\/etc\/hosts: size/m);
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name:
    "[[sources]]: a missing tree fails alone (exit 1), its keys kept; every tree missing: exit 2",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      assert.equal((await fx.run()).code, 0);
      Deno.renameSync(fx.www, `${fx.www}.unmounted`);
      write(`${fx.etc}/new.conf`, "x\n");
      const r = await fx.run();
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.json.status, "FAILED");
      assert.equal(r.json.uploaded, 1, "the other tree was backed up");
      assert.deepEqual(r.json.failures, [{
        path: "www/",
        error: `source directory does not exist: ${fx.www}`,
      }]);
      assert.deepEqual(
        await fx.manifest(),
        [...ALL, "web1/etc/new.conf"].sort(),
        "the missing tree's files are still in the backup as of now",
      );

      Deno.renameSync(fx.etc, `${fx.etc}.unmounted`);
      const none = await fx.run();
      assert.equal(none.code, 2, none.stderr);
      assert.match(
        none.json.fatal!,
        /^no source tree can be backed up: source directory does not exist: /,
      );
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "[[sources]]: overlapping prefixes are a config error (exit 2) naming both",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      Deno.writeTextFileSync(
        fx.cfg,
        Deno.readTextFileSync(fx.cfg).replace(`prefix = "etc"`, `prefix = "www/etc"`),
      );
      const r = await fx.cli("run");
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /'sources\[1\]\.prefix' = 'www\/etc' overlaps 'sources\[0\]\.prefix' = 'www'/,
      );
    } finally {
      await fx.cleanup();
    }
  },
});
