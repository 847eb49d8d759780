/**
 * `fleet` (hosts sharing the buckets, each under its key_prefix) against the embedded server,
 * and `policy` (the stack's IAM policy printed without Terraform, and without loading CDKTF).
 */
import assert from "node:assert/strict";
import { configText } from "../support/config.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { MAIN, REPO_ROOT, runCli } from "../support/cli.ts";
import { parseConfigText } from "../../lib/config/config.ts";
import { bucketPolicy, hostPolicy } from "../../infra/policy.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "fleet: one line per host prefix with its last run manifest; no host state needed",
  opts,
  async () => {
    const buckets = { documents: "fl-docs", photos: "fl-photos", database: "fl-db" };
    const aws = await startLocalAws(Object.values(buckets));
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-fleet-" });
    try {
      const host = (name: string, prefix: string, files: Record<string, string>) => {
        const src = `${dir}/${name}/src`;
        Deno.mkdirSync(`${src}/folder`, { recursive: true });
        for (const [rel, content] of Object.entries(files)) {
          Deno.writeTextFileSync(
            `${src}/${rel}`,
            content,
          );
        }
        const path = `${dir}/${name}/s3backup.toml`;
        const extra = prefix === "" ? "" : `key_prefix = "${prefix}"`;
        Deno.writeTextFileSync(
          path,
          configText({
            source: src,
            stateDir: `${dir}/${name}/state`,
            endpoint: aws.endpoint,
            buckets,
            extra,
          }),
        );
        return path;
      };
      const web1 = host("web1", "web1", { "index.txt": "w", "logo.jpg": "l" });
      const db1 = host("db1", "db1", { "prod.sql": "d" });
      // A host writing to the buckets' root: its own folders are not hosts.
      const root = host("root", "", { "folder/x.txt": "r" });
      for (const cfg of [db1, web1, root]) {
        const r = await runCli(["run", "-c", cfg], { env: aws.env });
        assert.equal(r.code, 0, r.stderr);
        await new Promise((res) => setTimeout(res, 1100)); // distinct seconds
      }

      // The admin's config: the same buckets, the expected hosts, and no state of any host.
      const admin = `${dir}/admin.toml`;
      Deno.writeTextFileSync(
        admin,
        configText({
          source: dir,
          stateDir: `${dir}/admin-state`,
          endpoint: aws.endpoint,
          buckets,
        }) +
          `\n[infra]\nhosts = ["web1", "db1", "mail1"]\n`,
      );
      const text = await runCli(["fleet", "-c", admin], { env: aws.env });
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^HOST +LAST RUN MANIFEST +AGE$/);
      assert.match(lines[1], /^mail1 +never +no run manifest found \(listed in \[infra\] hosts\)$/);
      assert.match(lines[2], /^db1 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +\d+s ago$/);
      assert.match(lines[3], /^web1 +\S+Z +\d+s ago$/);
      assert.match(lines[4], /^\(no key_prefix\) +\S+Z +\d+s ago$/);
      assert.equal(lines.length, 5, text.stdout);

      const json = JSON.parse(
        (await runCli(["fleet", "-c", admin, "--json"], { env: aws.env })).stdout,
      );
      const web = json.hosts.find((h: { host: string }) => h.host === "web1");
      assert.deepEqual(web.buckets.map((b: { bucket: string }) => b.bucket), [
        "fl-db", // a manifest in every bucket, empty or not
        "fl-docs",
        "fl-photos",
      ]);
      assert.equal(web.expected, true);
      assert.ok(web.age_seconds >= 0 && web.age_seconds < 60);
      assert.equal(json.hosts[0].last_manifest, null);
      assert.throws(() => Deno.statSync(`${dir}/admin-state`), "fleet needs and makes no state");

      await aws.stop();
      const down = await runCli(["fleet", "-c", admin], { env: aws.env });
      assert.equal(down.code, 1, "a bucket that cannot be read is an error");
      assert.match(down.stdout, /^ERROR: s3:\/\/fl-docs\/: /m);
    } finally {
      await aws.stop().catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

const TOML = `source = "/srv/data"
[aws]
region = "eu-south-1"
sns_topic_arn = "arn:aws:sns:eu-south-1:123456789012:acme-reports"
[categories.documents]
bucket = "acme-backup-documents"
extensions = [".pdf"]
[categories.photos]
bucket = "acme-backup-photos"
extensions = [".jpg"]
`;

Deno.test("policy: prints the stack's host and bucket policies (infra/policy.ts)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-policy-" });
  try {
    const one = `${dir}/one.toml`;
    Deno.writeTextFileSync(one, TOML);
    const config = parseConfigText(TOML, one);
    const r = await runCli(["policy", "-c", one]);
    assert.equal(r.code, 0, r.stderr);
    const topicArn = "arn:aws:sns:eu-south-1:123456789012:acme-reports";
    assert.deepEqual(
      JSON.parse(r.stdout),
      hostPolicy(config, undefined, { partition: "aws", topicArn }),
    );
    assert.match(r.stdout, /"Resource": \[\n\s+"arn:aws:s3:::acme-backup-documents\/\*"/);

    const b = await runCli(["policy", "-c", one, "--bucket", "acme-backup-photos"]);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(
      JSON.parse(b.stdout),
      bucketPolicy(config, "acme-backup-photos", { partition: "aws" }),
    );
    assert.equal((await runCli(["policy", "-c", one, "--bucket", "other"])).code, 2);

    // A fleet: one policy per host, confined to <host>/.
    const fleet = `${dir}/fleet.toml`;
    Deno.writeTextFileSync(
      fleet,
      `${TOML}[infra]\nhosts = ["web1", "db1"]\nbreak_glass_role = "bg"\n`,
    );
    const need = await runCli(["policy", "-c", fleet]);
    assert.equal(need.code, 2);
    assert.match(need.stderr, /lists \[infra\] hosts \(web1, db1\): .*give --host NAME/);
    const web1 = await runCli(["policy", "-c", fleet, "--host", "web1"]);
    assert.equal(web1.code, 0, web1.stderr);
    const doc = JSON.parse(web1.stdout);
    assert.deepEqual(
      doc,
      hostPolicy(parseConfigText(Deno.readTextFileSync(fleet), fleet), "web1", {
        partition: "aws",
        topicArn,
      }),
    );
    assert.deepEqual(doc.Statement[0].Condition, { StringLike: { "s3:prefix": ["web1/*"] } });
    const noAccount = await runCli(["policy", "-c", fleet, "--bucket", "acme-backup-photos"]);
    assert.equal(noAccount.code, 2);
    assert.match(noAccount.stderr, /give --account-id/);
    const withAccount = await runCli([
      "policy",
      "-c",
      fleet,
      "--bucket",
      "acme-backup-photos",
      "--account-id",
      "123456789012",
    ]);
    assert.equal(withAccount.code, 0, withAccount.stderr);
    assert.match(withAccount.stdout, /arn:aws:iam::123456789012:role\/bg/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the command line's module graph does not load CDKTF (policy.ts is plain JSON)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${REPO_ROOT}deno.json`, MAIN],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  // Every module the command line can load (dynamic imports included), npm packages by name.
  const specifiers: string[] = info.modules.flatMap((
    m: { specifier: string; npmPackage?: string },
  ) => [m.specifier, m.npmPackage ?? ""]);
  assert.ok(specifiers.some((s) => s.endsWith("/infra/policy.ts")), "policy.ts is in the graph");
  const cdk = specifiers.filter((s) => /cdktf|constructs@|\/constructs\//.test(s));
  assert.deepEqual(cdk, []);
});
