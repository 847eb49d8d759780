/**
 * `[[dumps]]` through the CLI (a subprocess) against fauxqs, with real commands: stdout
 * streamed into its object (over several parts too), what a failed, empty or hung dump leaves
 * (nothing), the report, --json, the dry run, and the dump's record in the run manifest. The
 * database round trips and the versions left on a real versioned S3 are in
 * databases_rgw_test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { writeConfig } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";
import { decodeManifestEntries } from "../../lib/core/manifest.ts";
import { MANIFEST_NAME } from "../../lib/core/layout.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
let counter = 0;

interface DumpJson {
  name: string;
  bucket: string;
  key: string;
  status: string;
  bytes: number;
  duration_ms: number;
  sha256?: string;
  version_id?: string;
  error?: string;
  stderr?: string[];
}

interface Report {
  status: string;
  uploaded: number;
  errors: number;
  failures: Array<{ path: string; error: string }>;
  dumps: DumpJson[];
}

/** A [[dumps]] table. */
function dump(name: string, argv: string[], more = ""): string {
  return `[[dumps]]\nname = "${name}"\ncommand = ${JSON.stringify(argv)}\n${more}\n`;
}

const sh = (script: string) => ["sh", "-c", script];

async function fixture(files: Record<string, string> = { "notes.txt": "notes\n" }) {
  const n = ++counter;
  const buckets = { documents: `dp-docs-${n}`, photos: `dp-photos-${n}`, database: `dp-db-${n}` };
  const aws = await startLocalAws(Object.values(buckets));
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-dumps-" });
  const src = `${dir}/src`;
  for (const [rel, content] of Object.entries(files)) {
    Deno.mkdirSync(dirname(`${src}/${rel}`), { recursive: true });
    Deno.writeTextFileSync(`${src}/${rel}`, content);
  }
  const s3 = testS3Client(aws.endpoint);
  const cfg = (extra: string) =>
    writeConfig(dir, {
      source: src,
      stateDir: `${dir}/state`,
      endpoint: aws.endpoint,
      buckets,
      extra,
    });
  const bytesOf = async (bucket: string, key: string) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body!.transformToByteArray();
  };
  return {
    aws,
    dir,
    src,
    buckets,
    cfg,
    async run(extra: string, ...args: string[]) {
      const r = await runCli(["run", "-c", cfg(extra), "--json", ...args], {
        env: { ...aws.env, PGPASSWORD: "s3cr3t-pw" },
      });
      try {
        return { code: r.code, json: JSON.parse(r.stdout) as Report, stderr: r.stderr };
      } catch {
        throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
    },
    async text(extra: string) {
      return await runCli(["run", "-c", cfg(extra)], { env: aws.env });
    },
    async keys(bucket: string) {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (out.Contents ?? []).map((o) => o.Key!).filter((k) => !k.startsWith(".s3backup/"));
    },
    bytesOf,
    async manifest(bucket: string) {
      return decodeManifestEntries(await bytesOf(bucket, MANIFEST_NAME));
    },
    async cleanup() {
      s3.destroy();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

Deno.test({
  name: "dumps: stdout streamed into dumps/<name><ext>, one part or several; report and JSON",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      const extra = dump("prod", sh('printf "CREATE TABLE t (x int);\\n"'), `extension = ".sql"`) +
        dump("big", sh("yes 0123456789abcdef | head -c 20000000"), `extension = ".dump"`);
      const r = await fx.run(extra);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.status, "OK");
      assert.equal(r.json.uploaded, 1, "the file is counted as a file, the dumps apart");
      const [prod, big] = r.json.dumps;
      assert.deepEqual(
        { ...prod, duration_ms: 0 },
        {
          name: "prod",
          bucket: fx.buckets.database,
          key: "dumps/prod.sql",
          status: "uploaded",
          bytes: 24,
          duration_ms: 0,
          sha256: sha256(new TextEncoder().encode("CREATE TABLE t (x int);\n")),
        },
      );
      const stored = await fx.bytesOf(fx.buckets.database, "dumps/big.dump");
      assert.equal(stored.length, 20_000_000);
      assert.equal(big.bytes, 20_000_000);
      assert.equal(big.sha256, sha256(stored));
      assert.match(
        r.stderr,
        /Dumping prod \(sh -c .*\) to s3:\/\/dp-db-\d+\/dumps\/prod\.sql\.\.\./,
      );

      // The run manifest records each dump's SHA-256 (what restore checks it against).
      const m = await fx.manifest(fx.buckets.database);
      assert.ok(m.keys.has("dumps/prod.sql") && m.keys.has("dumps/big.dump"));
      assert.equal(m.dumps.get("dumps/big.dump")?.sha256, big.sha256);
      assert.equal(m.dumps.get("dumps/big.dump")?.size, 20_000_000);

      // The dumps have no file in the tree: verify --compare does not call them extra.
      const cmp = await runCli(["verify", "--compare", "-c", fx.cfg(extra)], { env: fx.aws.env });
      assert.equal(cmp.code, 0, cmp.stdout + cmp.stderr);
      assert.match(cmp.stdout, /^Extra: 0$/m);

      const text = await fx.text(extra);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Backup completed\.\nFiles uploaded: 0\n/);
      assert.match(text.stdout, /^Dumps: 2 uploaded, 0 failed$/m);
      assert.match(
        text.stdout,
        /^ {2}big: 19\.1 MiB \(20000000 bytes\) in \d+\.\d\d s -> s3:\/\/dp-db-\d+\/dumps\/big\.dump$/m,
      );
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name:
    "dumps: exit 1 halfway, no output, or past its timeout: FAILED, no object, the rest goes on",
  ...opts,
  fn: async () => {
    const fx = await fixture({ "notes.txt": "notes\n", "db/app.sql": "sql\n" });
    try {
      const extra = dump(
        "halfway",
        sh(
          'yes INSERT | head -c 10000000; echo "pg_dump: error: connection lost ($PGPASSWORD)" >&2; exit 1',
        ),
      ) +
        dump("empty", ["true"]) +
        dump("hung", ["sleep", "30"], `timeout = "1s"`) +
        dump("good", sh("echo ok"));
      const t0 = Date.now();
      const r = await fx.run(extra);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.json.status, "FAILED");
      assert.equal(r.json.uploaded, 2, "the files were backed up");
      assert.equal(r.json.errors, 3);
      assert.deepEqual(r.json.dumps.map((d) => [d.name, d.status]), [
        ["halfway", "failed"],
        ["empty", "failed"],
        ["hung", "failed"],
        ["good", "uploaded"],
      ]);
      const [halfway, empty, hung] = r.json.dumps;
      assert.equal(halfway.error, "exited with code 1");
      assert.deepEqual(halfway.stderr, ["pg_dump: error: connection lost (***)"], "no secret");
      assert.equal(empty.error, "the command wrote nothing to stdout (exit 0)");
      assert.equal(hung.error, "timed out after 1s (killed)");
      assert.ok(Date.now() - t0 < 20_000);
      const failure = r.json.failures.find((f) => f.path === "dump halfway");
      assert.match(
        failure!.error,
        /^exited with code 1; stderr: pg_dump: error: connection lost \(\*\*\*\) \(no new version of s3:\/\/dp-db-\d+\/dumps\/halfway\.sql\)$/,
      );
      assert.ok(!r.stderr.includes("s3cr3t-pw"), "the password is in no log line");
      assert.deepEqual((await fx.keys(fx.buckets.database)).sort(), [
        "db/app.sql",
        "dumps/good.sql",
      ]);
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "dumps: a failed dump keeps the last good dump's record in the run manifest",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      const good = await fx.run(dump("prod", sh("echo night one")));
      assert.equal(good.code, 0, good.stderr);
      const record = (await fx.manifest(fx.buckets.database)).dumps.get("dumps/prod.sql");
      assert.equal(record?.sha256, good.json.dumps[0].sha256);

      const bad = await fx.run(dump("prod", sh("echo partial; exit 2")));
      assert.equal(bad.code, 1);
      const m = await fx.manifest(fx.buckets.database);
      assert.ok(m.keys.has("dumps/prod.sql"), "restore --at tonight still finds the dump");
      assert.deepEqual(m.dumps.get("dumps/prod.sql"), record);
      assert.equal(
        new TextDecoder().decode(await fx.bytesOf(fx.buckets.database, "dumps/prod.sql")),
        "night one\n",
      );
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "dumps: a dry run runs no command and says where each dump would go",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      const marker = `${fx.dir}/ran`;
      const extra = dump("prod", sh(`touch "${marker}"; echo x`), `extension = ".dump"`);
      const r = await fx.run(extra, "--dry-run");
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.json.dumps.map((d) => [d.name, d.status, d.key]), [
        ["prod", "would-run", "dumps/prod.dump"],
      ]);
      assert.throws(() => Deno.statSync(marker), "the command did not run");
      const text = await runCli(["run", "-c", fx.cfg(extra), "--dry-run"], { env: fx.aws.env });
      assert.match(
        text.stdout,
        /^Dumps to run: 1\n {2}prod: would run -> s3:\/\/dp-db-\d+\/dumps\/prod\.dump$/m,
      );
      assert.match(text.stderr, /Would dump prod \(sh -c .*\) to s3:\/\//);
      assert.throws(() => Deno.statSync(marker));
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "dumps: a file at a dump's key is not uploaded over it (a failure naming the dump)",
  ...opts,
  fn: async () => {
    const fx = await fixture({ "dumps/prod.sql": "an old dump file\n", "dumps/other.sql": "x" });
    try {
      const r = await fx.run(dump("prod", sh("echo fresh")));
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(r.json.failures.map((f) => f.path), ["dumps/prod.sql"]);
      assert.match(r.json.failures[0].error, /is where the dump 'prod' goes/);
      assert.equal(
        new TextDecoder().decode(await fx.bytesOf(fx.buckets.database, "dumps/prod.sql")),
        "fresh\n",
      );
      assert.ok((await fx.keys(fx.buckets.database)).includes("dumps/other.sql"));
    } finally {
      await fx.cleanup();
    }
  },
});
