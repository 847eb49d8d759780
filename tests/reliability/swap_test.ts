/**
 * Files swapped between the scan and the upload: a regular file replaced by a symlink (to a
 * private file outside the source, to /dev/zero) or by a FIFO after the scan saw it. The swap
 * is made by a hook, not a sleep: uploads run one at a time (--concurrency 1), and the fault
 * proxy's onRequest swaps the later files when the first file's PutObject arrives — after the
 * scan, before any of them is opened.
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { dirname } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { startLocalAws } from "../support/local_aws.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { spawnCli } from "../support/cli.ts";
import { testOpts } from "./helpers.ts";

const MiB = 1024 * 1024;
const BUCKETS = { documents: "swap-docs", photos: "swap-photos", database: "swap-db" };
/** The file whose upload triggers the swaps; sorted before every file swapped. */
const TRIGGER = "a_first.txt";

interface Outcome {
  code: number;
  json: { uploaded: number; failures: Array<{ path: string; error: string }> };
  stderr: string;
  ms: number;
  peakRssMiB: number;
  /** Objects found in the bucket, by key, for the keys asked. */
  stored: Map<string, Uint8Array>;
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Backs up `files` (relative path → size; each filled with 'x') plus the trigger, swaps each
 * path in `swaps` when the trigger's upload begins, and reports what happened. The run is
 * killed past `boundMs` or past `rssLimitMiB` of memory (both a failure of the run).
 */
async function runWithSwap(
  files: Record<string, number>,
  swaps: Record<string, (path: string) => void>,
  bounds = { boundMs: 60_000, rssLimitMiB: 1024 },
): Promise<Outcome> {
  const aws = await startLocalAws(Object.values(BUCKETS));
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-swap-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  let swapped = false;
  const proxy = await startFaultProxy({
    upstream: aws.endpoint,
    seed: 1,
    onRequest: (info) => {
      if (swapped || info.op !== "PutObject" || info.key !== TRIGGER) return;
      swapped = true;
      for (const [rel, swap] of Object.entries(swaps)) {
        Deno.removeSync(`${src}/${rel}`, { recursive: true });
        swap(`${src}/${rel}`);
      }
    },
  });
  const s3 = testS3Client(aws.endpoint);
  try {
    Deno.writeTextFileSync(`${src}/${TRIGGER}`, "first");
    for (const [rel, size] of Object.entries(files)) {
      Deno.mkdirSync(dirname(`${src}/${rel}`), { recursive: true });
      Deno.writeFileSync(`${src}/${rel}`, new Uint8Array(size).fill(0x78));
    }
    const cfg = writeConfig(dir, {
      source: src,
      stateDir: `${dir}/state`,
      endpoint: proxy.endpoint,
      buckets: BUCKETS,
    });
    const started = performance.now();
    const child = spawnCli(["run", "-c", cfg, "--json", "--concurrency", "1"], {
      env: aws.env,
    });
    let peak = 0;
    let killedFor = "";
    const watch = setInterval(() => {
      peak = Math.max(peak, rssMiB(child.pid));
      const over = peak > bounds.rssLimitMiB
        ? `memory over ${bounds.rssLimitMiB} MiB`
        : performance.now() - started > bounds.boundMs
        ? `still running after ${bounds.boundMs} ms`
        : "";
      if (over && !killedFor) {
        killedFor = over;
        child.kill("SIGKILL");
      }
    }, 20);
    const out = await child.output();
    clearInterval(watch);
    const ms = performance.now() - started;
    assert.equal(killedFor, "", `the run was killed: ${killedFor}`);
    assert.ok(swapped, "the trigger's upload happened, so the files were swapped");
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const stored = new Map<string, Uint8Array>();
    for (const key of [TRIGGER, ...Object.keys(files)]) {
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: BUCKETS.documents, Key: key }));
        stored.set(key, await got.Body!.transformToByteArray());
      } catch (err) {
        if ((err as Error).name !== "NoSuchKey") throw err;
      }
    }
    return { code: out.code, json: JSON.parse(stdout), stderr, ms, peakRssMiB: peak, stored };
  } finally {
    s3.destroy();
    await proxy.close();
    await aws.stop();
    Deno.removeSync(dir, { recursive: true });
  }
}

function failureOf(o: Outcome, path: string): string {
  const f = o.json.failures.find((x) => x.path === path);
  assert.ok(f, `${path} is reported as a failure: ${JSON.stringify(o.json.failures)}`);
  return f.error;
}

Deno.test(
  "swap: a file replaced by a symlink to a private file outside the source is never uploaded",
  testOpts,
  async () => {
    const outside = Deno.makeTempDirSync({ prefix: "s3backup-outside-" });
    // One size per read path: in memory (≤ 1 MiB), streamed single PUT, multipart parts.
    const sizes = { "b_small.txt": 100, "b_medium.txt": 2 * MiB, "b_large.txt": 9 * MiB };
    const secretOf = (size: number) => {
      const path = `${outside}/secret-${size}`;
      const bytes = new Uint8Array(size).fill(0x53); // 'S': never in the bucket
      Deno.writeFileSync(path, bytes, { mode: 0o600 });
      return path;
    };
    try {
      const swaps = Object.fromEntries(
        Object.entries(sizes).map(([rel, size]) => {
          const secret = secretOf(size);
          return [rel, (p: string) => Deno.symlinkSync(secret, p)];
        }),
      );
      // A folder swapped for a symlink: the file's own name is no link, its inode tells.
      Deno.mkdirSync(`${outside}/folder`);
      Deno.copyFileSync(secretOf(100), `${outside}/folder/b_in_folder.txt`);
      swaps["sub"] = (p: string) => Deno.symlinkSync(`${outside}/folder`, p);
      const o = await runWithSwap(
        { ...sizes, "c_after.txt": 10, "sub/b_in_folder.txt": 100 },
        swaps,
      );
      assert.equal(o.code, 1, o.stderr);
      for (const rel of Object.keys(sizes)) {
        assert.equal(o.stored.has(rel), false, `${rel}: the private file reached the bucket`);
        assert.match(failureOf(o, rel), /symlink/, rel);
      }
      assert.equal(o.stored.has("sub/b_in_folder.txt"), false, "read through a swapped folder");
      assert.match(failureOf(o, "sub/b_in_folder.txt"), /replaced by another file/);
      assert.ok(o.stored.has("c_after.txt"), "the run went on with the next file");
      assert.equal(o.json.uploaded, 2);
    } finally {
      Deno.removeSync(outside, { recursive: true });
    }
  },
);

Deno.test(
  "swap: a file replaced by a symlink to /dev/zero fails alone, memory stays bounded",
  testOpts,
  async () => {
    const sizes = { "b_zero_small.txt": 100, "b_zero_large.txt": 9 * MiB };
    const toZero = (p: string) => Deno.symlinkSync("/dev/zero", p);
    const o = await runWithSwap({ ...sizes, "c_after.txt": 10 }, {
      "b_zero_small.txt": toZero,
      "b_zero_large.txt": toZero,
    });
    assert.equal(o.code, 1, o.stderr);
    for (const rel of Object.keys(sizes)) {
      assert.equal(o.stored.has(rel), false, rel);
      assert.match(failureOf(o, rel), /symlink/, rel);
    }
    assert.ok(o.stored.has("c_after.txt"));
    assert.ok(o.peakRssMiB < 512, `peak RSS ${o.peakRssMiB.toFixed(0)} MiB`);
  },
);

Deno.test(
  "swap: a file replaced by a FIFO never blocks the run",
  testOpts,
  async () => {
    const mkfifo = (p: string) => {
      const r = new Deno.Command("mkfifo", { args: [p] }).outputSync();
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    };
    const sizes = { "b_fifo_small.txt": 100, "b_fifo_medium.txt": 2 * MiB };
    const o = await runWithSwap({ ...sizes, "c_after.txt": 10 }, {
      "b_fifo_small.txt": mkfifo,
      "b_fifo_medium.txt": mkfifo,
    }, { boundMs: 30_000, rssLimitMiB: 1024 });
    assert.equal(o.code, 1, o.stderr);
    for (const rel of Object.keys(sizes)) {
      assert.equal(o.stored.has(rel), false, rel);
      assert.match(failureOf(o, rel), /FIFO/, rel);
    }
    assert.ok(o.stored.has("c_after.txt"));
  },
);
