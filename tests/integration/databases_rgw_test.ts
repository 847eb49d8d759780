/**
 * Database dumps end to end, with real database tools against a real versioned S3 (Ceph RGW):
 * a PostgreSQL cluster (tests/servers/postgres.sh) dumped with pg_dump through a `[[dumps]]`
 * entry, dropped, and brought back with `restore --at` and pg_restore; the same for SQLite
 * (`sqlite3 … .dump`); and a dump command that fails halfway leaving no new version
 * (ListObjectVersions) and no open multipart upload. The CLI runs as a subprocess.
 */
import assert from "node:assert/strict";
import { ListMultipartUploadsCommand, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../servers/rgw_env.ts";
import { PG_SKIP_MESSAGE, pgFromEnv } from "../servers/pg_env.ts";
import { runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const rgw = await rgwFromEnv();
const pg = await pgFromEnv();
const inCi = Deno.env.get("CI") === "true";

async function has(program: string): Promise<boolean> {
  try {
    return (await new Deno.Command(program, { args: ["-version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}
const sqlite = await has("sqlite3");

if (!rgw) console.warn(`SKIPPED databases_rgw_test.ts: ${RGW_SKIP_MESSAGE}`);
if (!pg) console.warn(`SKIPPED the PostgreSQL round trip: ${PG_SKIP_MESSAGE}`);
if (!sqlite) {
  console.warn("SKIPPED the SQLite round trip: sqlite3 is not installed (apt-get install sqlite3)");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a program; throws with its stderr when it fails. */
async function exec(argv: string[], env: Record<string, string> = {}, stdin?: string) {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${argv.join(" ")} failed (${out.code}): ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

/** A source tree, two versioned buckets and a config whose extra lines may name files in dir. */
async function setup(extra: (dir: string) => string) {
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const buckets = { documents: `dbd-${id}`, database: `dbb-${id}` };
  const s3 = rgwClient(rgw!);
  for (const b of Object.values(buckets)) await createVersionedBucket(s3, b);
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-db-" });
  Deno.mkdirSync(`${dir}/src`);
  Deno.writeTextFileSync(`${dir}/src/README.txt`, "the server's files\n");
  const cfg = `${dir}/s3backup.toml`;
  Deno.writeTextFileSync(
    cfg,
    `source = "${dir}/src"
state_dir = "${dir}/state"
key_prefix = "db1"
${extra(dir)}
[aws]
region = "${rgw!.region}"
endpoint = "${rgw!.endpoint}"
[categories.documents]
bucket = "${buckets.documents}"
extensions = [".txt"]
[categories.database]
bucket = "${buckets.database}"
extensions = [".sql", ".dump"]
`,
  );
  const env = {
    AWS_ACCESS_KEY_ID: rgw!.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
    AWS_REGION: rgw!.region,
  };
  return {
    s3,
    dir,
    buckets,
    cli: (args: string[], more: Record<string, string> = {}) =>
      runCli([...args, "-c", cfg], { env: { ...env, ...more } }),
    async versions(key: string) {
      const out = await s3.send(
        new ListObjectVersionsCommand({ Bucket: buckets.database, Prefix: key }),
      );
      return (out.Versions ?? []).filter((v) => v.Key === key);
    },
    cleanup: () => Deno.removeSync(dir, { recursive: true }),
  };
}

/** A moment between two runs (RGW's listings have one-second resolution). */
async function moment(): Promise<string> {
  await sleep(1100);
  const at = new Date().toISOString();
  await sleep(1100);
  return at;
}

Deno.test({
  name: "PostgreSQL (RGW): pg_dump into [[dumps]], DROP DATABASE, restore --at + pg_restore",
  ignore: !rgw || !pg,
  ...opts,
  fn: async () => {
    const db = `s3b_${Date.now().toString(36)}`;
    // libpq's environment: the dump's command line carries no host, port or user.
    const pgEnv = { PGHOST: pg!.host, PGPORT: pg!.port, PGUSER: pg!.user };
    const psql = (dbname: string, sql: string) =>
      exec([
        `${pg!.bin}/psql`,
        "-X",
        "-q",
        "-t",
        "-A",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        dbname,
        "-c",
        sql,
      ], pgEnv);
    const t = await setup(() =>
      `[[dumps]]\nname = "shop"\ncommand = ["${pg!.bin}/pg_dump", "--format=custom", "${db}"]\n` +
      `extension = ".dump"\ntimeout = "10m"\n`
    );
    try {
      await psql("postgres", `CREATE DATABASE ${db}`);
      await psql(
        db,
        "CREATE TABLE orders (id int PRIMARY KEY, customer text, total numeric(10,2)); " +
          "INSERT INTO orders SELECT i, 'customer ' || i, i * 1.5 FROM generate_series(1, 1000) i",
      );
      const night1 = await t.cli(["run", "--json"], pgEnv);
      assert.equal(night1.code, 0, night1.stdout + night1.stderr);
      const report = JSON.parse(night1.stdout);
      assert.equal(report.dumps[0].status, "uploaded");
      assert.ok(report.dumps[0].bytes > 1000, `dump of ${report.dumps[0].bytes} bytes`);
      assert.ok(report.dumps[0].version_id, "RGW gave the dump a version id");
      const afterNight1 = await moment();

      await psql(
        db,
        "INSERT INTO orders SELECT i, 'late ' || i, 1 FROM generate_series(1001, 1500) i",
      );
      const night2 = await t.cli(["run"], pgEnv);
      assert.equal(night2.code, 0, night2.stdout + night2.stderr);
      assert.match(night2.stdout, /^Dumps: 1 uploaded, 0 failed$/m);
      assert.equal((await t.versions("db1/dumps/shop.dump")).length, 2);

      await psql("postgres", `DROP DATABASE ${db}`);

      const to = `${t.dir}/restored`;
      const r = await t.cli(["restore", "--to", to, "--at", afterNight1, "--prefix", "dumps/"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /Files restored: 1\n/);
      assert.doesNotMatch(r.stderr, /unchecked/, "checked against the manifest's SHA-256");

      await psql("postgres", `CREATE DATABASE ${db}`);
      await exec(
        [`${pg!.bin}/pg_restore`, "--exit-on-error", "-d", db, `${to}/dumps/shop.dump`],
        pgEnv,
      );
      assert.equal(
        (await psql(db, "SELECT count(*), sum(total) FROM orders")).trim(),
        "1000|750750.00",
      );

      // The latest dump holds the second night's rows.
      const now = `${t.dir}/now`;
      const latest = await t.cli(["restore", "--to", now, "--prefix", "dumps/shop"]);
      assert.equal(latest.code, 0, latest.stdout + latest.stderr);
      const list = await exec([`${pg!.bin}/pg_restore`, "--list", `${now}/dumps/shop.dump`]);
      assert.match(list, /TABLE DATA public orders/);
      await psql("postgres", `DROP DATABASE ${db}`);
      await psql("postgres", `CREATE DATABASE ${db}`);
      await exec([`${pg!.bin}/pg_restore`, "-d", db, `${now}/dumps/shop.dump`], pgEnv);
      assert.equal((await psql(db, "SELECT count(*) FROM orders")).trim(), "1500");
    } finally {
      await psql("postgres", `DROP DATABASE IF EXISTS ${db}`).catch(() => {});
      t.cleanup();
    }
  },
});

Deno.test({
  name: "SQLite (RGW): sqlite3 .dump into [[dumps]], database deleted, restore --at + sqlite3 <",
  ignore: !rgw || !sqlite,
  ...opts,
  fn: async () => {
    const t = await setup((dir) =>
      `[[dumps]]\nname = "app"\ncommand = ["sqlite3", "${dir}/app.db", ".dump"]\n`
    );
    const dbFile = `${t.dir}/app.db`;
    try {
      await exec([
        "sqlite3",
        dbFile,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); " +
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) " +
        "INSERT INTO notes SELECT i, 'note ' || i FROM n;",
      ]);
      const night1 = await t.cli(["run"]);
      assert.equal(night1.code, 0, night1.stdout + night1.stderr);
      const afterNight1 = await moment();
      await exec(["sqlite3", dbFile, "DELETE FROM notes WHERE id > 10;"]);
      assert.equal((await t.cli(["run"])).code, 0);
      Deno.removeSync(dbFile);

      const to = `${t.dir}/restored`;
      const r = await t.cli(["restore", "--to", to, "--at", afterNight1, "--category", "database"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const sql = Deno.readTextFileSync(`${to}/dumps/app.sql`);
      assert.match(sql, /^PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE notes/);
      await exec(["sqlite3", dbFile], {}, sql);
      assert.equal((await exec(["sqlite3", dbFile, "SELECT count(*) FROM notes;"])).trim(), "250");
    } finally {
      t.cleanup();
    }
  },
});

Deno.test({
  name: "a dump command that exits 1 halfway (RGW): no new version, no open upload, exit 1",
  ignore: !rgw,
  ...opts,
  fn: async () => {
    // A dump tool that prints its data, then fails when FAIL is set (the environment passes).
    const t = await setup((dir) =>
      `[[dumps]]\nname = "nightly"\n` +
      `command = ["sh", "-c", 'cat "$0"; test -z "$FAIL" || exit 1', "${dir}/data"]\n`
    );
    const dumpFile = () => `${t.dir}/data`;
    try {
      Deno.writeTextFileSync(dumpFile(), "INSERT INTO t VALUES (1);\n".repeat(10));
      const good = await t.cli(["run"]);
      assert.equal(good.code, 0, good.stdout + good.stderr);
      const before = await t.versions("db1/dumps/nightly.sql");
      assert.equal(before.length, 1);

      // Halfway: 20 MB written (two parts sent to RGW), then exit 1.
      const big = new Uint8Array(20_000_000).fill(0x41);
      Deno.writeFileSync(dumpFile(), big);
      const bad = await t.cli(["run", "--json"], { FAIL: "1" });
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      const json = JSON.parse(bad.stdout);
      assert.equal(json.dumps[0].status, "failed");
      assert.equal(json.dumps[0].error, "exited with code 1");
      assert.ok(
        json.dumps[0].bytes >= 16 * 1024 * 1024,
        `${json.dumps[0].bytes} bytes had streamed`,
      );

      const after = await t.versions("db1/dumps/nightly.sql");
      assert.deepEqual(after.map((v) => v.VersionId), before.map((v) => v.VersionId));
      const open = await t.s3.send(new ListMultipartUploadsCommand({ Bucket: t.buckets.database }));
      assert.deepEqual(open.Uploads ?? [], []);

      // Restore (now) brings back the last good dump, checked.
      const r = await t.cli(["restore", "--to", `${t.dir}/r`, "--prefix", "dumps/"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(
        Deno.readTextFileSync(`${t.dir}/r/dumps/nightly.sql`),
        "INSERT INTO t VALUES (1);\n".repeat(10),
      );
    } finally {
      t.cleanup();
    }
  },
});

if (inCi && (!pg || !sqlite) && rgw) {
  Deno.test("CI has PostgreSQL and sqlite3 for the dump round trips", () => {
    assert.fail(
      `in CI the database tools must be there: ${!pg ? PG_SKIP_MESSAGE : "sqlite3 missing"}`,
    );
  });
}
