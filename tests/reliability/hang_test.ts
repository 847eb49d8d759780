/**
 * A run never hangs. The fault proxy black-holes requests (reads them whole, never answers, keeps
 * the connection open): with some PUTs black-holed the run still finishes, in bounded time,
 * through timeouts and retries; with a path black-holed for good (every PUT, the listings, the
 * HEADs of planning, the manifests, the SNS report), one SIGTERM ends the run within 10 s with
 * exit 143 and the INTERRUPTED report.
 */
import assert from "node:assert/strict";
import { configText } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { type FaultStats, type RequestInfo, startFaultProxy } from "../support/fault_proxy.ts";
import { spawnCli } from "../support/cli.ts";
import { MANIFEST_NAME } from "../../lib/core/layout.ts";
import { BUCKETS, checkIntact, makeTree, MiB, runCliWithin, sleep, testOpts } from "./helpers.ts";

/** SIGTERM to exit, at most (the bound). */
const STOP_WITHIN_MS = 10_000;

interface Stopped {
  code: number;
  stdout: string;
  stderr: string;
  stopMs: number;
}

/**
 * Starts a run whose requests matching `hole` are black-holed (default timeouts: nothing gives
 * up by itself within the test), waits until `ready(stats)`, sends one SIGTERM and measures the
 * time to exit. A run still alive 20 s after the signal is killed and fails the test.
 */
async function sigtermWhileBlackholed(
  name: string,
  hole: (i: RequestInfo) => boolean,
  ready: (s: FaultStats) => boolean,
  prepare?: (run: (env?: Record<string, string>) => Promise<number>, dir: string) => Promise<void>,
): Promise<Stopped & { proxy: { open: number; stats: FaultStats }; subjects: string[] }> {
  const aws = await startLocalAws(Object.values(BUCKETS));
  let active = false;
  const proxy = await startFaultProxy({
    upstream: aws.endpoint,
    seed: 13,
    blackhole: (i) => active && hole(i),
  });
  const dir = Deno.makeTempDirSync({ prefix: `s3backup-hang-${name}-` });
  const cfg = `${dir}/s3backup.toml`;
  try {
    makeTree(`${dir}/src`, 5, 40, [20 * MiB]);
    Deno.writeTextFileSync(
      cfg,
      configText({
        source: `${dir}/src`,
        stateDir: `${dir}/state`,
        endpoint: proxy.endpoint,
        extra: "",
        topicArn: aws.topicArn,
        buckets: BUCKETS,
        concurrency: 8,
      }),
    );
    await prepare?.(
      async () => (await runCliWithin(["run", "-c", cfg], aws.env, 60_000)).code,
      dir,
    );
    active = true;
    const child = spawnCli(["run", "-c", cfg], { env: aws.env });
    const output = child.output();
    const waitStart = performance.now();
    while (!ready(proxy.stats)) {
      assert.ok(performance.now() - waitStart < 60_000, `${name}: never reached the black hole`);
      await sleep(50);
    }
    const t0 = performance.now();
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), STOP_WITHIN_MS + 10_000);
    const out = await output;
    clearTimeout(killer);
    const stopMs = performance.now() - t0;
    const dec = new TextDecoder();
    const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    assert.notEqual(
      out.signal,
      "SIGKILL",
      `${name}: still running 20 s after SIGTERM:\n` + r.stderr.slice(-3000),
    );
    return {
      ...r,
      stopMs,
      proxy: { open: proxy.openMultipartUploads().size, stats: proxy.stats },
      subjects: aws.snsMessages().map((m) => m.subject),
    };
  } finally {
    await proxy.close();
    await aws.stop();
    Deno.removeSync(dir, { recursive: true });
  }
}

function assertInterrupted(name: string, r: Stopped) {
  assert.ok(
    r.stopMs < STOP_WITHIN_MS,
    `${name}: exit ${(r.stopMs / 1000).toFixed(1)} s after SIGTERM`,
  );
  assert.equal(r.code, 143, `${name}: ${r.stderr.slice(-3000)}`);
  assert.match(r.stdout, /^Backup interrupted\.\n/, `${name}: ${r.stdout.slice(0, 500)}`);
}

const isManifest = (i: RequestInfo) => i.key.endsWith(MANIFEST_NAME);

Deno.test(
  "hang: every PUT black-holed (files and parts): SIGTERM ends the run within 10 s, exit 143",
  testOpts,
  async () => {
    const r = await sigtermWhileBlackholed(
      "every-put",
      (i) => i.method === "PUT",
      // The big file's first part and the small files' PUTs all hang (concurrency 8).
      (s) => (s.byOp.UploadPart ?? 0) >= 1 && (s.byOp.PutObject ?? 0) >= 7,
    );
    assertInterrupted("every PUT", r);
    assert.equal(r.proxy.open, 0, "the multipart upload in flight was aborted");
    assert.match(r.subjects.at(-1) ?? "", /^s3backup INTERRUPTED on /, "the report was sent");
    console.log(
      `every PUT black-holed: exit ${r.code} ${r.stopMs.toFixed(0)} ms after SIGTERM, ` +
        `${r.proxy.stats.blackholed} requests black-holed`,
    );
  },
);

Deno.test(
  "hang: listings, planning HEADs and manifests black-holed: SIGTERM ends the run within 10 s",
  testOpts,
  async (t) => {
    await t.step("ListObjectsV2", async () => {
      const r = await sigtermWhileBlackholed(
        "list",
        (i) => i.op === "ListObjectsV2",
        (s) => s.blackholed >= 3,
      );
      assertInterrupted("listings", r);
    });
    await t.step("HeadObject while planning", async () => {
      const r = await sigtermWhileBlackholed(
        "head",
        (i) => i.op === "HeadObject",
        (s) => s.blackholed >= 1,
        // Everything stored, then the state lost: planning hashes each file and HEADs its object.
        async (run, dir) => {
          assert.equal(await run(), 0);
          Deno.removeSync(`${dir}/state`, { recursive: true });
        },
      );
      assertInterrupted("HEADs", r);
    });
    await t.step("manifest PUT", async () => {
      const r = await sigtermWhileBlackholed(
        "manifest",
        (i) => i.method === "PUT" && isManifest(i),
        (s) => s.blackholed >= 1,
      );
      assertInterrupted("manifests", r);
    });
  },
);

Deno.test(
  "hang: the SNS report black-holed: SIGTERM ends the run within 10 s",
  testOpts,
  async () => {
    const r = await sigtermWhileBlackholed(
      "sns",
      (i) => i.op === "Other" && i.method === "POST",
      (s) => s.blackholed >= 1,
    );
    assert.ok(r.stopMs < STOP_WITHIN_MS, `exit ${(r.stopMs / 1000).toFixed(1)} s after SIGTERM`);
    // The backup itself had finished; what failed is the report (exit 1, as for any SNS error).
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    assert.match(r.stderr, / - ERROR - Error sending SNS notification: /);
    assert.match(r.stdout, /^Backup completed\.\n/);
  },
);

Deno.test(
  "hang: 20% of PUT attempts black-holed: the run completes through timeouts and retries",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    const proxy = await startFaultProxy({
      upstream: aws.endpoint,
      seed: 21,
      eligible: (i) => i.method === "PUT",
      blackholeRate: 0.2,
    });
    const s3 = testS3Client(aws.endpoint);
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-hang-some-" });
    const cfg = `${dir}/s3backup.toml`;
    try {
      const files = makeTree(`${dir}/src`, 9, 200, [20 * MiB + 7]);
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: `${dir}/src`,
          stateDir: `${dir}/state`,
          endpoint: proxy.endpoint,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );
      // Idle timeout 2 s. A request black-holed 5 times in a row fails its file after
      // 5 × 2 s + backoff (< 2 s); the ~55 PUT attempts that hang (20 % of ~270, retries
      // included) cost 2 s each, 8 at a time: ~15 s over a run of ~3 s (21 s measured).
      // Bound: 60 s, with room for a loaded machine, none for a hang.
      const BOUND_MS = 60_000;
      const t0 = performance.now();
      const r = await runCliWithin(["run", "-c", cfg, "--json"], {
        ...aws.env,
        S3BACKUP_IDLE_TIMEOUT: "2",
      }, BOUND_MS);
      const secs = (performance.now() - t0) / 1000;
      const json = JSON.parse(r.stdout);
      const failures = json.failures as Array<{ path: string; error: string }>;
      assert.equal(r.code, failures.length > 0 ? 1 : 0, r.stderr.slice(-3000));
      for (const f of failures) assert.match(f.error, /timed out|stalled/, f.path);
      assert.ok(proxy.stats.blackholed >= 30, `${proxy.stats.blackholed} black-holed`);
      const failed = new Set(failures.map((f) => f.path));
      assert.equal(json.uploaded, files.length - failed.size);
      const stored = files.filter((f) => !failed.has(f.rel));
      assert.deepEqual(await checkIntact(s3, `${dir}/src`, stored), [], "uploaded means intact");
      // Every attempt counted, black-holed ones included: the report agrees with the wire.
      const { Other: _sns, ...wire } = proxy.stats.byOp;
      assert.deepEqual(json.requests, wire);
      console.log(
        `some PUTs black-holed: ${proxy.stats.blackholed} of ${proxy.stats.requests} requests; ` +
          `run ${secs.toFixed(1)} s (bound ${BOUND_MS / 1000} s), ${json.uploaded} uploaded, ` +
          `${failed.size} failed`,
      );
    } finally {
      s3.destroy();
      await proxy.close();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
