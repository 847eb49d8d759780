/**
 * A run ends in bounded time by itself, and promptly on SIGTERM, where hang_test.ts's cases do
 * not reach: every PUT black-holed with nobody there to send a signal (cron at 3 a.m.), and a
 * SIGTERM that arrives while a very large file is being hashed.
 */
import assert from "node:assert/strict";
import { configText } from "../support/config.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { spawnCli } from "../support/cli.ts";
import { BUCKETS, makeTree, runCliWithin, sleep, testOpts } from "./helpers.ts";

Deno.test(
  "hang: every PUT black-holed, no signal: the run ends by itself, each file failed, exit 1",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    const proxy = await startFaultProxy({
      upstream: aws.endpoint,
      seed: 5,
      blackhole: (i) => i.method === "PUT",
    });
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-hang-all-" });
    const cfg = `${dir}/s3backup.toml`;
    try {
      const files = makeTree(`${dir}/src`, 3, 6);
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: `${dir}/src`,
          stateDir: `${dir}/state`,
          endpoint: proxy.endpoint,
          topicArn: aws.topicArn,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );
      // Idle timeout 1 s: each PUT is given up after 5 attempts (~5 s + backoff), 6 files and the
      // manifests side by side. Bound 60 s: room for a loaded machine, none for a hang.
      const t0 = performance.now();
      const r = await runCliWithin(["run", "-c", cfg, "--json"], {
        ...aws.env,
        S3BACKUP_IDLE_TIMEOUT: "1",
      }, 60_000);
      const secs = (performance.now() - t0) / 1000;
      const json = JSON.parse(r.stdout);
      assert.equal(r.code, 1, r.stderr.slice(-3000));
      assert.equal(json.status, "FAILED");
      assert.equal(json.uploaded, 0);
      const failed = (json.failures as Array<{ path: string; error: string }>).map((f) => f.path);
      for (const f of files) assert.ok(failed.includes(f.rel), `${f.rel} is reported failed`);
      assert.ok(proxy.stats.blackholed >= files.length, `${proxy.stats.blackholed} black-holed`);
      // The report still reaches the admin: SNS is a POST, not black-holed.
      assert.match(aws.snsMessages().at(-1)?.subject ?? "", /^s3backup FAILED on /);
      console.log(`every PUT black-holed: the run ended by itself in ${secs.toFixed(1)} s`);
    } finally {
      await proxy.close();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

/** Whether process `pid` has `path` open (Linux /proc). */
function hasOpen(pid: number, path: string): boolean {
  try {
    for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`) === path) return true;
      } catch { /* closed meanwhile */ }
    }
  } catch { /* exited */ }
  return false;
}

Deno.test(
  "hang: SIGTERM while a 32 GiB file is hashed ends the run within 3 s, exit 143",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-hash-" });
    const cfg = `${dir}/s3backup.toml`;
    const big = `${dir}/src/huge.sql`;
    try {
      Deno.mkdirSync(`${dir}/src`);
      // Sparse: no disk used, yet reading and hashing it all takes ~15 s (SHA-256 ≤ 2.5 GB/s).
      using f = Deno.openSync(big, { write: true, create: true });
      f.truncateSync(32 * 1024 ** 3);
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: `${dir}/src`,
          stateDir: `${dir}/state`,
          endpoint: aws.endpoint,
          buckets: BUCKETS,
        }),
      );
      const child = spawnCli(["run", "-c", cfg], { env: aws.env });
      const output = child.output();
      const waitStart = performance.now();
      // Hashing has begun once the run holds the file open (a new file is hashed before upload).
      while (!hasOpen(child.pid, big)) {
        assert.ok(performance.now() - waitStart < 30_000, "the run never opened the file");
        await sleep(20);
      }
      await sleep(300);
      const t0 = performance.now();
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const out = await output;
      clearTimeout(killer);
      const stopS = (performance.now() - t0) / 1000;
      const stdout = new TextDecoder().decode(out.stdout);
      assert.ok(stopS < 3, `exit ${stopS.toFixed(1)} s after SIGTERM`);
      assert.equal(out.code, 143, new TextDecoder().decode(out.stderr).slice(-2000));
      assert.match(stdout, /^Backup interrupted\.\n/);
      console.log(`SIGTERM while hashing 32 GiB: exit ${stopS.toFixed(2)} s after the signal`);
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
