/**
 * Faults on the wire: the CLI runs against a fault-injecting proxy in front of fauxqs (500
 * InternalError, 503 SlowDown, connections reset part-way through request or response bodies,
 * requests black-holed: read whole and never answered, delays). Whatever happens, the run ends
 * within its bound and every file ends up either uploaded intact or reported failed with exit 1;
 * the report's request counts are the proxy's; a following run without faults converges,
 * re-uploading only what had failed; a third run uploads and reads nothing.
 */
import assert from "node:assert/strict";
import { configText } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { RACY_WINDOW_MS } from "../../lib/backup/change.ts";
import {
  BUCKETS,
  checkIntact,
  checkStateAgainstBucket,
  makeTree,
  MiB,
  readState,
  runCliWithin,
  sleep,
  testOpts,
  uploadedPaths,
} from "./helpers.ts";

const FILES = 2000;
const BIG = [9 * MiB + 11, 17 * MiB + 5];
/** The idle timeout of run 1 (seconds): a black-holed attempt is given up after this. */
const IDLE_TIMEOUT = 2;

/**
 * `rate` of the requests get a fault, a third each: an S3 error, a reset, a black hole. Run 1
 * must end within `boundMs`: black-holed attempts (a third of the faults, retries included)
 * each cost IDLE_TIMEOUT, 16 at a time: at 10 % ~75 of them, ~10 s; at 30 % ~250, ~35 s; over
 * ~5 s of work. The bounds leave room for a loaded machine, not for a hang.
 */
async function faultRun(rate: number, seed: number, maxFailed: number, boundMs: number) {
  const aws = await startLocalAws(Object.values(BUCKETS));
  const proxy = await startFaultProxy({
    upstream: aws.endpoint,
    seed,
    errorRate: rate / 3,
    resetRate: rate / 3,
    blackholeRate: rate / 3,
    delayRate: 0.02,
    delayMs: 100,
  });
  const s3 = testS3Client(aws.endpoint);
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-faults-" });
  const src = `${dir}/src`;
  const state = `${dir}/state`;
  const cfg = `${dir}/s3backup.toml`;
  try {
    const files = makeTree(src, seed, FILES, BIG);
    // Out of the racily-clean window, as in a nightly run, so run 3 can be exact.
    await sleep(RACY_WINDOW_MS + 100);
    // Runs 2 and 3 (no faults) keep the default timeouts: a spurious retry would skew counts.
    const run = async (boundMs = 120_000, env: Record<string, string> = {}) => {
      const r = await runCliWithin(
        ["run", "-c", cfg, "--json", "--concurrency", "16"],
        { ...aws.env, ...env },
        boundMs,
      );
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(r.stdout);
      } catch {
        throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
      }
      assert.doesNotMatch(
        r.stderr,
        /\n\s+at /,
        `no stack trace:\n${
          r.stderr.split("\n").filter((l) => !/ - INFO - /.test(l)).join("\n").slice(0, 3000)
        }`,
      );
      return { ...r, json, requests: json.requests as Record<string, number> };
    };

    // Run 1, through the faulty proxy.
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
    const t1 = performance.now();
    const first = await run(boundMs, { S3BACKUP_IDLE_TIMEOUT: String(IDLE_TIMEOUT) });
    const secs1 = (performance.now() - t1) / 1000;
    assert.ok(secs1 * 1000 < boundMs, `run 1 took ${secs1.toFixed(1)} s`);
    const failures = first.json.failures as Array<{ path: string; error: string }>;
    const failedFiles = new Set(failures.map((f) => f.path).filter((p) => !p.startsWith("s3://")));
    const failedManifests = failures.filter((f) => f.path.startsWith("s3://"))
      .map((f) => f.path.slice("s3://".length).split("/")[0]);
    assert.equal(first.code, failures.length > 0 ? 1 : 0, first.stderr.slice(-2000));
    assert.equal(first.json.errors, failures.length);
    assert.equal(first.json.uploaded, files.length - failedFiles.size, "uploaded or failed");
    for (const p of failedFiles) assert.ok(files.some((f) => f.rel === p), `unknown ${p}`);
    assert.ok(proxy.faults() > rate * 0.5 * proxy.stats.requests, "faults were injected");
    assert.ok(proxy.stats.blackholed > rate * 0.1 * proxy.stats.requests, "requests black-holed");
    // "S3 requests" is what went over the wire: every attempt, retried and black-holed ones too.
    const { Other: _other, ...wire } = proxy.stats.byOp;
    assert.deepEqual(first.requests, wire, "the report counts what the proxy received");
    // Uploads are retried (5 attempts): failures are rare, not one per fault.
    assert.ok(
      failedFiles.size <= maxFailed,
      `${failedFiles.size} files failed, e.g. ${JSON.stringify(failures.slice(0, 3))}`,
    );
    // Files reported uploaded are in the bucket, intact (SHA-256 of GetObject = disk).
    const reportedUploaded = files.filter((f) => !failedFiles.has(f.rel));
    assert.deepEqual(await checkIntact(s3, src, reportedUploaded), []);
    // Nothing marked clean that the bucket does not hold.
    assert.deepEqual(await checkStateAgainstBucket(s3, readState(state)), []);
    const openAfterFaults = proxy.openMultipartUploads().size;

    // Run 2, straight to the server: converges, uploading only what had failed.
    Deno.writeTextFileSync(
      cfg,
      configText({
        source: src,
        stateDir: state,
        endpoint: aws.endpoint,
        buckets: BUCKETS,
        concurrency: 8,
      }),
    );
    const second = await run();
    assert.equal(second.code, 0, second.stderr.slice(-2000));
    assert.equal(second.json.errors, 0);
    const again = uploadedPaths(second.stderr);
    for (const p of again) assert.ok(failedFiles.has(p), `${p} re-uploaded but had not failed`);
    assert.equal(second.json.uploaded, again.length);
    const parts = again.map((p) => files.find((f) => f.rel === p)!.parts);
    // A bucket's manifest is written again when the run uploaded to it or when it had failed.
    const manifests = new Set([
      ...again.map((p) => files.find((f) => f.rel === p)!.bucket),
      ...failedManifests,
    ]);
    assert.equal(
      second.requests.PutObject ?? 0,
      parts.filter((n) => n === 1).length + manifests.size,
      "one PutObject per small file that had failed (+ the manifests of those buckets)",
    );
    assert.equal(
      second.requests.UploadPart ?? 0,
      parts.filter((n) => n > 1).reduce((a, b) => a + b, 0),
    );
    assert.deepEqual(await checkIntact(s3, src, files), [], "every file present and intact");
    assert.deepEqual(await checkStateAgainstBucket(s3, readState(state)), []);

    // Run 3: the state is consistent — nothing to upload, read or hash.
    const third = await run();
    assert.equal(third.code, 0);
    assert.equal(third.json.uploaded, 0);
    assert.equal(third.json.skipped, files.length);
    assert.equal(third.json.hashed, 0);
    // Per bucket only: its listing, and its versioning (fauxqs reports none: asked each run).
    assert.deepEqual(
      Object.keys(third.requests).filter((op) =>
        op !== "ListObjectsV2" && op !== "GetBucketVersioning"
      ),
      [],
      "no per-file request",
    );
    assert.ok((third.requests.GetBucketVersioning ?? 0) <= Object.keys(BUCKETS).length);
    console.log(
      `faults ${
        Math.round(rate * 100)
      }%: ${files.length} files, ${proxy.stats.requests} requests, ` +
        `${proxy.faults()} faults (500: ${proxy.stats.error500}, 503: ${proxy.stats.error503}, ` +
        `reset in request: ${proxy.stats.resetRequest}, in response: ${proxy.stats.resetResponse}, ` +
        `black-holed: ${proxy.stats.blackholed}, delayed ${proxy.stats.delayed}); ` +
        `run 1 ${secs1.toFixed(1)} s (bound ${boundMs / 1000} s): ` +
        `${first.json.uploaded} uploaded, ${failedFiles.size} failed (exit ${first.code}), ` +
        `${openAfterFaults} multipart uploads left open; run 2 re-uploaded ${again.length}; ` +
        `lost: 0`,
    );
  } finally {
    s3.destroy();
    await proxy.close();
    await aws.stop();
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test(
  "faults: 10% of requests fail, reset or hang; run ends in bounded time, converges, no loss",
  testOpts,
  () => faultRun(0.1, 10, 5, 90_000),
);

Deno.test(
  "faults: 30% of requests fail, reset or hang; run ends in bounded time, converges, no loss",
  testOpts,
  () => faultRun(0.3, 30, 60, 180_000),
);
