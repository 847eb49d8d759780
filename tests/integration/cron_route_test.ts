/**
 * The documented cron route (docs/operations.md), tested for real: tests/setup/cron_route.sh creates the user, the
 * folders, the permissions, the config (s3backup init under /etc) and the crontab line on a
 * throwaway root (a private mount namespace), then runs the cron command once as cron would,
 * against the embedded S3 server. Needs root (CI runs as root); skipped elsewhere.
 */
import assert from "node:assert/strict";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { startLocalAws, TEST_CREDENTIALS } from "../support/local_aws.ts";
import { testS3Client } from "../support/s3_client.ts";
import { REPO_ROOT } from "../support/cli.ts";

const SCRIPT = `${REPO_ROOT}tests/setup/cron_route.sh`;
const DENO_DIR = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`;

function canRun(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root (needs useradd and a mount namespace)";
  for (const bin of ["unshare", "useradd", "setpriv"]) {
    const found = new Deno.Command("sh", { args: ["-c", `command -v ${bin}`] }).outputSync();
    if (!found.success) return `${bin} is missing`;
  }
  return undefined;
}

const why = canRun();
// In CI a skip proves nothing: fail instead.
if (why && Deno.env.get("CI") === "true") throw new Error(`cron_route_test.ts cannot run: ${why}`);
if (why) console.warn(`SKIPPED cron_route_test.ts: ${why}`);

Deno.test("the cron steps of docs/operations.md are the ones the script runs", () => {
  const script = Deno.readTextFileSync(SCRIPT);
  const block = script.split("# --- documented steps")[1].split("# --- end of documented steps")[0];
  const steps = block.split("\n").slice(1).map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#") && !l.includes("# test-only"));
  assert.ok(steps.length >= 10, `${steps.length} steps`);
  const doc = Deno.readTextFileSync(`${REPO_ROOT}docs/operations.md`);
  // The documented lines, each command of them without its sudo.
  const lines = doc.split("\n").filter((l) => l.startsWith("sudo "))
    .map((l) => l.replaceAll("sudo ", "").replace(/\s+#.*$/, "").trim());
  const missing = steps.filter((s) => !lines.includes(s));
  assert.deepEqual(missing, [], "each step is a line of docs/operations.md (with sudo)");
});

Deno.test({
  name: "cron route: user, folders, config under /etc, crontab line; the cron command backs up",
  ignore: why !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const buckets = ["acme-backup-documents", "acme-backup-photos", "acme-backup-database"];
    const aws = await startLocalAws(buckets);
    const work = Deno.makeTempDirSync({ prefix: "s3backup-cron-" });
    Deno.chmodSync(work, 0o755);
    try {
      const out = await new Deno.Command("unshare", {
        args: ["--mount", "--propagation", "private", "bash", SCRIPT, work],
        env: {
          DENO_BIN: Deno.execPath(),
          DENO_DIR,
          S3_ENDPOINT: aws.endpoint,
          TEST_ACCESS_KEY_ID: TEST_CREDENTIALS.AWS_ACCESS_KEY_ID,
          TEST_SECRET_ACCESS_KEY: TEST_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /cron_route\.sh: OK/);
      assert.match(text, /^S3BACKUP OK - last successful run ended /m);
      const s3 = testS3Client(aws.endpoint);
      const keys = async (b: string) =>
        ((await s3.send(new ListObjectsV2Command({ Bucket: b }))).Contents ?? []).map((o) => o.Key)
          .sort();
      assert.deepEqual(await keys(buckets[0]), [
        ".s3backup/manifest.txt.gz",
        "notes.txt",
        "reports/q1.txt",
      ]);
      assert.deepEqual(await keys(buckets[2]), [".s3backup/manifest.txt.gz", "app.sql"]);
      s3.destroy();
      // The real machine was not touched.
      assert.throws(() => Deno.statSync("/etc/s3backup/s3backup.toml"));
      const passwd = Deno.readTextFileSync("/etc/passwd");
      assert.doesNotMatch(passwd, /^s3backup:/m);
    } finally {
      await aws.stop();
      Deno.removeSync(work, { recursive: true });
    }
  },
});
