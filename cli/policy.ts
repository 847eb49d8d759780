/**
 * `s3backup policy`: the IAM policy of the backup identity (or a bucket's policy) as JSON, from
 * the same code as the Terraform stack (infra/policy.ts, which loads no CDKTF), for a setup
 * without Terraform.
 */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { type Outcome, UsageError } from "../lib/core/errors.ts";
import { loadConfigLazily } from "./context.ts";
import { stdout } from "./output.ts";
import { CONFIG_HELP } from "./options.ts";

interface PolicyFlags {
  config?: string;
  host?: string;
  bucket?: string;
  accountId?: string;
}

function accountId(value: string): string {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError("must be a 12-digit AWS account id");
  return value;
}

async function policy(flags: PolicyFlags): Promise<Outcome> {
  const config = await loadConfigLazily(flags.config);
  // infra/ code, in no other command's module graph (the run's included).
  const { bucketPolicy, hostPolicy, partitionOf } = await import("../infra/policy.ts");
  const partition = partitionOf(config.aws.region);
  const hosts = config.infra.hosts;
  let doc;
  if (flags.bucket !== undefined) {
    if (!config.categories.some((c) => c.bucket === flags.bucket)) {
      throw new UsageError(`--bucket ${flags.bucket}: no category of the config uses that bucket`);
    }
    const role = config.infra.breakGlassRole;
    if (role !== undefined && !role.startsWith("arn:") && flags.accountId === undefined) {
      throw new UsageError(
        `[infra] break_glass_role = "${role}" is a role name: give --account-id to name it in ` +
          "the bucket policy (or write break_glass_role as a full ARN)",
      );
    }
    doc = bucketPolicy(config, flags.bucket, { partition, accountId: flags.accountId });
  } else {
    if (flags.host === undefined && hosts.length > 0) {
      throw new UsageError(
        `this config lists [infra] hosts (${hosts.join(", ")}): each has its own policy; ` +
          "give --host NAME",
      );
    }
    if (flags.host !== undefined && !/^[A-Za-z0-9_-]{1,63}$/.test(flags.host)) {
      throw new UsageError(`--host ${flags.host}: use 1-63 letters, digits, '_' or '-'`);
    }
    doc = hostPolicy(config, flags.host, { partition, topicArn: config.aws.snsTopicArn });
  }
  stdout(JSON.stringify(doc, null, 2) + "\n");
  return "ok";
}

export function definePolicy(program: Command, done: (o: Outcome) => void): void {
  program.command("policy")
    .description(
      "print the backup identity's IAM policy (or --bucket's policy) as JSON, as the stack makes it",
    )
    .option("-c, --config <path>", CONFIG_HELP)
    .option("--host <name>", "a fleet host: the policy confined to <name>/ (key_prefix)")
    .option("--bucket <name>", "print this bucket's policy instead (TLS only, [infra] guards)")
    .option("--account-id <id>", "with --bucket: the account of a break_glass_role name", accountId)
    .action(async (flags) => done(await policy(flags)));
}
