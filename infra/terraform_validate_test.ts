/**
 * `terraform validate` on the synthesized stack, offline, against the AWS provider in a local
 * filesystem mirror (default /opt/tf-plugins; $S3BACKUP_TF_MIRROR overrides). Only the provider
 * version constraint is rewritten, to the version the mirror holds. Skipped, visibly, when
 * terraform or the mirror is missing.
 */
import { join } from "node:path";
import { parseConfigText } from "../lib/config/config.ts";
import { synthesize } from "./synth.ts";
import { assert, assertEquals } from "./testing.ts";
import {
  MIRROR,
  mirroredProviderVersion,
  PLATFORM,
  PROVIDER_DIR,
  TERRAFORM,
  terraformVersion,
} from "./terraform_mirror.ts";

const tfVersion = terraformVersion();
const providerVersion = mirroredProviderVersion();
const skipReason = tfVersion === undefined
  ? `'${TERRAFORM}' is not on PATH`
  : providerVersion === undefined
  ? `no hashicorp/aws provider for ${PLATFORM} under ${PROVIDER_DIR}`
  : undefined;
if (skipReason !== undefined) {
  console.warn(`SKIPPING terraform validate tests: ${skipReason}`);
}

const BASE = `
source = "./data"
[aws]
region = "eu-south-1"
[categories.documents]
bucket = "acme-backup-documents"
extensions = [".pdf"]
[categories.photos]
bucket = "acme-backup-photos"
extensions = [".jpg"]
[categories.database]
bucket = "acme-backup-database"
extensions = [".sql"]
`;

const DEFAULTS = "defaults + alert email";
const VARIANTS: Record<string, string> = {
  [DEFAULTS]: `[infra]\nalert_email = "admin@example.com"\n`,
  "four buckets, KMS, object lock, access key, custom lifecycle": `
[categories.video]
bucket = "acme-backup-video"
extensions = [".mp4"]
[infra]
kms_key_arn = "arn:aws:kms:eu-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
object_lock_days = 30
create_access_key = true
iam_user_name = "nas-backup"
transition_to_ia_days = 45
transition_to_glacier_days = 100
noncurrent_version_expiration_days = 400
`,
  "role attachment + S3 state backend": `[infra]
attach_to_role = "backup-host"
state_bucket = "acme-tfstate"
`,
  "fleet of users with keys, ransomware options, noncurrent tiers, a retired bucket": `[infra]
hosts = ["web1", "db1", "mail_2"]
create_access_key = true
iam_user_name = "backup-{host}"
break_glass_role = "backup-break-glass"
object_lock_days = 7
object_lock_mode = "COMPLIANCE"
deny_sse_c = true
noncurrent_transition_to_ia_days = 35
noncurrent_transition_to_glacier_days = 90
newer_noncurrent_versions = 10
retired_buckets = ["acme-backup-old"]
`,
  "fleet of roles, KMS, break-glass role ARN, no noncurrent tiers": `[infra]
hosts = ["web1", "db1"]
attach_to_role = "ec2-{host}"
kms_key_arn = "arn:aws:kms:eu-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
break_glass_role = "arn:aws:iam::123456789012:role/ops/break-glass"
object_lock_days = 30
noncurrent_transition_to_ia_days = 0
noncurrent_transition_to_glacier_days = 0
`,
};

async function terraform(args: string[], cwd: string, rcFile: string) {
  const out = await new Deno.Command(TERRAFORM, {
    args,
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: cwd,
      TF_CLI_CONFIG_FILE: rcFile,
      TF_IN_AUTOMATION: "1",
      CHECKPOINT_DISABLE: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Synthesizes a variant, validates it, and returns its stack folder (initialized). */
async function validateVariant(name: string, extra: string, root: string): Promise<string> {
  const dir = join(root, name.replace(/[^a-z0-9]+/gi, "-"));
  const config = parseConfigText(BASE + extra, join(dir, "s3backup.toml"));
  const { stackDir, file } = synthesize(config, {
    outdir: join(dir, "out"),
    statePath: join(dir, "terraform.tfstate"),
  });
  const tf = JSON.parse(Deno.readTextFileSync(file));
  const aws = tf.terraform.required_providers.aws;
  if (aws.version !== providerVersion) {
    console.log(`  ${name}: provider constraint ${aws.version} -> ${providerVersion} (mirror)`);
    aws.version = providerVersion;
    Deno.writeTextFileSync(file, JSON.stringify(tf, null, 2));
  }
  const rc = join(dir, "terraformrc");
  Deno.writeTextFileSync(
    rc,
    `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(MIRROR)}
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
`,
  );
  const init = await terraform(
    ["init", "-backend=false", "-input=false", "-no-color"],
    stackDir,
    rc,
  );
  assertEquals(init.code, 0, `${name}: terraform init failed:\n${init.stdout}\n${init.stderr}`);
  const validate = await terraform(["validate", "-json", "-no-color"], stackDir, rc);
  const result = JSON.parse(validate.stdout);
  const errors = (result.diagnostics ?? []).filter((d: { severity: string }) =>
    d.severity === "error"
  );
  assert(
    validate.code === 0 && result.valid === true && errors.length === 0 &&
      result.warning_count === 0,
    `${name}: terraform validate failed:\n${JSON.stringify(result.diagnostics, null, 2)}`,
  );
  console.log(`  ${name}: valid, no warnings`);
  return stackDir;
}

/** The alert_email variable's validation rejects a non-address (evaluated by terraform console). */
async function checkEmailValidation(stackDir: string): Promise<void> {
  const dir = join(stackDir, "..", "..", "..");
  const rc = join(dir, "terraformrc");
  // console needs the (local, temp-folder) backend initialized too; still offline.
  const init = await terraform(["init", "-input=false", "-no-color"], stackDir, rc);
  assertEquals(init.code, 0, init.stdout + init.stderr);
  // terraform console exits 0 even when a variable fails validation: judge by the message.
  const attempt = async (value: string) => {
    const child = new Deno.Command(TERRAFORM, {
      args: ["console", "-no-color", `-var=alert_email=${value}`],
      cwd: stackDir,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dir, TF_CLI_CONFIG_FILE: rc },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("var.alert_email\n"));
    await w.close();
    const out = await child.output();
    return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  };
  // One at a time: console takes the state lock.
  const good = await attempt("admin@example.com");
  const bad = await attempt("not-an-email");
  assert(good.includes('"admin@example.com"') && !good.includes("Error"), good);
  assert(bad.includes("alert_email must be an email address"), bad);
  console.log("  alert_email validation: rejects a non-address");
}

Deno.test({
  name: `terraform validate against the mirrored hashicorp/aws provider (${
    skipReason ?? `${tfVersion}, aws ${providerVersion}`
  })`,
  ignore: skipReason !== undefined,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "s3backup-tf-validate-" });
    try {
      await Promise.all(
        Object.entries(VARIANTS).map(async ([name, extra]) => {
          const stackDir = await validateVariant(name, extra, root);
          if (name === DEFAULTS) await checkEmailValidation(stackDir);
        }),
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
