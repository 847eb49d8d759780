/**
 * Crashes: `kill -9` of the CLI at seeded random moments of a 2,000-file run, trial after
 * trial on the same (growing, partly edited) tree. After every kill the state database passes
 * integrity_check and claims nothing S3 does not hold; the stale lock is taken over; the final
 * run completes and every file is in the bucket, intact.
 */
import assert from "node:assert/strict";
import { configText } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { existsSync } from "node:fs";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { startLocalAws } from "../support/local_aws.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { runCli, spawnCli } from "../support/cli.ts";
import {
  BUCKETS,
  checkIntact,
  checkStateAgainstBucket,
  getObject,
  makeTree,
  MiB,
  readState,
  runCliWithin,
  seededBytes,
  sha256,
  testOpts,
  type TreeFile,
} from "./helpers.ts";
import { mulberry32 } from "../support/fault_proxy.ts";

const TRIALS = 10;

/** Starts the CLI and SIGKILLs it once it has started its `nth` upload (or lets it finish). */
async function runAndKill(cfg: string, env: Record<string, string>, nth: number) {
  const child = spawnCli(["run", "-c", cfg, "--json", "--concurrency", "4"], { env });
  let killed = false;
  let stderr = "";
  const reader = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr += dec.decode(chunk);
      if (!killed && stderr.split(" - INFO - Uploading ").length - 1 >= nth) {
        try {
          child.kill("SIGKILL");
          killed = true;
        } catch { /* already exited */ }
      }
    }
  })();
  const drainOut = child.stdout.pipeTo(new WritableStream());
  const status = await child.status;
  await reader;
  await drainOut;
  return { killed: killed && status.signal === "SIGKILL", code: status.code, stderr };
}

Deno.test(
  "crash: kill -9 at random moments loses nothing and corrupts nothing",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    // A fault-free proxy, only to watch multipart uploads left open by a kill.
    const proxy = await startFaultProxy({ upstream: aws.endpoint, seed: 1 });
    const s3 = testS3Client(aws.endpoint);
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-crash-" });
    const src = `${dir}/src`;
    const state = `${dir}/state`;
    const cfg = `${dir}/s3backup.toml`;
    const rand = mulberry32(424242);
    try {
      const files: TreeFile[] = makeTree(src, 7, 2000, [12 * MiB + 3]);
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: src,
          stateDir: state,
          endpoint: proxy.endpoint,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );
      const edited = new Set<string>();
      const verified = new Set<string>();
      let kills = 0;
      let completed = 0;
      let maxRows = 0;
      for (let trial = 1; trial <= TRIALS; trial++) {
        const nth = 1 + Math.floor(rand() * 800);
        const r = await runAndKill(cfg, aws.env, nth);
        assert.notEqual(r.code, 3, `trial ${trial}: the stale lock was not taken over`);
        assert.doesNotMatch(r.stderr, /another run holds the lock/);
        if (r.killed) {
          kills++;
          assert.ok(Deno.statSync(`${state}/lock`).isFile, "the killed run left its lock");
        } else {
          completed++;
          assert.equal(r.code, 0, r.stderr.slice(-2000));
        }
        // The database opens cleanly and claims nothing the bucket does not hold.
        const rows = readState(state);
        maxRows = Math.max(maxRows, rows.length);
        const strict = rows.filter((row) => !edited.has(row.key));
        assert.deepEqual(await checkStateAgainstBucket(s3, strict, verified), [], `trial ${trial}`);
        // Edited files: a row that matches the disk's content must match the object (no loss).
        for (const row of rows.filter((row) => edited.has(row.key))) {
          if (row.sha256 !== sha256(Deno.readFileSync(`${src}/${row.key}`))) continue;
          const got = await getObject(s3, row.bucket, row.key);
          assert.equal(got?.sha, row.sha256, `trial ${trial}: ${row.key} marked clean, not held`);
        }
        // The tree moves on between trials: 300 new files, 50 edits (some same-size).
        const base = files.length;
        for (let i = 0; i < 300; i++) {
          const rel = `new${trial}/n-${i}.txt`;
          Deno.mkdirSync(`${src}/new${trial}`, { recursive: true });
          Deno.writeFileSync(`${src}/${rel}`, seededBytes(trial * 1000 + i, 100 + i));
          files.push({ rel, bucket: BUCKETS.documents, parts: 1 });
        }
        for (let i = 0; i < 50; i++) {
          const f = files[Math.floor(rand() * base)];
          if (f.parts > 1) continue;
          const old = Deno.statSync(`${src}/${f.rel}`).size;
          const size = i % 2 === 0 ? old : Math.floor(rand() * 4096);
          Deno.writeFileSync(`${src}/${f.rel}`, seededBytes(trial * 77_777 + i, size));
          edited.add(f.rel);
        }
      }
      const last = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
      assert.equal(last.code, 0, last.stderr.slice(-2000));
      assert.deepEqual(await checkIntact(s3, src, files), [], "nothing lost");
      assert.deepEqual(await checkStateAgainstBucket(s3, readState(state)), []);
      const again = JSON.parse(
        (await runCli(["run", "-c", cfg, "--json"], { env: aws.env })).stdout,
      );
      assert.equal(again.uploaded, 0);
      assert.ok(maxRows > 0, "killed runs recorded their progress");
      assert.ok(kills >= 8, `only ${kills} of ${TRIALS} runs were killed mid-run`);
      console.log(
        `crash: ${TRIALS} trials, ${kills} killed mid-run, ${completed} finished first; ` +
          `${files.length} files at the end, most rows after a kill: ${maxRows}, lost: 0; ` +
          `multipart uploads left open by kills: ` +
          `${proxy.openMultipartUploads().size}`,
      );
    } finally {
      s3.destroy();
      await proxy.close();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

/**
 * SIGINT / SIGTERM with a 40 MiB multipart upload in flight (the proxy holds every UploadPart
 * response 3 s): the run stops taking files, aborts the multipart upload, records what
 * finished, reports INTERRUPTED (stdout and SNS), releases the lock and exits 130 / 143; the
 * next run uploads only the rest.
 */
Deno.test(
  "signals: SIGINT and SIGTERM stop cleanly and the next run does the rest",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    let slow = true;
    let onPart: (() => void) | undefined;
    const proxy = await startFaultProxy({
      upstream: aws.endpoint,
      seed: 3,
      delayOf: (i) => !slow ? 0 : i.op === "UploadPart" ? 3000 : i.op === "PutObject" ? 40 : 0,
      onRequest: (i) => {
        if (i.op === "UploadPart") onPart?.();
      },
    });
    const s3 = testS3Client(aws.endpoint);
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-signal-" });
    const src = `${dir}/src`;
    const state = `${dir}/state`;
    const cfg = `${dir}/s3backup.toml`;
    try {
      const files = makeTree(src, 11, 400, [40 * MiB]);
      Deno.renameSync(`${src}/big`, `${src}/0-big`); // sorted first: in flight from the start
      for (const f of files) f.rel = f.rel.replace(/^big\//, "0-big/");
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: src,
          stateDir: state,
          endpoint: proxy.endpoint,
          extra: "",
          topicArn: aws.topicArn,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );
      const figures: string[] = [];

      for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
        slow = true;
        const before = new Set(
          (existsSync(`${state}/state.db`) ? readState(state) : []).map((r) =>
            `${r.key}\0${r.sha256}`
          ),
        );
        const sent = new Promise<void>((resolve) => (onPart = resolve));
        const child = spawnCli(["run", "-c", cfg, "--json", "--concurrency", "4"], {
          env: aws.env,
        });
        const output = child.output();
        await sent;
        onPart = undefined;
        const t0 = performance.now();
        child.kill(sig);
        const out = await output;
        const stopMs = performance.now() - t0;
        const stderr = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, code, stderr.slice(-3000));
        const json = JSON.parse(new TextDecoder().decode(out.stdout));
        assert.equal(json.status, "INTERRUPTED");
        assert.ok(json.failures.some((f: { path: string }) => f.path === "0-big/dump-0.sql"));
        assert.ok(
          json.failures.some((f: { error: string }) =>
            /^interrupted: \d+ files found to upload not started/.test(f.error)
          ),
          "it stopped taking new files",
        );
        assert.ok(json.uploaded < files.length - 1);
        assert.equal(proxy.openMultipartUploads().size, 0, "the in-flight upload was aborted");
        const lock = Deno.openSync(`${state}/lock`, { read: true, write: true });
        assert.ok(lock.tryLockSync(true), "lock released");
        lock.close();
        const sns = aws.snsMessages().at(-1)!;
        assert.match(sns.subject, /^s3backup INTERRUPTED on /);
        assert.match(sns.message, /^Backup interrupted\./);
        // What finished is recorded (rows this run wrote), and the next run leaves it alone.
        const recorded = new Set(
          readState(state).filter((r) => !before.has(`${r.key}\0${r.sha256}`)).map((r) => r.key),
        );
        assert.equal(recorded.size, json.uploaded, "every file reported uploaded is recorded");
        assert.deepEqual(await checkStateAgainstBucket(s3, readState(state)), []);

        slow = false;
        const next = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
        assert.equal(next.code, 0, next.stderr.slice(-2000));
        const redone = [...next.stderr.matchAll(/ - INFO - Uploading (.+) to \S+\.\.\.$/gm)]
          .map((m) => m[1]);
        for (const p of redone) assert.ok(!recorded.has(p), `${p} was recorded but re-uploaded`);
        assert.equal(JSON.parse(next.stdout).uploaded, redone.length);
        assert.deepEqual(await checkIntact(s3, src, files), []);
        figures.push(
          `${sig}: exit ${out.code} after ${
            stopMs.toFixed(0)
          } ms, ${json.uploaded} uploaded before ` +
            `the stop, next run uploaded ${redone.length}`,
        );

        // Something new for the SIGTERM round: the big file rewritten, 300 new small files.
        Deno.writeFileSync(`${src}/0-big/dump-0.sql`, seededBytes(99, 40 * MiB));
        for (let i = 0; i < 300; i++) {
          const rel = `more-${sig}/m-${i}.txt`;
          Deno.mkdirSync(`${src}/more-${sig}`, { recursive: true });
          Deno.writeFileSync(`${src}/${rel}`, seededBytes(5000 + i, 200));
          files.push({ rel, bucket: BUCKETS.documents, parts: 1 });
        }
      }
      console.log(figures.join("\n"));
    } finally {
      s3.destroy();
      await proxy.close();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

/**
 * A file that grows, shrinks or is rewritten while its multipart upload is in flight is not
 * marked clean; the next run uploads its final content.
 */
Deno.test(
  "changing files: grown, shrunk or rewritten mid-upload is not marked clean",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    const changes: Record<string, (path: string) => void> = {
      "grow.sql": (p) => {
        using f = Deno.openSync(p, { append: true });
        f.writeSync(seededBytes(1, MiB));
      },
      "shrink.sql": (p) => Deno.truncateSync(p, 20 * MiB),
      "rewrite.sql": (p) => Deno.writeFileSync(p, seededBytes(2, 40 * MiB)),
    };
    const changed = new Set<string>();
    let slow = true;
    const proxy = await startFaultProxy({
      upstream: aws.endpoint,
      seed: 5,
      delayOf: (i) => (slow && i.op === "UploadPart" ? 700 : 0),
      onRequest: (i) => {
        if (i.op !== "UploadPart" || changed.has(i.key)) return;
        changed.add(i.key);
        changes[i.key](`${src}/${i.key}`);
      },
    });
    const s3 = testS3Client(aws.endpoint);
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-change-" });
    const src = `${dir}/src`;
    const state = `${dir}/state`;
    const cfg = `${dir}/s3backup.toml`;
    try {
      Deno.mkdirSync(src);
      for (const [i, name] of Object.keys(changes).entries()) {
        Deno.writeFileSync(`${src}/${name}`, seededBytes(10 + i, 40 * MiB));
      }
      Deno.writeTextFileSync(`${src}/steady.txt`, "unchanged");
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: src,
          stateDir: state,
          endpoint: proxy.endpoint,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );
      const first = await runCliWithin(["run", "-c", cfg, "--json"], aws.env, 90_000);
      const json = JSON.parse(first.stdout);
      assert.equal(first.code, 1, first.stderr.slice(-2000));
      assert.deepEqual(changed, new Set(Object.keys(changes)), "every file was changed mid-upload");
      const failed = (json.failures as Array<{ path: string; error: string }>)
        .filter((f) => !f.path.startsWith("s3://"));
      assert.deepEqual(failed.map((f) => f.path).sort(), Object.keys(changes).sort(), first.stdout);
      const rows = readState(state);
      assert.deepEqual(rows.map((r) => r.key), ["steady.txt"], "only the steady file is clean");
      assert.equal(proxy.openMultipartUploads().size, 0);
      // Nothing was completed: each upload checked the file after its last part and aborted
      // (this server ignores Content-MD5, so the check is what keeps a mixed object out).
      const stored = await s3.send(new ListObjectsV2Command({ Bucket: BUCKETS.database }));
      assert.deepEqual(
        (stored.Contents ?? []).map((o) => o.Key).filter((k) => !k!.startsWith(".s3backup/")),
        [],
      );

      slow = false;
      const second = await runCliWithin(["run", "-c", cfg, "--json"], aws.env, 90_000);
      assert.equal(second.code, 0, second.stderr.slice(-2000));
      assert.equal(JSON.parse(second.stdout).uploaded, 3);
      const all = Object.keys(changes).map((rel) => ({ rel, bucket: BUCKETS.database, parts: 5 }));
      assert.deepEqual(await checkIntact(s3, src, all), [], "the final content is stored");
      console.log(
        `changing files: ${failed.map((f) => `${f.path}: ${f.error}`).join("; ")}`,
      );
    } finally {
      s3.destroy();
      await proxy.close();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
