/**
 * Security: credentials never leak into any output or file; plain http warns; state and lock
 * are private; reports carry no file contents; restore refuses keys that escape --to.
 */
import assert from "node:assert/strict";
import { configText } from "../support/config.ts";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { startLocalAws } from "../support/local_aws.ts";
import { runCli, spawnCli } from "../support/cli.ts";
import {
  createVersionedBucket,
  RGW_SKIP_MESSAGE,
  rgwClient,
  rgwFromEnv,
} from "../servers/rgw_env.ts";
import { BUCKETS, makeTree, testOpts } from "./helpers.ts";

const CANARY = {
  AWS_ACCESS_KEY_ID: "AKIASECRETCANARY1234",
  AWS_SECRET_ACCESS_KEY: "canary-secret-8f3a9c1e7b2d4f60aa11",
  AWS_SESSION_TOKEN: "canary-token-5e6f7a8b9c0d1e2f3a4b",
};
const SECRETS = Object.values(CANARY);
const CONTENT_CANARY = "CONTENT-CANARY-do-not-report-me";

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

Deno.test(
  "security: no credential in any output, report or file; private state; http warns",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-sec-" });
    const src = `${dir}/src`;
    const state = `${dir}/state`;
    const cfg = `${dir}/s3backup.toml`;
    const env = { ...CANARY, AWS_REGION: "us-east-1" };
    const outputs: Array<[string, string]> = [];
    const cli = async (what: string, args: string[]) => {
      const r = await runCli(args, { env });
      outputs.push([`${what} stdout`, r.stdout], [`${what} stderr`, r.stderr]);
      return r;
    };
    try {
      makeTree(src, 3, 300);
      Deno.writeTextFileSync(`${src}/secret-notes.txt`, CONTENT_CANARY);
      Deno.writeTextFileSync(`${src}/unreadable.txt`, CONTENT_CANARY);
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: src,
          stateDir: state,
          endpoint: aws.endpoint,
          extra: "",
          topicArn: aws.topicArn,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );

      // A run killed mid-way leaves its lock: private, and without secrets.
      const child = spawnCli(["run", "-c", cfg], { env });
      const reader = child.stderr.getReader();
      let seen = "";
      while (!seen.includes(" - INFO - Uploading ")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stderr.cancel();
      await child.stdout.cancel();
      const lock = Deno.readTextFileSync(`${state}/lock`);
      outputs.push(["lock file", lock]);
      assert.equal(mode(`${state}/lock`), 0o600, "lock is 0600");
      assert.equal(mode(state), 0o700, "state dir is 0700");

      const ok = await cli("run", ["run", "-c", cfg]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(
        ok.stderr,
        /WARNING - S3 endpoint http:\/\/127\.0\.0\.1:\d+ \(aws\.s3_endpoint\) is plain http/,
      );
      await cli("run --json", ["run", "-c", cfg, "--json", "--checksum"]);
      await cli("verify", ["verify", "-c", cfg]);
      await cli("verify --compare --deep", ["verify", "-c", cfg, "--compare", "--deep", "--json"]);
      await cli("restore", ["restore", "-c", cfg, "--to", `${dir}/restored`, "--json"]);
      assert.equal(mode(`${state}/state.db`), 0o600, "state.db is 0600");
      assert.equal(mode(state), 0o700);

      // A failing run: nothing listens on the endpoint (connection refused), SNS unreachable too.
      const deadCfg = `${dir}/dead.toml`;
      const { port } = (() => {
        const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const a = l.addr as Deno.NetAddr;
        l.close();
        return a;
      })();
      Deno.writeTextFileSync(
        deadCfg,
        configText({
          source: src,
          stateDir: `${dir}/state2`,
          endpoint: `http://127.0.0.1:${port}`,
          extra: "",
          topicArn: aws.topicArn,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );
      const dead = await cli("failing run", ["run", "-c", deadCfg, "--json"]);
      assert.notEqual(dead.code, 0);
      assert.match(dead.stdout + dead.stderr, /ECONNREFUSED|onnection refused/);
      // A config error.
      Deno.writeTextFileSync(`${dir}/bad.toml`, `source = 3\n`);
      const bad = await cli("config error", ["run", "-c", `${dir}/bad.toml`]);
      assert.equal(bad.code, 2);

      for (const m of aws.snsMessages()) outputs.push(["SNS", `${m.subject}\n${m.message}`]);
      assert.ok(aws.snsMessages().length >= 2, "reports were published");
      for (const f of Deno.readDirSync(state)) {
        outputs.push([
          `state/${f.name}`,
          new TextDecoder("latin1").decode(Deno.readFileSync(`${state}/${f.name}`)),
        ]);
      }
      for (const [what, text] of outputs) {
        for (const secret of SECRETS) assert.ok(!text.includes(secret), `${what} leaks ${secret}`);
        if (!what.startsWith("restore")) {
          assert.ok(!text.includes(CONTENT_CANARY), `${what} carries file contents`);
        }
      }
      console.log(
        `security: ${outputs.length} outputs/files grepped for 3 credentials and file contents: 0 hits`,
      );
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "security: credentials written into the endpoint URL are never echoed, in any message",
  testOpts,
  async () => {
    const aws = await startLocalAws(Object.values(BUCKETS));
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-userinfo-" });
    const src = `${dir}/src`;
    const user = "AKIAUSERINFOCANARY01";
    const secret = "userinfo/secret+canary7f3e";
    // The secret as written (with '/' and '+') and as a URL would encode it.
    const leaks = [user, secret, encodeURIComponent(secret)];
    const port = new URL(aws.endpoint).port;
    const outputs: Array<[string, string]> = [];
    const cli = async (what: string, endpoint: string, args: string[]) => {
      const cfg = `${dir}/${outputs.length}.toml`;
      Deno.writeTextFileSync(
        cfg,
        configText({
          source: src,
          stateDir: `${dir}/state`,
          endpoint,
          extra: "",
          topicArn: aws.topicArn,
          buckets: BUCKETS,
          concurrency: 8,
        }),
      );
      const r = await runCli([...args, "-c", cfg], { env: aws.env });
      outputs.push([`${what} stdout`, r.stdout], [`${what} stderr`, r.stderr]);
      return r;
    };
    try {
      makeTree(src, 4, 20);
      const good = `http://${user}:${encodeURIComponent(secret)}@127.0.0.1:${port}`;
      const ok = await cli("run", good, ["run"]);
      assert.equal(ok.code, 0, ok.stderr);
      // The warning is still there, with the userinfo masked.
      assert.match(
        ok.stderr,
        /WARNING - S3 endpoint http:\/\/\*\*\*@127\.0\.0\.1:\d+ \(aws\.s3_endpoint\) is plain http/,
      );
      await cli("run --json", good, ["run", "--json", "--checksum"]);
      await cli("verify", good, ["verify"]);
      await cli("restore", good, ["restore", "--to", `${dir}/restored`, "--dry-run"]);
      // Failures that name the endpoint: refused, unknown host, a config error (written raw).
      const failed = await cli("refused", `http://${user}:${secret}@127.0.0.1:1`, [
        "run",
        "--json",
      ]);
      assert.notEqual(failed.code, 0);
      await cli("unknown host", `http://${user}:${secret}@no-such-host.invalid`, ["run"]);
      const bad = await cli("config error", `ftp://${user}:${secret}@127.0.0.1:${port}`, ["run"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /'ftp:\/\/\*\*\*@127\.0\.0\.1:\d+' must be an http/);
      for (const m of aws.snsMessages()) outputs.push(["SNS", `${m.subject}\n${m.message}`]);
      assert.ok(aws.snsMessages().length >= 2, "reports were published");
      for (const [what, text] of outputs) {
        for (const leak of leaks) {
          assert.ok(!text.includes(leak), `${what} leaks ${leak}:\n${text}`);
        }
      }
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "security: restore refuses keys that escape --to (RGW, versioned)",
  testOpts,
  async () => {
    const rgw = await rgwFromEnv();
    if (!rgw) {
      console.warn(
        `SKIPPED restore escape through the CLI: ${RGW_SKIP_MESSAGE} ` +
          `(lib/restore_test.ts covers it with the in-memory store)`,
      );
      return;
    }
    const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const s3 = rgwClient(rgw);
    const bucket = `esc-${id}`;
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-escape-" });
    try {
      Deno.chmodSync(dir, 0o755);
      await createVersionedBucket(s3, bucket);
      const hostile = [
        `../escape-${id}.txt`,
        `a/../../escape2-${id}.txt`,
        `/${dir.slice(1)}/abs-${id}.txt`,
        `a//b-${id}.txt`,
        `./dot-${id}.txt`,
      ];
      for (const key of [...hostile, "ok.txt"]) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));
      }
      // The keys as the server holds them (it may normalise some).
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const stored = (page.Contents ?? []).map((o) => o.Key!);
      const unsafe = stored.filter((k) => k !== "ok.txt");
      assert.ok(unsafe.some((k) => k.startsWith("../")), `RGW kept ${JSON.stringify(stored)}`);
      const cfg = `${dir}/s3backup.toml`;
      Deno.mkdirSync(`${dir}/src`);
      Deno.writeTextFileSync(
        cfg,
        `source = "${dir}/src"\nstate_dir = "${dir}/state"\nunmatched = "d"\n[aws]\n` +
          `region = "${rgw.region}"\nendpoint = "${rgw.endpoint}"\n` +
          `[categories.d]\nbucket = "${bucket}"\nextensions = [".txt"]\n`,
      );
      const to = `${dir}/deep/to`;
      const r = await runCli(["restore", "-c", cfg, "--to", to, "--json"], {
        env: {
          AWS_ACCESS_KEY_ID: rgw.accessKeyId,
          AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey,
          AWS_REGION: rgw.region,
        },
      });
      assert.equal(r.code, 1, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.restored, 1);
      assert.deepEqual(
        report.failures.map((f: { path: string }) => f.path).sort(),
        unsafe.map((k) => `s3://${bucket}/${k}`).sort(),
      );
      assert.equal(
        [...r.stderr.matchAll(/ - ERROR - Refusing to restore s3:\/\//g)].length,
        unsafe.length,
      );
      // Nothing anywhere but --to/ok.txt.
      const written: string[] = [];
      const walk = (p: string) => {
        for (const e of Deno.readDirSync(p)) {
          const full = `${p}/${e.name}`;
          if (e.isDirectory) walk(full);
          else written.push(full);
        }
      };
      walk(`${dir}/deep`);
      assert.deepEqual(written, [`${to}/ok.txt`]);
      for (const name of [`escape-${id}.txt`, `escape2-${id}.txt`, `abs-${id}.txt`]) {
        for (const where of [dir, `${dir}/deep`, "/tmp", Deno.cwd()]) {
          assert.throws(() => Deno.statSync(`${where}/${name}`), `${where}/${name} was written`);
        }
      }
      console.log(
        `restore escape: ${unsafe.length} hostile keys refused and reported (exit 1): ` +
          JSON.stringify(unsafe),
      );
    } finally {
      s3.destroy();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
