/** infra/main.ts and infra/deploy.ts: argument parsing (commander) and the commands they run. */
import { join } from "node:path";
import { UsageError } from "../lib/core/errors.ts";
import { parseDeployArgs, terraformBinary } from "./deploy.ts";
import { parseSynthArgs } from "./main.ts";
import { assert, assertEquals, assertMatch, assertThrows, BASE_TOML, tempDir } from "./testing.ts";

Deno.test("deploy.ts: our options, init flags and Terraform's arguments are told apart", () => {
  const none = { initArgs: [], passthrough: [] };
  assertEquals(parseDeployArgs([]), { action: "apply", ...none });
  assertEquals(
    parseDeployArgs(["plan", "-c", "x.toml", "-var", "alert_email=a@b.c", "--out=/o"]),
    {
      action: "plan",
      config: "x.toml",
      out: "/o",
      initArgs: [],
      passthrough: ["-var", "alert_email=a@b.c"],
    },
  );
  assertEquals(parseDeployArgs(["destroy", "--", "-c", "z"]), {
    action: "destroy",
    initArgs: [],
    passthrough: ["-c", "z"],
  });
  assertEquals(parseDeployArgs(["-auto-approve"]), {
    action: "apply",
    initArgs: [],
    passthrough: ["-auto-approve"],
  });
  assertEquals(
    parseDeployArgs(["plan", "--reconfigure", "--init-arg", "-upgrade", "--init-arg=-lock=false"]),
    { action: "plan", initArgs: ["-reconfigure", "-upgrade", "-lock=false"], passthrough: [] },
  );
  assertEquals(parseDeployArgs(["apply", "--migrate-state"]).initArgs, ["-migrate-state"]);
  assertThrows(() => parseDeployArgs(["deploy"]), UsageError, "unknown action");
  assertThrows(() => parseDeployArgs(["plan", "-c"]), UsageError, "argument missing");
  assertThrows(
    () => parseDeployArgs(["--reconfigure", "--migrate-state"]),
    UsageError,
    "cannot be used with",
  );
  // commander would read these as -c / -h with a value glued on.
  assertThrows(() => parseDeployArgs(["apply", "-compact-warnings"]), UsageError, "after '--'");
  assertEquals(parseDeployArgs(["apply", "--", "-compact-warnings"]).passthrough, [
    "-compact-warnings",
  ]);
  assertEquals(terraformBinary({}), "terraform");
  assertEquals(terraformBinary({ TF_BIN: "tofu" }), "tofu");
  assertEquals(
    terraformBinary({ TF_BIN: "tofu", S3BACKUP_TF_BIN: "/x/terraform" }),
    "/x/terraform",
  );
});

Deno.test("main.ts: -c, --out and --state through commander; anything else is a usage error", () => {
  assertEquals(parseSynthArgs(["-c", "a.toml", "--out", "o", "--state=s"]), {
    config: "a.toml",
    out: "o",
    state: "s",
  });
  assertThrows(() => parseSynthArgs(["--bogus"]), UsageError, "unknown option '--bogus'");
  assertThrows(() => parseSynthArgs(["extra"]), UsageError, "too many arguments");
});

const DENO = Deno.execPath();

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(DENO, {
    args,
    env,
    cwd: join(import.meta.dirname!, ".."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("main.ts prints the stack folder; a bad config or option exits 2 in one line", async () => {
  const dir = tempDir("cli-");
  const cfg = join(dir, "s3backup.toml");
  Deno.writeTextFileSync(cfg, BASE_TOML);
  const ok = await run(["run", "-A", "infra/main.ts", "-c", cfg, "--out", join(dir, "out")]);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(ok.stdout.trim(), join(dir, "out", "stacks", "s3backup"));
  assert(Deno.statSync(join(dir, "out", "stacks", "s3backup", "cdk.tf.json")).isFile);

  Deno.writeTextFileSync(cfg, BASE_TOML + `[infra]\nobject_lock_dayz = 3\n`);
  const bad = await run(["run", "-A", "infra/main.ts", "-c", cfg, "--out", join(dir, "out")]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /infra\.object_lock_dayz/);
  const opt = await run(["run", "-A", "infra/main.ts", "--nope"]);
  assertEquals(opt.code, 2);
  assertMatch(opt.stderr, /^error: unknown option '--nope'\nusage: infra\/main.ts /);
  assert(!opt.stderr.includes("    at "), opt.stderr);
  const help = await run(["run", "-A", "infra/main.ts", "--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /--state <file>/);
});

Deno.test("deploy.ts runs init (with init flags) then the action in the stack folder", async () => {
  const dir = tempDir("deploy-");
  const cfg = join(dir, "s3backup.toml");
  Deno.writeTextFileSync(
    cfg,
    BASE_TOML + `[infra]\nobject_lock_days = 1\nobject_lock_mode = "COMPLIANCE"\n`,
  );
  const log = join(dir, "calls.log");
  const fake = join(dir, "fake-terraform");
  Deno.writeTextFileSync(fake, `#!/bin/sh\necho "$PWD|$*" >> "${log}"\n`);
  Deno.chmodSync(fake, 0o755);
  const out = join(dir, "out");
  const res = await run(
    [
      "run",
      "-A",
      "infra/deploy.ts",
      "plan",
      "-c",
      cfg,
      "--out",
      out,
      "--reconfigure",
      "-var",
      "alert_email=a@b.c",
    ],
    { S3BACKUP_TF_BIN: fake },
  );
  assertEquals(res.code, 0, res.stderr);
  assertMatch(res.stderr, /warning: object_lock_mode = "COMPLIANCE": .*cannot be shortened/);
  const stackDir = join(out, "stacks", "s3backup");
  assertEquals(Deno.readTextFileSync(log).trim().split("\n"), [
    `${stackDir}|init -reconfigure`,
    `${stackDir}|state list`,
    `${stackDir}|plan -var alert_email=a@b.c`,
  ]);

  const missing = await run(
    ["run", "-A", "infra/deploy.ts", "apply", "-c", cfg, "--out", out],
    { S3BACKUP_TF_BIN: join(dir, "no-such-terraform") },
  );
  assertEquals(missing.code, 127);
  assertMatch(missing.stderr, /not found.*S3BACKUP_TF_BIN/s);

  // A failing init names the two ways out of a changed backend.
  Deno.writeTextFileSync(fake, `#!/bin/sh\nexit 1\n`);
  const failed = await run(
    ["run", "-A", "infra/deploy.ts", "plan", "-c", cfg, "--out", out],
    { S3BACKUP_TF_BIN: fake },
  );
  assertEquals(failed.code, 1);
  assertMatch(failed.stderr, /--reconfigure .*--migrate-state/);
});

Deno.test("deploy.ts apply refuses when the state holds a bucket the config no longer declares", async () => {
  const dir = tempDir("guard-");
  const cfg = join(dir, "s3backup.toml");
  const log = join(dir, "calls.log");
  const fake = join(dir, "fake-terraform");
  // `state list` answers with a bucket removed from the config, and a category-keyed id that
  // the moved blocks cover.
  Deno.writeTextFileSync(
    fake,
    `#!/bin/sh\necho "$*" >> "${log}"\n[ "$1" = state ] && printf '%s\\n' ` +
      `aws_s3_bucket.bucket_acme-backup-video aws_s3_bucket_versioning.versioning_acme-backup-video ` +
      `aws_s3_bucket.bucket_documents aws_iam_user.backup_host_user\nexit 0\n`,
  );
  Deno.chmodSync(fake, 0o755);
  const deploy = async (action: string, extra = "") => {
    Deno.writeTextFileSync(cfg, BASE_TOML + extra);
    Deno.writeTextFileSync(log, "");
    const r = await run(
      ["run", "-A", "infra/deploy.ts", action, "-c", cfg, "--out", join(dir, "out")],
      { S3BACKUP_TF_BIN: fake },
    );
    return { ...r, calls: Deno.readTextFileSync(log).trim().split("\n") };
  };
  const refused = await deploy("apply");
  assertEquals(refused.code, 1, refused.stderr);
  assertEquals(refused.calls, ["init", "state list"]);
  assertMatch(
    refused.stderr,
    /error: the config no longer declares aws_s3_bucket\.bucket_acme-backup-video, aws_s3_bucket_versioning\.versioning_acme-backup-video; .*retired_buckets/,
  );
  const planned = await deploy("plan");
  assertEquals(planned.code, 0, planned.stderr);
  assertEquals(planned.calls, ["init", "state list", "plan"]);
  assertMatch(planned.stderr, /warning: the config no longer declares/);
  const retired = await deploy("apply", `[infra]\nretired_buckets = ["acme-backup-video"]\n`);
  assertEquals(retired.code, 0, retired.stderr);
  assertEquals(retired.calls, ["init", "state list", "apply"]);

  // A first deploy: terraform has no state to list (exit 1 and this message): no warning.
  Deno.writeTextFileSync(
    fake,
    `#!/bin/sh\necho "$*" >> "${log}"\n[ "$1" = state ] && echo "No state file was found!" >&2 && exit 1\nexit 0\n`,
  );
  const first = await deploy("apply");
  assertEquals(first.code, 0, first.stderr);
  assertEquals(first.calls, ["init", "state list", "apply"]);
  assert(!/warning|No state file/.test(first.stderr), first.stderr);
});
