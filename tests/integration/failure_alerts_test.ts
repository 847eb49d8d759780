/**
 * A failed run reaches someone even when S3 and SNS are down (issue 15, item 3): the shipped
 * cron line mails a failure's output (and only a failure's), and the systemd unit starts an
 * OnFailure= unit that mails the journal. The deploy/ files are run as written, with stubs for
 * s3backup, journalctl and mail.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../support/cli.ts";

const DEPLOY = `${REPO_ROOT}deploy`;

function sh(command: string, env: Record<string, string> = {}) {
  const out = new Deno.Command("/bin/sh", {
    args: ["-c", command],
    env,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function stub(dir: string, name: string, script: string): string {
  const path = `${dir}/${name}`;
  Deno.writeTextFileSync(path, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return path;
}

/** The command of deploy/s3backup.cron's job line (after m h dom mon dow user). */
function cronCommand(text: string): string {
  const jobs = text.split("\n").filter((l) => /^[0-9*]/.test(l));
  assert.equal(jobs.length, 1, "one job line");
  return jobs[0].trim().split(/\s+/).slice(6).join(" ");
}

Deno.test("cron line: a failed run's output goes to MAILTO, a good run mails nothing", () => {
  const text = Deno.readTextFileSync(`${DEPLOY}/s3backup.cron`);
  assert.match(text, /^MAILTO=\S+$/m, "a failure is mailed to someone who reads it");
  const command = cronCommand(text);
  assert.ok(!command.includes("%"), "cron turns % into a newline");
  assert.ok(command.includes("/usr/local/bin/s3backup run"), command);
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-cron-" });
  try {
    const log = `${dir}/s3backup.log`;
    const run = (exitCode: number) => {
      const bin = stub(
        dir,
        `s3backup-${exitCode}`,
        `echo "2026-02-11 02:00:01,372 - ERROR - log line of $1 (stderr)" >&2\n` +
          `echo "Backup completed. (stdout)"\nexit ${exitCode}`,
      );
      const line = command.replaceAll("/usr/local/bin/s3backup", bin)
        .replaceAll("/var/log/s3backup.log", log);
      return sh(line, { PATH: "/usr/bin:/bin", TMPDIR: dir });
    };

    const ok = run(0);
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout + ok.stderr, "", "a good night prints nothing: no mail");

    const failed = run(4);
    assert.equal(failed.code, 4, "the exit code is kept");
    assert.equal(failed.stderr, "");
    assert.equal(
      failed.stdout,
      "s3backup run failed: exit code 4\n" +
        "2026-02-11 02:00:01,372 - ERROR - log line of run (stderr)\n" +
        "Backup completed. (stdout)\n",
      "the mail holds the run's whole output",
    );
    const logged = Deno.readTextFileSync(log);
    assert.equal(logged.match(/log line of run/g)?.length, 2, "both runs are in the log");
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["s3backup-0", "s3backup-4", "s3backup.log"],
      "no temporary file left",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("systemd: OnFailure= mails the failed run's journal; no log line is rate-limited", () => {
  const service = Deno.readTextFileSync(`${DEPLOY}/s3backup.service`);
  assert.match(service, /^LogRateLimitIntervalSec=0$/m);
  const onFailure = /^OnFailure=(\S+)@%n\.service$/m.exec(service);
  assert.ok(onFailure, "OnFailure= names a template unit");
  const template = Deno.readTextFileSync(`${DEPLOY}/${onFailure[1]}@.service`);
  // The truth about SIGTERM (crash_test.ts: the in-flight multipart upload is aborted).
  assert.doesNotMatch(service, /finish (its )?in-flight uploads/);
  assert.match(service, /open multipart\s+# uploads are aborted/);

  const exec = /^ExecStart=(.+)$/m.exec(template)![1]
    .replaceAll("%i", "s3backup.service").replaceAll("%H", "backup01");
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-onfailure-" });
  try {
    stub(dir, "journalctl", `echo "journalctl $*"\necho "... - ERROR - Backup failed: S3 down"`);
    stub(dir, "mail", `echo "$@" > "${dir}/mail.args"\ncat > "${dir}/mail.body"`);
    const r = sh(exec, { PATH: `${dir}:/usr/bin:/bin` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      Deno.readTextFileSync(`${dir}/mail.args`),
      "-s s3backup.service FAILED on backup01 root\n",
    );
    const body = Deno.readTextFileSync(`${dir}/mail.body`);
    assert.match(body, /^journalctl --unit=s3backup\.service --lines=100 --no-pager$/m);
    assert.match(body, /Backup failed: S3 down/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "systemd: the units pass systemd-analyze verify",
  ignore: !(() => {
    try {
      return new Deno.Command("systemd-analyze", { args: ["--version"] }).outputSync().success;
    } catch {
      return false;
    }
  })(),
  fn() {
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-units-" });
    try {
      for (const name of ["s3backup.service", "s3backup.timer", "s3backup-failure@.service"]) {
        // The binary is not installed here: any executable stands in for it.
        const text = Deno.readTextFileSync(`${DEPLOY}/${name}`)
          .replaceAll("/usr/local/bin/s3backup", "/bin/true");
        Deno.writeTextFileSync(`${dir}/${name}`, text);
      }
      const units = [
        "s3backup.service",
        "s3backup.timer",
        "s3backup-failure@s3backup.service.service",
      ];
      const out = new Deno.Command("systemd-analyze", {
        args: ["verify", "--man=no", ...units.map((u) => `${dir}/${u}`)],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, said);
      assert.equal(said.trim(), "", "no warning (an unknown key is only a warning)");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
