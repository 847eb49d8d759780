/**
 * `before` and `after` hooks through the CLI (a subprocess) against fauxqs, with real commands:
 * their order, a failing `before` stopping the run with nothing uploaded, `after` running after a
 * failed or interrupted run, timeouts, and a `before` hook that mounts the source.
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { testS3Client } from "../support/s3_client.ts";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { type LocalAws, startLocalAws } from "../support/local_aws.ts";
import { runCli, spawnCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
let counter = 0;

interface Fixture {
  aws: LocalAws;
  dir: string;
  src: string;
  log: string;
  buckets: { documents: string; photos: string; database: string };
  /** Writes the config with these top-level lines, then runs `run --json`. */
  run(extra: string, ...args: string[]): Promise<{ code: number; json: Report; stderr: string }>;
  cfg(extra: string): string;
  keys(bucket: string): Promise<string[]>;
  /** The lines the hooks appended to the log file. */
  logLines(): string[];
  cleanup(): Promise<void>;
}

interface Report {
  status: string;
  uploaded: number;
  errors: number;
  fatal?: string;
  failures: Array<{ path: string; error: string }>;
  hooks?: Array<{ phase: string; command: string; status: string; error?: string }>;
}

/** An argv that appends `word` to the log file: a hook leaving a trace. */
function logHook(log: string, word: string, exit = 0): string {
  return JSON.stringify(["sh", "-c", `echo ${word} >> "$0"; exit ${exit}`, log]);
}

async function fixture(files: Record<string, string> = { "notes.txt": "notes\n" }) {
  const n = ++counter;
  const buckets = { documents: `hk-docs-${n}`, photos: `hk-photos-${n}`, database: `hk-db-${n}` };
  const aws = await startLocalAws(Object.values(buckets));
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-hooks-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  for (const [rel, content] of Object.entries(files)) {
    Deno.writeTextFileSync(`${src}/${rel}`, content);
  }
  const log = `${dir}/hooks.log`;
  const s3 = testS3Client(aws.endpoint);
  const cfg = (extra: string) =>
    writeConfig(dir, {
      source: src,
      stateDir: `${dir}/state`,
      endpoint: aws.endpoint,
      buckets,
      extra,
    });
  const fx: Fixture = {
    aws,
    dir,
    src,
    log,
    buckets,
    cfg,
    async run(extra, ...args) {
      const r = await runCli(["run", "-c", cfg(extra), "--json", ...args], { env: aws.env });
      try {
        return { code: r.code, json: JSON.parse(r.stdout), stderr: r.stderr };
      } catch {
        throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
    },
    async keys(bucket) {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (out.Contents ?? []).map((o) => o.Key!).filter((k) => !k.startsWith(".s3backup/"));
    },
    logLines() {
      try {
        return Deno.readTextFileSync(log).trim().split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    async cleanup() {
      s3.destroy();
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    },
  };
  return fx;
}

Deno.test({
  name: "hooks: before in order, then the backup, then after; each in the report",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      // A before hook that checks the log proves the order from inside: b2 sees b1's line.
      const b2 = JSON.stringify([
        "sh",
        "-c",
        `grep -q b1 "$0" && echo b2 >> "$0"`,
        fx.log,
      ]);
      const extra = `before = [${logHook(fx.log, "b1")}, ${b2}]\n` +
        `after = [${logHook(fx.log, "a1")}, ${logHook(fx.log, "a2")}]`;
      const r = await fx.run(extra);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.status, "OK");
      assert.equal(r.json.uploaded, 1);
      assert.deepEqual(fx.logLines(), ["b1", "b2", "a1", "a2"]);
      assert.deepEqual(r.json.hooks?.map((h) => [h.phase, h.status]), [
        ["before", "ok"],
        ["before", "ok"],
        ["after", "ok"],
        ["after", "ok"],
      ]);
      assert.match(r.json.hooks![0].command, /^sh -c "echo b1 >> \\"\$0\\"; exit 0" \//);
      assert.match(r.stderr, /Running before hook: sh -c/);

      // The text report lists them too.
      const text = await runCli(["run", "-c", fx.cfg(extra)], { env: fx.aws.env });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Hooks: 4 ok, 0 failed$/m);
      assert.match(text.stdout, /^ {2}after: sh -c .*: ok in \d+\.\d\d s$/m);
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "hooks: a failing before hook stops the run: FAILED, exit 1, nothing uploaded, no after",
  ...opts,
  fn: async () => {
    const fx = await fixture({ "notes.txt": "notes\n", "db.sql": "x" });
    try {
      const failing = JSON.stringify([
        "sh",
        "-c",
        'echo "lvcreate: Volume group \\"data\\" has insufficient free space" >&2; exit 5',
      ]);
      const r = await fx.run(
        `before = [${logHook(fx.log, "b1")}, ${failing}, ${logHook(fx.log, "b3")}]\n` +
          `after = [${logHook(fx.log, "a1")}]`,
      );
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.json.status, "FAILED");
      assert.equal(r.json.uploaded, 0);
      assert.match(
        r.json.fatal!,
        /before hook sh -c .* failed \(exited with code 5\): nothing was backed up/,
      );
      assert.deepEqual(
        fx.logLines(),
        ["b1"],
        "the third before hook and the after hook did not run",
      );
      const failure = r.json.failures.find((f) => f.path.startsWith("before hook"));
      assert.ok(failure, JSON.stringify(r.json.failures));
      assert.match(failure.error, /exited with code 5; stderr: lvcreate: Volume group "data"/);
      assert.deepEqual(await fx.keys(fx.buckets.documents), []);
      assert.deepEqual(await fx.keys(fx.buckets.database), []);
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "hooks: after runs when the run failed, and its own failure is reported (exit 1)",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      // The run fails: no bucket can be listed (exit 4); after still runs, and fails itself.
      const cfgLines = `before = [${logHook(fx.log, "b1")}]\n` +
        `after = [${logHook(fx.log, "a1", 3)}, ${logHook(fx.log, "a2")}]`;
      const path = fx.cfg(cfgLines);
      Deno.writeTextFileSync(
        path,
        Deno.readTextFileSync(path).replaceAll(fx.buckets.documents, "no-such-bucket-a")
          .replaceAll(fx.buckets.photos, "no-such-bucket-b")
          .replaceAll(fx.buckets.database, "no-such-bucket-c"),
      );
      const r = await runCli(["run", "-c", path, "--json"], { env: fx.aws.env });
      const json = JSON.parse(r.stdout) as Report;
      assert.equal(r.code, 4, r.stderr);
      assert.match(json.fatal!, /no bucket could be listed/);
      assert.deepEqual(fx.logLines(), ["b1", "a1", "a2"], "every after hook ran");
      assert.deepEqual(json.hooks?.map((h) => h.status), ["ok", "failed", "ok"]);
      assert.ok(json.failures.some((f) => /^after hook sh -c/.test(f.path)));

      // A run that succeeds but whose after hook fails: FAILED, exit 1.
      const ok = await fx.run(`after = [${logHook(fx.log, "a3", 2)}]`);
      assert.equal(ok.code, 1, ok.stderr);
      assert.equal(ok.json.status, "FAILED");
      assert.equal(ok.json.uploaded, 1);
      assert.equal(ok.json.errors, 1);
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "hooks: after runs when the run is interrupted (SIGTERM during a dump): exit 143",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      const marker = `${fx.dir}/dump-started`;
      const extra = `before = [${logHook(fx.log, "b1")}]\nafter = [${logHook(fx.log, "a1")}]\n` +
        `[[dumps]]\nname = "slow"\ncommand = ${
          JSON.stringify(["sh", "-c", `touch "$0"; printf partial; sleep 30`, marker])
        }\n`;
      const child = spawnCli(["run", "-c", fx.cfg(extra), "--json"], { env: fx.aws.env });
      const t0 = Date.now();
      while (
        !(() => {
          try {
            return Deno.statSync(marker).isFile;
          } catch {
            return false;
          }
        })()
      ) {
        if (Date.now() - t0 > 30_000) throw new Error("the dump never started");
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill("SIGTERM");
      const out = await child.output();
      const json = JSON.parse(new TextDecoder().decode(out.stdout)) as Report & {
        dumps: Array<{ status: string; error: string }>;
      };
      assert.equal(out.code, 143, new TextDecoder().decode(out.stderr));
      assert.equal(json.status, "INTERRUPTED");
      assert.deepEqual(fx.logLines(), ["b1", "a1"], "after ran once the run was interrupted");
      assert.equal(json.dumps[0].status, "failed");
      assert.match(json.dumps[0].error, /^interrupted; killed by SIGTERM/);
      assert.deepEqual(await fx.keys(fx.buckets.database), [], "the dump made no object");
      assert.ok(Date.now() - t0 < 20_000, "the dump's sleep was not waited for");
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "hooks: hook_timeout kills a hook that hangs; a missing program is a failure",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      const t0 = Date.now();
      const r = await fx.run(`hook_timeout = "1s"\nbefore = [["sleep", "30"]]`);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.json.fatal!, /before hook sleep 30 failed \(timed out after 1s \(killed\)\)/);
      assert.ok(Date.now() - t0 < 15_000);
      assert.equal(r.json.uploaded, 0);

      const missing = await fx.run(`after = [["/nonexistent/snapshot-down"]]`);
      assert.equal(missing.code, 1);
      assert.equal(missing.json.uploaded, 1);
      assert.equal(
        missing.json.hooks?.[0].error,
        "command not found: /nonexistent/snapshot-down",
      );
    } finally {
      await fx.cleanup();
    }
  },
});

Deno.test({
  name: "hooks: a before hook may make the source (a snapshot mount); a dry run runs none",
  ...opts,
  fn: async () => {
    const fx = await fixture();
    try {
      const snap = `${fx.dir}/snapshot`;
      const up = JSON.stringify([
        "sh",
        "-c",
        `mkdir -p "$0/etc" && echo "from the snapshot" > "$0/etc/hosts.txt"`,
        snap,
      ]);
      const down = JSON.stringify(["rm", "-rf", snap]);
      const extra = `before = [${up}]\nafter = [${down}]`;
      const path = fx.cfg(extra);
      Deno.writeTextFileSync(
        path,
        Deno.readTextFileSync(path).replace(/^source = .*$/m, `source = ${JSON.stringify(snap)}`),
      );
      const dry = await runCli(["run", "-c", path, "--dry-run", "--json"], { env: fx.aws.env });
      assert.equal(dry.code, 2, "a dry run runs no hook: the snapshot is not there");
      assert.match(dry.stderr, /source directory does not exist/);

      const r = await runCli(["run", "-c", path, "--json"], { env: fx.aws.env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await fx.keys(fx.buckets.documents), ["etc/hosts.txt"]);
      assert.throws(() => Deno.statSync(snap), "the after hook removed the snapshot");

      // A dry run with the source present lists the hooks it would run, and runs none.
      const dry2 = await fx.run(`before = [${logHook(fx.log, "b1")}]`, "--dry-run");
      assert.equal(dry2.code, 0, dry2.stderr);
      assert.deepEqual(dry2.json.hooks?.map((h) => h.status), ["would-run"]);
      assert.deepEqual(fx.logLines(), []);
    } finally {
      await fx.cleanup();
    }
  },
});
