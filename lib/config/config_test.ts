import assert from "node:assert/strict";
import { join } from "node:path";
import { configFromToml, DEFAULT_CONCURRENCY, parseConfigText } from "./config.ts";
import { configFromEnv, LEGACY_EXTENSIONS } from "./env.ts";
import { findConfigPath } from "./load.ts";
import { ConfigError } from "../core/errors.ts";
import { createRouter } from "../backup/route.ts";

/** The example of SPEC.md, verbatim. */
const SPEC_EXAMPLE = `
source = "./sample_data"          # the tree to back up; relative paths are relative to this file
key_prefix = ""                   # optional: objects go to <key_prefix>/<path relative to source>
state_dir = ".s3backup"           # local state and lock; relative to this file
exclude = ["**/.git/**", "**/*.tmp"]   # globs on the path relative to source
unmatched = "documents"           # category for files no extension rule matches, or "skip"
concurrency = 8

[aws]
region = "eu-south-1"
# endpoint = "http://127.0.0.1:4566"   # any S3/SNS-compatible endpoint (local tests, MinIO)
# profile = "backup"
sns_topic_arn = "arn:aws:sns:eu-south-1:123456789012:s3-backup-reports"   # optional

[categories.documents]
bucket = "acme-backup-documents"
extensions = [".pdf", ".txt", ".docx", ".xlsx", ".csv"]

[categories.photos]
bucket = "acme-backup-photos"
extensions = [".jpg", ".jpeg", ".png", ".heic"]

[categories.database]
bucket = "acme-backup-database"
extensions = [".sql", ".sql.gz", ".dump", ".db", ".bak"]
`;

/** A small valid config the error cases start from. */
const MINIMAL = `source = "data"

[categories.documents]
bucket = "acme-docs"
extensions = [".pdf"]
`;

const DIR = "/etc/acme";
const PATH = `${DIR}/s3backup.toml`;

Deno.test("parseConfigText: the SPEC example, paths relative to the file's folder", () => {
  const c = parseConfigText(SPEC_EXAMPLE, PATH);
  const { infra, ...rest } = c;
  assert.deepEqual(rest, {
    path: PATH,
    source: "/etc/acme/sample_data",
    sources: [{ path: "/etc/acme/sample_data", prefix: "", exclude: [] }],
    dumps: [],
    hooks: { before: [], after: [], timeout: "15m", timeoutMs: 900_000 },
    keyPrefix: "",
    stateDir: "/etc/acme/.s3backup",
    exclude: ["**/.git/**", "**/*.tmp"],
    unmatched: "documents",
    concurrency: 8,
    concurrencySet: true,
    log: undefined,
    bwlimit: undefined,
    aws: {
      region: "eu-south-1",
      s3Endpoint: undefined,
      snsEndpoint: undefined,
      profile: undefined,
      snsTopicArn: "arn:aws:sns:eu-south-1:123456789012:s3-backup-reports",
      forcePathStyle: undefined,
    },
    categories: [
      {
        name: "documents",
        bucket: "acme-backup-documents",
        extensions: [".pdf", ".txt", ".docx", ".xlsx", ".csv"],
      },
      {
        name: "photos",
        bucket: "acme-backup-photos",
        extensions: [".jpg", ".jpeg", ".png", ".heic"],
      },
      {
        name: "database",
        bucket: "acme-backup-database",
        extensions: [".sql", ".sql.gz", ".dump", ".db", ".bak"],
      },
    ],
    restore: { tier: "Standard", days: 7 },
    notify: { pingUrl: undefined },
  });
  assert.equal(typeof infra, "object");
  // The example's routing works end to end.
  const r = createRouter(c.categories, c.unmatched);
  assert.equal(r.route("dumps/x.SQL.GZ")?.bucket, "acme-backup-database");
  assert.equal(r.route("meeting_notes.txt")?.bucket, "acme-backup-documents");
  assert.equal(r.route("unknown.xyz")?.bucket, "acme-backup-documents");
});

Deno.test("parseConfigText: log and bwlimit (SPEC), each wrong value naming its key", () => {
  const c = parseConfigText(`log = "verbose"\nbwlimit = "10M"\n${MINIMAL}`, PATH);
  assert.equal(c.log, "verbose");
  assert.equal(c.bwlimit, 10 * 1024 * 1024);
  assert.equal(parseConfigText(`bwlimit = 1048576\n${MINIMAL}`, PATH).bwlimit, 1048576);
  assert.equal(parseConfigText(`bwlimit = "off"\n${MINIMAL}`, PATH).bwlimit, 0);
  const error = (line: string) => {
    try {
      parseConfigText(`${line}\n${MINIMAL}`, PATH);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail(`${line} was accepted`);
  };
  assert.match(error(`log = "debug"`), /'log' must be quiet, normal or verbose, got 'debug'/);
  assert.match(error(`bwlimit = "fast"`), /'bwlimit' = 'fast' is not a rate/);
  assert.match(error(`bwlimit = "10"`), /'bwlimit' = '10' is below the minimum of 1K/);
});

Deno.test("configFromEnv: the original script's drop-in logs verbosely, as it did", () => {
  const env = {
    SOURCE_DIR: "/srv",
    S3_BUCKET_DOCUMENTS: "d-docs",
    S3_BUCKET_PHOTOS: "d-pics",
    S3_BUCKET_DATABASE: "d-db",
    HOME: "/home/x",
  };
  assert.equal(configFromEnv(env, "/").log, "verbose");
});

Deno.test("parseConfigText: a relative config path resolves against the working directory", () => {
  const c = parseConfigText(MINIMAL, "conf/s3backup.toml", { HOME: "/home/u" });
  assert.equal(c.source, join(Deno.cwd(), "conf", "data"));
  assert.equal(c.stateDir, "/home/u/.local/state/s3backup", "not beside the config (state_dir.ts)");
  // Under /etc: the unit's StateDirectory, since /etc is read-only under ProtectSystem=strict.
  assert.equal(parseConfigText(MINIMAL, PATH, { HOME: "/root" }).stateDir, "/var/lib/s3backup");
  assert.equal(c.path, join(Deno.cwd(), "conf", "s3backup.toml"));
});

Deno.test("configFromToml: defaults and normalisation", () => {
  const cases: Array<
    {
      name: string;
      doc: Record<string, unknown>;
      check: (c: ReturnType<typeof configFromToml>) => void;
    }
  > = [
    {
      name: "defaults",
      doc: {
        source: "/abs/src",
        categories: { docs: { bucket: "acme-docs", extensions: ["pdf"] } },
      },
      check: (c) => {
        assert.equal(c.source, "/abs/src");
        assert.equal(c.stateDir, "/home/u/.local/state/s3backup");
        assert.equal(c.unmatched, "docs"); // first category
        assert.equal(c.concurrency, DEFAULT_CONCURRENCY);
        assert.deepEqual(c.exclude, []);
        assert.equal(c.keyPrefix, "");
        assert.equal(c.aws.forcePathStyle, undefined);
        assert.deepEqual(c.categories[0].extensions, [".pdf"]);
      },
    },
    {
      name: "extensions lower-cased, dotted and de-duplicated",
      doc: {
        source: "s",
        categories: { docs: { bucket: "acme-docs", extensions: [".PDF", "pdf", " .Txt "] } },
      },
      check: (c) => assert.deepEqual(c.categories[0].extensions, [".pdf", ".txt"]),
    },
    {
      name: "key_prefix without surrounding slashes",
      doc: {
        source: "s",
        key_prefix: "/host-1/daily/",
        categories: { docs: { bucket: "acme-docs", extensions: [".pdf"] } },
      },
      check: (c) => assert.equal(c.keyPrefix, "host-1/daily"),
    },
    {
      name: "endpoint sets both services' endpoints",
      doc: {
        source: "s",
        aws: { endpoint: "http://127.0.0.1:4566" },
        categories: { docs: { bucket: "acme-docs", extensions: [".pdf"] } },
      },
      check: (c) => {
        assert.equal(c.aws.s3Endpoint, "http://127.0.0.1:4566");
        assert.equal(c.aws.snsEndpoint, "http://127.0.0.1:4566");
        assert.equal(c.aws.forcePathStyle, undefined, "decided where the client is built");
      },
    },
    {
      name: "s3_endpoint and sns_endpoint override endpoint, each for its service",
      doc: {
        source: "s",
        aws: { endpoint: "http://127.0.0.1:4566", s3_endpoint: "https://minio.lan:9000" },
        categories: { docs: { bucket: "acme-docs", extensions: [".pdf"] } },
      },
      check: (c) => {
        assert.equal(c.aws.s3Endpoint, "https://minio.lan:9000");
        assert.equal(c.aws.snsEndpoint, "http://127.0.0.1:4566");
      },
    },
    {
      name: 'unmatched = "skip"',
      doc: {
        source: "s",
        unmatched: "skip",
        categories: { docs: { bucket: "acme-docs", extensions: [".pdf"] } },
      },
      check: (c) => assert.equal(createRouter(c.categories, c.unmatched).route("x.bin"), undefined),
    },
    {
      name: "restore tier and days",
      doc: {
        source: "s",
        restore: { tier: "Bulk", days: 3 },
        categories: { docs: { bucket: "acme-docs", extensions: [".pdf"] } },
      },
      check: (c) => assert.deepEqual(c.restore, { tier: "Bulk", days: 3 }),
    },
  ];
  for (const c of cases) {
    try {
      c.check(configFromToml(c.doc, "/base", "/base/s3backup.toml", { HOME: "/home/u" }));
    } catch (err) {
      throw new Error(`case "${c.name}": ${(err as Error).message}`, { cause: err });
    }
  }
});

Deno.test("parseConfigText: every config error is a ConfigError (exit 2) naming the key", () => {
  const cases: Array<{ name: string; text: string; key: string }> = [
    { name: "unknown top-level key", text: `sorce = "x"\n${MINIMAL}`, key: "'sorce'" },
    {
      name: "unknown key in [aws]",
      text: `${MINIMAL}\n[aws]\nregoin = "eu-south-1"\n`,
      key: "'aws.regoin'",
    },
    {
      name: "unknown key in a category",
      text: `${MINIMAL}bukket = "x"\n`,
      key: "'categories.documents.bukket'",
    },
    {
      name: "unknown key in [restore]",
      text: `${MINIMAL}\n[restore]\nteir = "Bulk"\n`,
      key: "'restore.teir'",
    },
    {
      name: "concurrency as a string",
      text: `concurrency = "8"\n${MINIMAL}`,
      key: "'concurrency'",
    },
    { name: "concurrency 0", text: `concurrency = 0\n${MINIMAL}`, key: "'concurrency'" },
    { name: "concurrency 1.5", text: `concurrency = 1.5\n${MINIMAL}`, key: "'concurrency'" },
    { name: "exclude as a string", text: `exclude = "x"\n${MINIMAL}`, key: "'exclude'" },
    { name: "exclude with a number", text: `exclude = ["a", 1]\n${MINIMAL}`, key: "'exclude[1]'" },
    {
      name: "source as a number",
      text: MINIMAL.replace(`source = "data"`, "source = 1"),
      key: "'source'",
    },
    { name: "source missing", text: MINIMAL.replace(`source = "data"`, ""), key: "'source'" },
    {
      name: "source empty",
      text: MINIMAL.replace(`source = "data"`, `source = ""`),
      key: "'source'",
    },
    { name: "aws as a string", text: `aws = "x"\n${MINIMAL}`, key: "'aws'" },
    {
      name: "region as a number",
      text: `${MINIMAL}\n[aws]\nregion = 5\n`,
      key: "'aws.region'",
    },
    {
      name: "category without bucket",
      text: `source = "s"\n[categories.photos]\nextensions = [".jpg"]\n`,
      key: "'categories.photos.bucket'",
    },
    {
      name: "category with empty extensions",
      text: `source = "s"\n[categories.photos]\nbucket = "acme-photos"\nextensions = []\n`,
      key: "'categories.photos.extensions'",
    },
    {
      name: "category without extensions",
      text: `source = "s"\n[categories.photos]\nbucket = "acme-photos"\n`,
      key: "'categories.photos.extensions'",
    },
    {
      name: "an extension with a slash",
      text: `source = "s"\n[categories.photos]\nbucket = "acme-photos"\nextensions = ["a/b"]\n`,
      key: "'categories.photos.extensions'",
    },
    {
      name: "the same extension in two categories (case-insensitively)",
      text: `${MINIMAL}\n[categories.scans]\nbucket = "acme-scans"\nextensions = [".PDF"]\n`,
      key: "'categories.scans.extensions'",
    },
    {
      name: "no categories",
      text: `source = "s"\n`,
      key: "'categories'",
    },
    {
      name: "a category that is not a table",
      text: `source = "s"\ncategories = { documents = "acme-docs" }\n`,
      key: "'categories.documents'",
    },
    {
      name: 'a category named "skip"',
      text: `source = "s"\n[categories.skip]\nbucket = "acme-docs"\nextensions = [".pdf"]\n`,
      key: "'categories.skip'",
    },
    {
      name: "unmatched naming no category",
      text: `unmatched = "photos"\n${MINIMAL}`,
      key: "'unmatched'",
    },
    {
      name: "invalid bucket name (upper case, underscore)",
      text: MINIMAL.replace("acme-docs", "Acme_Docs"),
      key: "'categories.documents.bucket'",
    },
    {
      name: "invalid bucket name (too short)",
      text: MINIMAL.replace("acme-docs", "ab"),
      key: "'categories.documents.bucket'",
    },
    {
      name: "invalid bucket name (s3:// URL)",
      text: MINIMAL.replace("acme-docs", "s3://acme-docs"),
      key: "'categories.documents.bucket'",
    },
    {
      name: "endpoint that is not a URL",
      text: `${MINIMAL}\n[aws]\nendpoint = "localhost:4566"\n`,
      key: "'aws.endpoint'",
    },
    {
      name: "endpoint with another scheme",
      text: `${MINIMAL}\n[aws]\nendpoint = "ftp://example.com"\n`,
      key: "'aws.endpoint'",
    },
    {
      name: "restore.tier invalid",
      text: `${MINIMAL}\n[restore]\ntier = "Fast"\n`,
      key: "'restore.tier'",
    },
    {
      name: "restore.tier in lower case",
      text: `${MINIMAL}\n[restore]\ntier = "bulk"\n`,
      key: "'restore.tier'",
    },
    {
      name: "force_path_style not a boolean",
      text: `${MINIMAL}\n[aws]\nforce_path_style = "yes"\n`,
      key: "'aws.force_path_style'",
    },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseConfigText(c.text, PATH),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${c.name}: ${err}`);
        assert.equal(err.outcome, "usage", c.name);
        assert.ok(err.message.startsWith(`${PATH}: `), `${c.name}: names the file: ${err.message}`);
        assert.ok(err.message.includes(c.key), `${c.name}: ${err.message} should name ${c.key}`);
        return true;
      },
      c.name,
    );
  }
});

Deno.test("parseConfigText: invalid TOML is a ConfigError naming the file", () => {
  const text = `source = "data"\nconcurrency = \n`;
  assert.throws(() => parseConfigText(text, PATH), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.outcome, "usage");
    assert.match(err.message, /^\/etc\/acme\/s3backup\.toml: invalid TOML/);
    return true;
  });
});

// Regression (fixed in 9db5350): smol-toml's first message line has no position; the error
// must carry err.line itself, as parseConfigText's doc comment promises "the file and line".
Deno.test("parseConfigText: invalid TOML names the line", () => {
  const text = `source = "data"\n\n\nconcurrency = \n`;
  assert.throws(() => parseConfigText(text, PATH), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /line 4\b|:4(:\d+)?: /, `no line number in: ${err.message}`);
    return true;
  });
});

Deno.test("configFromEnv: the original script's zero-config mode", () => {
  const c = configFromEnv({
    SOURCE_DIR: "data",
    S3_BUCKET_DOCUMENTS: "acme-documents",
    S3_BUCKET_PHOTOS: "acme-photos",
    S3_BUCKET_DATABASE: "acme-database",
    SNS_TOPIC_ARN: "arn:aws:sns:eu-south-1:123456789012:reports",
    HOME: "/home/backup",
  }, "/srv");
  assert.equal(c.path, undefined);
  assert.equal(c.source, "/srv/data");
  assert.equal(c.stateDir, "/home/backup/.local/state/s3backup");
  assert.equal(c.unmatched, "documents");
  assert.equal(c.aws.snsTopicArn, "arn:aws:sns:eu-south-1:123456789012:reports");
  assert.deepEqual(c.categories, [
    { name: "documents", bucket: "acme-documents", extensions: [".pdf", ".txt"] },
    { name: "photos", bucket: "acme-photos", extensions: [".jpg", ".png"] },
    { name: "database", bucket: "acme-database", extensions: [".sql", ".db"] },
  ]);
  assert.deepEqual(LEGACY_EXTENSIONS, {
    documents: [".pdf", ".txt"],
    photos: [".jpg", ".png"],
    database: [".sql", ".db"],
  });
  const r = createRouter(c.categories, c.unmatched);
  const cases: Array<[string, string]> = [
    ["a.pdf", "acme-documents"],
    ["a.TXT", "acme-documents"],
    ["a.jpg", "acme-photos"],
    ["a.png", "acme-photos"],
    ["a.sql", "acme-database"],
    ["a.db", "acme-database"],
    ["a.jpeg", "acme-documents"], // not in the original map: unmatched → documents
    ["a.docx", "acme-documents"],
    ["README", "acme-documents"],
  ];
  for (const [path, bucket] of cases) assert.equal(r.route(path)?.bucket, bucket, path);
});

Deno.test("configFromEnv: where the state goes", () => {
  const base = {
    SOURCE_DIR: "/data",
    S3_BUCKET_DOCUMENTS: "acme-documents",
    S3_BUCKET_PHOTOS: "acme-photos",
    S3_BUCKET_DATABASE: "acme-database",
  };
  const cases: Array<[Record<string, string>, string]> = [
    [{ HOME: "/home/u" }, "/home/u/.local/state/s3backup"],
    [{ HOME: "/home/u", XDG_STATE_HOME: "/var/state" }, "/var/state/s3backup"],
    [{ HOME: "/home/u", S3BACKUP_STATE_DIR: "/opt/s3b" }, "/opt/s3b"],
    [{}, "/cwd/.local/state/s3backup"],
  ];
  for (const [env, want] of cases) {
    const c = configFromEnv({ ...base, ...env }, "/cwd");
    assert.equal(c.stateDir, want, JSON.stringify(env));
    assert.equal(c.aws.snsTopicArn, undefined);
  }
});

Deno.test("configFromEnv: missing variables are listed in the error", () => {
  const cases: Array<{ env: Record<string, string>; missing: string[] }> = [
    {
      env: {},
      missing: ["SOURCE_DIR", "S3_BUCKET_DOCUMENTS", "S3_BUCKET_PHOTOS", "S3_BUCKET_DATABASE"],
    },
    {
      env: { SOURCE_DIR: "/data", S3_BUCKET_PHOTOS: "acme-photos" },
      missing: ["S3_BUCKET_DOCUMENTS", "S3_BUCKET_DATABASE"],
    },
    {
      env: {
        SOURCE_DIR: "",
        S3_BUCKET_DOCUMENTS: "a-docs",
        S3_BUCKET_PHOTOS: "a-photos",
        S3_BUCKET_DATABASE: "a-db",
      },
      missing: ["SOURCE_DIR"],
    },
  ];
  const all = ["SOURCE_DIR", "S3_BUCKET_DOCUMENTS", "S3_BUCKET_PHOTOS", "S3_BUCKET_DATABASE"];
  for (const c of cases) {
    assert.throws(() => configFromEnv(c.env, "/cwd"), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.outcome, "usage");
      for (const name of all) {
        assert.equal(
          err.message.includes(name),
          c.missing.includes(name),
          `${name} in: ${err.message}`,
        );
      }
      assert.match(err.message, /s3backup init/);
      return true;
    });
  }
});

Deno.test("configFromEnv: an invalid bucket from the environment is a ConfigError", () => {
  assert.throws(
    () =>
      configFromEnv({
        SOURCE_DIR: "/data",
        S3_BUCKET_DOCUMENTS: "Not_A_Bucket",
        S3_BUCKET_PHOTOS: "acme-photos",
        S3_BUCKET_DATABASE: "acme-database",
      }, "/cwd"),
    (err: unknown) =>
      err instanceof ConfigError && /^environment: /.test(err.message) &&
      err.message.includes("Not_A_Bucket"),
  );
});

Deno.test("findConfigPath: -c > $S3BACKUP_CONFIG > ./s3backup.toml > /etc/s3backup/s3backup.toml", () => {
  const ETC = "/etc/s3backup/s3backup.toml";
  const LOCAL = "s3backup.toml";
  const cases: Array<{ flag?: string; env?: string; files: string[]; want: string | undefined }> = [
    { flag: "/x/flag.toml", env: "/x/env.toml", files: [LOCAL, ETC], want: "/x/flag.toml" },
    { flag: "missing.toml", files: [LOCAL, ETC], want: "missing.toml" }, // -c need not exist yet
    { env: "/x/env.toml", files: [LOCAL, ETC], want: "/x/env.toml" },
    { files: [LOCAL, ETC], want: LOCAL },
    { files: [ETC], want: ETC },
    { files: [], want: undefined },
    { env: "", files: [ETC], want: ETC },
  ];
  for (const c of cases) {
    const env = c.env === undefined ? {} : { S3BACKUP_CONFIG: c.env };
    const got = findConfigPath(c.flag, env, (p) => c.files.includes(p));
    assert.equal(got, c.want, JSON.stringify(c));
  }
});

// KNOWN FAILING until lib/config.ts rejects what S3 itself refuses, so the user gets a config
// error naming the key (exit 2) instead of an InvalidBucketName / connection error at run time:
// BUCKET_RE accepts IP-formatted names and the reserved sthree- / -s3alias / --ol-s3 forms, and
// the endpoint check /^https?:\/\/[^/\s]+/ is unanchored (a host with a space passes).
Deno.test("parseConfigText: bucket names and endpoints that S3 refuses are config errors", async (t) => {
  const cases: Array<{ name: string; text: string; key: string }> = [
    {
      name: "bucket formatted as an IP address",
      text: MINIMAL.replace("acme-docs", "192.168.5.4"),
      key: "'categories.documents.bucket'",
    },
    {
      name: "bucket with the reserved sthree- prefix",
      text: MINIMAL.replace("acme-docs", "sthree-backup"),
      key: "'categories.documents.bucket'",
    },
    {
      name: "bucket with the reserved -s3alias suffix",
      text: MINIMAL.replace("acme-docs", "backup-s3alias"),
      key: "'categories.documents.bucket'",
    },
    {
      name: "endpoint whose host has a space",
      text: `${MINIMAL}\n[aws]\nendpoint = "http://exa mple.com"\n`,
      key: "'aws.endpoint'",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(
        () => parseConfigText(c.text, PATH),
        (err: unknown) => err instanceof ConfigError && err.message.includes(c.key),
      );
    });
  }
});

// KNOWN FAILING until lib/config.ts configFromEnv names the environment variable: in zero-config
// mode the user set S3_BUCKET_DOCUMENTS and never wrote 'categories.documents.bucket'.
Deno.test("configFromEnv: an invalid bucket names its environment variable", () => {
  const env = {
    SOURCE_DIR: "/data",
    S3_BUCKET_DOCUMENTS: "acme-documents",
    S3_BUCKET_PHOTOS: "Not_A_Bucket",
    S3_BUCKET_DATABASE: "acme-database",
  };
  assert.throws(
    () => configFromEnv(env, "/cwd"),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /S3_BUCKET_PHOTOS/);
      return true;
    },
  );
});
