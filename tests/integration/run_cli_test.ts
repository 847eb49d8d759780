/**
 * `s3backup run` end to end: the CLI as a subprocess against a real S3/SNS-compatible server
 * (fauxqs, embedded). Each case builds its own tree, buckets and state.
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { createHash } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { type LocalAws, startLocalAws } from "../support/local_aws.ts";
import { CAN_DROP_READ_OVERRIDE, runCli, spawnCli } from "../support/cli.ts";
import { RACY_WINDOW_MS } from "../../lib/backup/change.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
let counter = 0;

interface Fixture {
  aws: LocalAws;
  dir: string;
  src: string;
  cfg: string;
  buckets: { documents: string; photos: string; database: string };
  run(...args: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }>;
  getObject(bucket: string, key: string): Promise<Uint8Array>;
  cleanup(): Promise<void>;
}

async function fixture(
  files: Record<string, string | Uint8Array> = {},
  withTopic = true,
): Promise<Fixture> {
  const n = ++counter;
  const buckets = { documents: `docs-${n}`, photos: `photos-${n}`, database: `db-${n}` };
  const aws = await startLocalAws(Object.values(buckets));
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-it-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  for (const [rel, content] of Object.entries(files)) writeFile(`${src}/${rel}`, content);
  const cfg = writeConfig(dir, {
    source: src,
    stateDir: `${dir}/state`,
    endpoint: aws.endpoint,
    topicArn: withTopic ? aws.topicArn : undefined,
    buckets,
  });
  const s3 = testS3Client(aws.endpoint);
  return {
    aws,
    dir,
    src,
    cfg,
    buckets,
    async run(...args: string[]) {
      const r = await runCli(["run", "-c", cfg, "--json", ...args], { env: aws.env });
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(r.stdout);
      } catch {
        throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
      return { code: r.code, json, stderr: r.stderr };
    },
    async getObject(bucket, key) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await out.Body!.transformToByteArray();
    },
    async cleanup() {
      s3.destroy();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

function writeFile(path: string, content: string | Uint8Array) {
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  if (typeof content === "string") Deno.writeTextFileSync(path, content);
  else Deno.writeFileSync(path, content);
}

const SAMPLE = {
  "meeting_notes.txt": "notes v1\n",
  "project_report.pdf": "%PDF-1.4 report\n",
  "photos/sample_image.jpg": "\xff\xd8\xff jpeg bytes",
  "db/prod_db_backup.sql": "CREATE TABLE t (id int);\n",
  "db/nightly.sql.gz": "gzip bytes",
  "misc/README": "no extension → documents",
};

const requests = (json: Record<string, unknown>) => json.requests as Record<string, number>;

Deno.test(
  "run: first run uploads all, second uploads nothing with no HEAD or GET",
  opts,
  async () => {
    const f = await fixture(SAMPLE);
    try {
      // Files older than the racily-clean window, as in a nightly run: the fast path applies.
      await new Promise((r) => setTimeout(r, RACY_WINDOW_MS + 100));
      const first = await f.run();
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.json.uploaded, 6);
      assert.equal(first.json.skipped, 0);
      assert.equal(first.json.errors, 0);
      assert.match(first.stderr, / - INFO - Starting incremental backup from directory: /);
      assert.match(first.stderr, / - INFO - Uploading meeting_notes\.txt to docs-\d+\.\.\./);
      assert.match(first.stderr, / - INFO - SNS notification sent successfully\./);
      // Routing: longest suffix wins, unmatched goes to documents.
      assert.equal(
        new TextDecoder().decode(await f.getObject(f.buckets.database, "db/nightly.sql.gz")),
        "gzip bytes",
      );
      assert.equal(
        new TextDecoder().decode(await f.getObject(f.buckets.documents, "misc/README")),
        "no extension → documents",
      );

      const second = await f.run();
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.json.uploaded, 0);
      assert.equal(second.json.skipped, 6);
      const req = requests(second.json);
      assert.equal(req.HeadObject ?? 0, 0);
      assert.equal(req.GetObject ?? 0, 0);
      assert.equal(req.PutObject ?? 0, 0);
      assert.equal(req.ListObjectsV2, 3, "one listing per bucket");
      assert.equal(second.json.hashed, 0, "unchanged files are not even read");
      // By default one line counts the skipped files; -v names each (logging_cli_test.ts).
      assert.match(
        second.stderr,
        / - INFO - Skipped 6 unchanged files: 2 in db-\d+, 3 in docs-\d+, 1 in photos-\d+\.$/m,
      );
      assert.doesNotMatch(second.stderr, /already up to date/);
    } finally {
      await f.cleanup();
    }
  },
);

Deno.test("run: a same-size edit is uploaded", opts, async () => {
  const f = await fixture({ "a.txt": "aaaa", "b.txt": "bbbb" });
  try {
    assert.equal((await f.run()).json.uploaded, 2);
    Deno.writeTextFileSync(`${f.src}/a.txt`, "AAAA");
    const r = await f.run();
    assert.equal(r.json.uploaded, 1);
    assert.equal(r.json.skipped, 1);
    assert.equal(new TextDecoder().decode(await f.getObject(f.buckets.documents, "a.txt")), "AAAA");
  } finally {
    await f.cleanup();
  }
});

Deno.test("run: an edit whose mtime was put back (touch -r) is uploaded", opts, async () => {
  const f = await fixture({ "a.txt": "v1-content", "ref.txt": "reference" });
  try {
    const path = `${f.src}/a.txt`;
    const mtime = Deno.statSync(path).mtime!;
    await new Promise((r) => setTimeout(r, RACY_WINDOW_MS + 100)); // out of the racy window
    assert.equal((await f.run()).json.uploaded, 2);
    Deno.writeTextFileSync(path, "v2-content");
    Deno.utimeSync(path, mtime, mtime); // what `touch -r` does
    assert.equal(Deno.statSync(path).mtime!.getTime(), mtime.getTime());
    const r = await f.run();
    assert.equal(r.json.uploaded, 1);
    assert.equal(r.json.hashed, 1, "only the file whose ctime moved is read");
    assert.equal(
      new TextDecoder().decode(await f.getObject(f.buckets.documents, "a.txt")),
      "v2-content",
    );
  } finally {
    await f.cleanup();
  }
});

Deno.test(
  "run: with the local state deleted, a rerun uploads nothing and still catches an edit",
  opts,
  async () => {
    const f = await fixture(SAMPLE);
    try {
      assert.equal((await f.run()).json.uploaded, 6);
      Deno.removeSync(`${f.dir}/state`, { recursive: true });
      const r = await f.run();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.uploaded, 0);
      assert.equal(r.json.skipped, 6);
      // The rebuilt state is used: the next run is back on the fast path (no HEAD).
      const again = await f.run();
      assert.equal(requests(again.json).HeadObject ?? 0, 0);
      // A same-size edit with the state lost is still caught (hash vs. recorded metadata).
      Deno.removeSync(`${f.dir}/state`, { recursive: true });
      Deno.writeTextFileSync(`${f.src}/meeting_notes.txt`, "NOTES v1\n");
      const edited = await f.run();
      assert.equal(edited.json.uploaded, 1);
    } finally {
      await f.cleanup();
    }
  },
);

Deno.test("run: an object deleted from the bucket is uploaded again", opts, async () => {
  const f = await fixture(SAMPLE);
  try {
    assert.equal((await f.run()).json.uploaded, 6);
    await f.aws.deleteObject(f.buckets.photos, "photos/sample_image.jpg");
    const r = await f.run();
    assert.equal(r.json.uploaded, 1);
    assert.equal(r.json.skipped, 5);
  } finally {
    await f.cleanup();
  }
});

Deno.test("run: a 20 MiB file round-trips intact (multipart)", opts, async () => {
  const big = new Uint8Array(20 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  const f = await fixture({ "dump.sql": big });
  try {
    const r = await f.run();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(requests(r.json).UploadPart, 3);
    const got = await f.getObject(f.buckets.database, "dump.sql");
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    assert.equal(got.length, big.length);
    assert.equal(sha(got), sha(big));
  } finally {
    await f.cleanup();
  }
});

Deno.test("run: an unreadable file fails alone (exit 1), the others upload", opts, async () => {
  if (!CAN_DROP_READ_OVERRIDE) {
    console.warn("SKIPPED: needs root to drop the read-override capabilities with setpriv");
    return;
  }
  const f = await fixture({ "ok.txt": "fine", "secret.pdf": "locked", "sub/also.jpg": "ok" });
  try {
    new Deno.Command("chown", { args: ["65534:65534", `${f.src}/secret.pdf`] }).outputSync();
    Deno.chmodSync(`${f.src}/secret.pdf`, 0o000);
    const r = await runCli(["run", "-c", f.cfg, "--json"], {
      env: { ...f.aws.env, HOME: f.dir },
      withoutReadOverride: true,
    });
    const json = JSON.parse(r.stdout);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(json.uploaded, 2);
    assert.equal(json.errors, 1);
    assert.equal(json.failures[0].path, "secret.pdf");
    assert.match(json.failures[0].error, /permission denied/i);
    assert.match(r.stderr, / - ERROR - Error uploading secret\.pdf: /);
  } finally {
    await f.cleanup();
  }
});

Deno.test("run: a bad config exits 2 and names the key", opts, async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const cases: Array<[string, RegExp]> = [
      [
        `source = "."\nbogus = 1\n[categories.d]\nbucket = "abc"\nextensions = [".txt"]\n`,
        /unknown key 'bogus'/,
      ],
      [
        `source = "."\n[categories.d]\nextensions = [".txt"]\n`,
        /'categories\.d\.bucket' is missing/,
      ],
      [
        `source = "."\nconcurrency = "8"\n[categories.d]\nbucket = "abc"\nextensions = [".txt"]\n`,
        /'concurrency' must be an integer/,
      ],
      [
        `source = "."\nunmatched = "nope"\n[categories.d]\nbucket = "abc"\nextensions = [".txt"]\n`,
        /'unmatched' = 'nope' names no category/,
      ],
      [`source = [\n`, /invalid TOML/],
    ];
    for (const [text, expected] of cases) {
      Deno.writeTextFileSync(`${dir}/bad.toml`, text);
      const r = await runCli(["run", "-c", `${dir}/bad.toml`]);
      assert.equal(r.code, 2, `${text}\n${r.stderr}`);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  "run: a second run while another process holds the lock exits 3; once it is gone, runs go on",
  opts,
  async () => {
    const f = await fixture({ "a.txt": "a" });
    Deno.mkdirSync(`${f.dir}/state`, { recursive: true });
    const lock = `${f.dir}/state/lock`;
    // flock(1) holds the lock as a separate process, as a concurrent run would (-o: the lock is
    // flock's own, not inherited by sleep, so killing flock releases it).
    const holder = new Deno.Command("flock", { args: ["-o", lock, "sleep", "30"] }).spawn();
    try {
      let held = await f.run();
      for (let i = 0; i < 50 && held.code === 0; i++) held = await f.run(); // flock starting up
      assert.equal(held.code, 3, held.stderr);
      assert.match(held.stderr, /another run holds the lock/);
      holder.kill("SIGKILL");
      await holder.status;
      const next = await f.run();
      assert.equal(next.code, 0, next.stderr);
    } finally {
      try {
        holder.kill("SIGKILL");
      } catch { /* already gone */ }
      await f.cleanup();
    }
  },
);

Deno.test("run: two real runs started together: one exits 3", opts, async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 400; i++) files[`d${i % 10}/f${i}.txt`] = `file ${i}`;
  const f = await fixture(files);
  try {
    const a = spawnCli(["run", "-c", f.cfg], { env: f.aws.env });
    const b = spawnCli(["run", "-c", f.cfg], { env: f.aws.env });
    const codes = [(await a.output()).code, (await b.output()).code].sort();
    assert.deepEqual(codes, [0, 3]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("run: the SNS report says what happened", opts, async () => {
  const f = await fixture({ ...SAMPLE, "bad/unreadable.txt": "x" });
  try {
    assert.equal((await f.run()).code, 0);
    const [ok] = f.aws.snsMessages();
    assert.match(ok.subject, /^s3backup OK on .+: 7 uploaded, 0 skipped, 0 errors$/);
    assert.ok(ok.subject.length <= 100);
    const lines = ok.message.split("\n");
    assert.deepEqual(lines.slice(0, 4), [
      "Backup completed.",
      "Files uploaded: 7",
      "Files skipped (already exist): 0",
      "Errors encountered: 0",
    ]);
    // 7 files + one manifest per bucket (written because the key set is new), and each
    // bucket's versioning asked once.
    assert.match(
      ok.message,
      /S3 requests: 16 \(GetBucketVersioning: 3, ListObjectsV2: 3, PutObject: 10\)/,
    );
    assert.match(ok.message, new RegExp(`Host: ${Deno.hostname()}`));

    // A missing source: FAILED report through SNS and exit 2.
    Deno.removeSync(f.src, { recursive: true });
    const missing = await f.run();
    assert.equal(missing.code, 2);
    assert.match(String(missing.json.fatal), /source directory does not exist/);
    const failed = f.aws.snsMessages()[1];
    assert.match(failed.subject, /^s3backup FAILED on /);
    assert.match(failed.message, /Reason: source directory does not exist/);
  } finally {
    await f.cleanup();
  }
});

Deno.test(
  "run: --dry-run reports what a real run would upload and changes nothing",
  opts,
  async () => {
    const f = await fixture(SAMPLE);
    try {
      const dry = await f.run("--dry-run");
      assert.equal(dry.code, 0, dry.stderr);
      // A dry run never says it uploaded: not in the counts, not in the log.
      assert.equal(dry.json.uploaded, 0);
      assert.equal(dry.json.bytes_uploaded, 0);
      const would = dry.json.would_upload as string[];
      assert.equal(would.length, 6);
      assert.ok(would.includes(`s3://${f.buckets.documents}/meeting_notes.txt`), would.join());
      assert.equal(
        dry.json.bytes_to_upload,
        Object.values(SAMPLE).reduce((n, c) => n + new TextEncoder().encode(c).length, 0),
      );
      assert.doesNotMatch(dry.stderr, /Uploading /);
      assert.match(dry.stderr, / - INFO - Would upload meeting_notes\.txt to docs-\d+\n/);
      assert.equal(requests(dry.json).PutObject ?? 0, 0);
      // It reads only what deciding needs: new files are uploads without reading a byte.
      assert.equal(dry.json.hashed, 0, "a dry run reads no new file");
      assert.equal(requests(dry.json).HeadObject ?? 0, 0);
      const text = await runCli(["run", "-c", f.cfg, "--dry-run"], { env: f.aws.env });
      const lines = text.stdout.split("\n");
      assert.deepEqual(lines.slice(0, 4), [
        "Dry run completed: nothing was uploaded.",
        "Files to upload: 6",
        "Files skipped (already exist): 0",
        "Errors encountered: 0",
      ]);
      assert.ok(lines.includes(`  s3://${f.buckets.documents}/meeting_notes.txt`), text.stdout);
      assert.doesNotMatch(text.stdout, /Files uploaded|Bytes uploaded/);
      assert.equal(f.aws.snsMessages().length, 0, "no report published");
      assert.throws(() => Deno.statSync(`${f.dir}/state/state.db`), "no state written");
      const real = await f.run();
      assert.equal(real.json.uploaded, 6, "the real run uploads what the dry run said");
      Deno.writeTextFileSync(`${f.src}/meeting_notes.txt`, "notes v2\n");
      const dry2 = await f.run("--dry-run");
      assert.deepEqual(dry2.json.would_upload, [`s3://${f.buckets.documents}/meeting_notes.txt`]);
      const real2 = await f.run();
      assert.equal(real2.json.uploaded, 1);
    } finally {
      await f.cleanup();
    }
  },
);

Deno.test(
  "run: excludes, symlinks and FIFOs are counted, not uploaded; numbers add up",
  opts,
  async () => {
    const f = await fixture({
      "keep.txt": "k",
      ".git/config": "x",
      "repo/.git/HEAD": "x",
      "scratch.tmp": "t",
      "target.pdf": "p",
    });
    try {
      Deno.symlinkSync(`${f.src}/target.pdf`, `${f.src}/link.pdf`);
      Deno.symlinkSync(f.src, `${f.src}/loop`);
      new Deno.Command("mkfifo", { args: [`${f.src}/pipe.txt`] }).outputSync();
      const r = await f.run();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.uploaded, 2);
      assert.equal(r.json.excluded, 3); // .git/, repo/.git/, scratch.tmp
      assert.equal(r.json.symlinks, 2);
      assert.equal(r.json.special, 1);
      assert.equal(r.json.unmatched, 0);
    } finally {
      await f.cleanup();
    }
  },
);

Deno.test(
  'run: unmatched = "skip" counts unmatched files and does not upload them',
  opts,
  async () => {
    const f = await fixture({ "a.txt": "a", "b.unknown": "b", "c": "c" });
    try {
      Deno.writeTextFileSync(
        f.cfg,
        Deno.readTextFileSync(f.cfg).replace('unmatched = "documents"', 'unmatched = "skip"'),
      );
      const r = await f.run();
      assert.equal(r.json.uploaded, 1);
      assert.equal(r.json.unmatched, 2);
    } finally {
      await f.cleanup();
    }
  },
);

Deno.test(
  "run: a name that starts with U+FEFF is listed back as itself (no upload every night)",
  opts,
  async () => {
    const f = await fixture({ "\uFEFFbom.txt": "byte order mark", "plain.txt": "p" });
    try {
      const first = await f.run();
      assert.equal(first.json.uploaded, 2, first.stderr);
      const second = await f.run();
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.json.uploaded, 0, "the listing's key matched the file's");
    } finally {
      await f.cleanup();
    }
  },
);
