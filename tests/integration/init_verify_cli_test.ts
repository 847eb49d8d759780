/** `init` and `verify` (listing and --compare) through the CLI, against the embedded server. */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { parseConfigText } from "../../lib/config/config.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("init writes a starter config that loads, and never overwrites", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/s3backup.toml`;
    const r = await runCli(["init", "--bucket-prefix", "acme-backup", "--source", "/srv/data"], {
      cwd: dir,
      env: { XDG_STATE_HOME: `${dir}/xdg-state` },
    });
    assert.equal(r.code, 0, r.stderr);
    // Not beside the config (under /etc that is read-only to the unit): the XDG state folder,
    // written into the file so that it does not depend on who runs it later.
    assert.match(r.stdout, new RegExp(`state_dir = ${dir}/xdg-state/s3backup\\)`));
    assert.match(
      Deno.readTextFileSync(path),
      new RegExp(`^state_dir = "${dir}/xdg-state/s3backup"$`, "m"),
    );
    const config = parseConfigText(Deno.readTextFileSync(path), path, {});
    assert.deepEqual(config.categories.map((c) => [c.name, c.bucket]), [
      ["documents", "acme-backup-documents"],
      ["photos", "acme-backup-photos"],
      ["database", "acme-backup-database"],
    ]);
    assert.equal(config.source, "/srv/data");
    Deno.writeTextFileSync(path, "# mine\n");
    const again = await runCli(["init", "-c", path, "--bucket-prefix", "other"]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; not overwriting it/);
    assert.equal(Deno.readTextFileSync(path), "# mine\n");
    const bad = await runCli(["init", "-c", `${dir}/x.toml`, "--bucket-prefix", "Bad_Name"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--bucket-prefix Bad_Name: .*not a valid S3 bucket name/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  "verify: a missing bucket is reported (exit 1) and the others are still listed; odd keys stay one line",
  opts,
  async () => {
    const buckets = { documents: "vm-docs", photos: "vm-photos", database: "vm-db" };
    const aws = await startLocalAws([buckets.documents, buckets.photos]);
    const dir = Deno.makeTempDirSync();
    try {
      Deno.mkdirSync(`${dir}/src`);
      Deno.writeTextFileSync(`${dir}/src/two\nlines\tand tab.txt`, "x");
      Deno.writeTextFileSync(`${dir}/src/p.jpg`, "p");
      const cfg = writeConfig(dir, {
        source: `${dir}/src`,
        stateDir: `${dir}/state`,
        endpoint: aws.endpoint,
        buckets,
      });
      const cli = (...a: string[]) => runCli([...a, "-c", cfg], { env: aws.env });
      assert.equal((await cli("run")).code, 1, "the database bucket is missing");
      const ls = await cli("verify");
      assert.equal(ls.code, 1, ls.stderr);
      assert.match(
        ls.stdout,
        /^== documents: s3:\/\/vm-docs\/ \(versioning: Disabled\)\n.* two\\nlines\\tand tab\.txt\nTotal: 1 object, 1 byte$/m,
      );
      assert.match(
        ls.stdout,
        /^== photos: s3:\/\/vm-photos\/ \(versioning: Disabled\)\n.* p\.jpg\nTotal: 1 object, 1 byte$/m,
      );
      assert.match(
        ls.stdout,
        /^== database: s3:\/\/vm-db\/\nERROR: cannot list the bucket: .*NoSuchBucket/m,
      );
      assert.match(ls.stderr, / - ERROR - Error listing bucket vm-db: /);
      const json = JSON.parse((await cli("verify", "--json")).stdout);
      assert.equal(json[0].objects[0].key, "two\nlines\tand tab.txt");
      assert.match(json[0].objects[0].last_modified, /^\d{4}-/);
      assert.equal(json[0].objects[0].storage_class, "STANDARD");
      assert.match(json[2].error, /NoSuchBucket/);
      assert.equal(json[0].versioning, "Disabled");
      assert.equal(json[2].versioning, undefined, "not for a bucket that cannot be listed");
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "verify lists buckets like `aws s3 ls`; --compare finds missing, changed, extra",
  opts,
  async () => {
    const buckets = { documents: "v-docs", photos: "v-photos", database: "v-db" };
    const aws = await startLocalAws(Object.values(buckets));
    const dir = Deno.makeTempDirSync();
    try {
      Deno.mkdirSync(`${dir}/src/sub`, { recursive: true });
      Deno.writeTextFileSync(`${dir}/src/a.txt`, "alpha");
      Deno.writeTextFileSync(`${dir}/src/sub/b.jpg`, "beta-image");
      const cfg = writeConfig(dir, {
        source: `${dir}/src`,
        stateDir: `${dir}/state`,
        endpoint: aws.endpoint,
        buckets,
      });
      const cli = (...a: string[]) => runCli([...a, "-c", cfg], { env: aws.env });
      assert.equal((await cli("run")).code, 0);

      const ls = await cli("verify");
      assert.equal(ls.code, 0, ls.stderr);
      const lines = ls.stdout.split("\n");
      // fauxqs keeps no versions and says so (GetBucketVersioning gives no status).
      assert.equal(lines[0], "== documents: s3://v-docs/ (versioning: Disabled)");
      assert.match(lines[1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {10}5 a\.txt$/);
      assert.equal(lines[2], "Total: 1 object, 5 bytes");
      assert.match(ls.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {9}10 sub\/b\.jpg$/m);
      assert.doesNotMatch(ls.stdout, /manifest/, "the run manifest is not listed");
      const only = await cli("verify", "--category", "photos", "--json");
      assert.deepEqual(JSON.parse(only.stdout).map((l: { category: string }) => l.category), [
        "photos",
      ]);
      const unknown = await cli("verify", "--category", "nope");
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /--category nope: no such category/);

      assert.equal((await cli("verify", "--compare")).code, 0);
      Deno.writeTextFileSync(`${dir}/src/new.txt`, "not backed up yet");
      Deno.removeSync(`${dir}/src/sub/b.jpg`);
      const cmp = await cli("verify", "--compare", "--json");
      assert.equal(cmp.code, 1);
      const report = JSON.parse(cmp.stdout);
      assert.deepEqual(
        report.differences.map((d: { kind: string; key: string }) => [d.kind, d.key]),
        [["missing", "new.txt"], ["extra", "sub/b.jpg"]],
      );
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
