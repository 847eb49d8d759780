/**
 * `deno task demo`: the whole job on a fresh machine. Starts an embedded S3/SNS-compatible
 * server on loopback, creates the buckets, backs up sample_data/ twice (the second run skips
 * everything), shows the SNS report that was published, and lists the buckets with `verify`.
 */
import { parseConfigText } from "../lib/config/config.ts";
import { startLocalAws } from "../tests/support/local_aws.ts";
import { REPO_ROOT, runCli } from "../tests/support/cli.ts";

const demoConfig = `${REPO_ROOT}demo/s3backup.toml`;
const config = parseConfigText(Deno.readTextFileSync(demoConfig), demoConfig);
const aws = await startLocalAws(config.categories.map((c) => c.bucket));
const work = Deno.makeTempDirSync({ prefix: "s3backup-demo-" });
const say = (s: string) => console.log(`\n\x1b[1m== ${s}\x1b[0m`);

try {
  // The committed config with this server's endpoint and topic, state kept out of the repo.
  const text = Deno.readTextFileSync(demoConfig)
    .replace(/^source = .*$/m, `source = ${JSON.stringify(config.source)}`)
    .replace(/^state_dir = .*$/m, `state_dir = ${JSON.stringify(`${work}/state`)}`)
    .replace(/^endpoint = .*$/m, `endpoint = ${JSON.stringify(aws.endpoint)}`)
    .replace(/^sns_topic_arn = .*$/m, `sns_topic_arn = ${JSON.stringify(aws.topicArn)}`);
  const cfg = `${work}/s3backup.toml`;
  Deno.writeTextFileSync(cfg, text);
  console.log(`Local S3/SNS server: ${aws.endpoint} (fauxqs, in this process)`);
  console.log(`Config: ${cfg} (demo/s3backup.toml with this endpoint)`);

  let failed = false;
  for (
    const [i, label] of [[1, "first run: uploads everything"], [
      2,
      "second run: nothing changed",
    ]] as const
  ) {
    say(`s3backup run (${label})`);
    const r = await runCli(["run", "-c", cfg], { env: aws.env });
    Deno.stderr.writeSync(new TextEncoder().encode(r.stderr));
    console.log(r.stdout.trimEnd());
    console.log(`exit code: ${r.code}`);
    if (r.code !== 0) failed = true;
    void i;
  }

  say("SNS messages published to the report topic");
  for (const m of aws.snsMessages()) {
    console.log(`Subject: ${m.subject}\n${m.message.split("\n").map((l) => `  ${l}`).join("\n")}`);
  }

  say("s3backup verify");
  const v = await runCli(["verify", "-c", cfg], { env: aws.env });
  console.log(v.stdout.trimEnd());
  if (v.code !== 0) {
    console.error(v.stderr);
    failed = true;
  }
  if (failed) Deno.exitCode = 1;
} finally {
  await aws.stop();
  Deno.removeSync(work, { recursive: true });
}
