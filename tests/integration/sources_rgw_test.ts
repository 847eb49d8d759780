/**
 * `restore --prefix` per source tree, on a real versioned S3 (Ceph RGW): each `[[sources]]`
 * tree comes back under its prefix, alone, and as it was at --at.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../servers/rgw_env.ts";
import { runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const rgw = await rgwFromEnv();
if (!rgw) console.warn(`SKIPPED sources_rgw_test.ts: ${RGW_SKIP_MESSAGE}`);

function write(path: string, content: string) {
  Deno.mkdirSync(dirname(path), { recursive: true });
  Deno.writeTextFileSync(path, content);
}

function readTree(root: string, rel = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Deno.readDirSync(rel ? `${root}/${rel}` : root)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) Object.assign(out, readTree(root, p));
    else out[p] = Deno.readTextFileSync(`${root}/${p}`);
  }
  return out;
}

Deno.test({
  name: "[[sources]] (RGW): restore --prefix brings back one tree, as it was at --at",
  ignore: !rgw,
  ...opts,
  fn: async () => {
    const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const bucket = `srcs-${id}`;
    await createVersionedBucket(rgwClient(rgw!), bucket);
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-sources-rgw-" });
    try {
      write(`${dir}/www/index.html`, "v1");
      write(`${dir}/www/img/logo.png`, "png");
      write(`${dir}/etc/hosts`, "hosts");
      const cfg = `${dir}/s3backup.toml`;
      Deno.writeTextFileSync(
        cfg,
        `state_dir = "${dir}/state"
[[sources]]
path = "${dir}/www"
prefix = "www"
[[sources]]
path = "${dir}/etc"
prefix = "etc"
[aws]
region = "${rgw!.region}"
endpoint = "${rgw!.endpoint}"
[categories.all]
bucket = "${bucket}"
extensions = [".html"]
`,
      );
      const env = {
        AWS_ACCESS_KEY_ID: rgw!.accessKeyId,
        AWS_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
        AWS_REGION: rgw!.region,
      };
      const cli = (...args: string[]) => runCli([...args, "-c", cfg], { env });
      assert.equal((await cli("run")).code, 0);
      await new Promise((r) => setTimeout(r, 1100));
      const first = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 1100));
      write(`${dir}/www/index.html`, "v2, later");
      Deno.removeSync(`${dir}/www/img/logo.png`);
      assert.equal((await cli("run")).code, 0);

      const www = await cli("restore", "--to", `${dir}/r1`, "--prefix", "www/", "--at", first);
      assert.equal(www.code, 0, www.stdout + www.stderr);
      assert.deepEqual(readTree(`${dir}/r1`), {
        "www/index.html": "v1",
        "www/img/logo.png": "png",
      });

      const etc = await cli("restore", "--to", `${dir}/r2`, "--prefix", "etc/");
      assert.equal(etc.code, 0, etc.stdout + etc.stderr);
      assert.deepEqual(readTree(`${dir}/r2`), { "etc/hosts": "hosts" });

      const now = await cli("restore", "--to", `${dir}/r3`, "--prefix", "www/");
      assert.equal(now.code, 0, now.stdout + now.stderr);
      assert.deepEqual(readTree(`${dir}/r3`), { "www/index.html": "v2, later" });
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
