/**
 * Test helper: run the synthesized stack's bucket resources through `terraform apply` against a
 * local Ceph RGW (tests/servers/rgw.sh) instead of AWS. Nothing here is used by the real deploy.
 *
 * The stack is synthesized unchanged; only the Terraform JSON is post-processed: the provider
 * block is pointed at the RGW endpoint (path style, static keys, every AWS account/region/metadata
 * lookup skipped), the provider version is pinned to the offline mirror, each bucket's
 * configuration resources are chained with depends_on (serializePerBucket), and the lifecycle's
 * create timeout is shortened (shortenLifecycleWait). The apply is limited with `-target` to the
 * resource types RGW 16.2 accepts (RGW_APPLY_TYPES).
 */
import { join } from "node:path";
import type { RgwEnv } from "../tests/servers/rgw_env.ts";
import {
  MIRROR,
  mirroredProviderVersion,
  PLATFORM,
  PROVIDER_DIR,
  TERRAFORM,
  terraformVersion,
} from "./terraform_mirror.ts";

export { MIRROR, mirroredProviderVersion, TERRAFORM, terraformVersion };

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * Per-bucket resource types RGW 16.2 accepts through hashicorp/aws 5.100.0, in the order one
 * bucket is configured (see serializePerBucket). The lifecycle is last: its create always ends
 * in the provider's wait timing out on RGW (see shortenLifecycleWait), and nothing waits for it.
 */
export const RGW_APPLY_TYPES = [
  "aws_s3_bucket",
  "aws_s3_bucket_versioning",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_lifecycle_configuration",
] as const;

/**
 * Per-bucket resource types RGW 16.2 refuses, never applied here: PutBucketEncryption and
 * PutBucketOwnershipControls both answer 400 InvalidArgument ("api error InvalidArgument:
 * UnknownError" in the provider's message). SNS and IAM are not bucket resources and are not
 * applied either (RGW has no SNS or IAM API the provider can use).
 */
export const RGW_REFUSED_TYPES = [
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_ownership_controls",
] as const;

/** Why an apply against the mirror cannot run here, or undefined when it can. */
export function terraformSkipReason(): string | undefined {
  if (terraformVersion() === undefined) return `'${TERRAFORM}' is not on PATH`;
  if (mirroredProviderVersion() === undefined) {
    return `no hashicorp/aws provider for ${PLATFORM} under ${PROVIDER_DIR}`;
  }
  return undefined;
}

/**
 * Rewrites synthesized Terraform JSON in place for RGW: provider version pinned to the mirror,
 * the aws provider replaced by one for the RGW endpoint. default_tags are kept (RGW has bucket
 * tagging); the profile is dropped (static keys instead).
 */
export function pointAtRgw(tf: Json, rgw: RgwEnv, providerVersion: string): void {
  tf.terraform.required_providers.aws.version = providerVersion;
  const providers = tf.provider?.aws;
  if (!Array.isArray(providers) || providers.length !== 1) {
    throw new Error(`expected one aws provider block, got ${JSON.stringify(providers)}`);
  }
  const { default_tags } = providers[0];
  tf.provider.aws = [{
    region: rgw.region,
    access_key: rgw.accessKeyId,
    secret_key: rgw.secretAccessKey,
    endpoints: [{ s3: rgw.endpoint }],
    s3_use_path_style: true,
    skip_credentials_validation: true,
    skip_requesting_account_id: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    ...(default_tags === undefined ? {} : { default_tags }),
  }];
}

/**
 * Chains depends_on per bucket so that Terraform changes one bucket's configuration at a time, in
 * the order of `types` (after the aws_s3_bucket itself). RGW 16.2 silently loses one of two
 * concurrent configuration writes to the same bucket (e.g. PutBucketPolicy racing
 * PutPublicAccessBlock: the policy is gone; DeleteBucketPolicy racing PutBucketVersioning: the
 * policy stays), where AWS answers 409 OperationAborted. The stack itself only orders the policy
 * after the public access block and the lifecycle after versioning. Different buckets still run
 * in parallel.
 */
export function serializePerBucket(tf: Json, types: readonly string[]): void {
  for (const bucketName of Object.keys(tf.resource?.aws_s3_bucket ?? {})) {
    const ref = `\${aws_s3_bucket.${bucketName}.id}`;
    let previous: string | undefined;
    for (const type of types) {
      if (type === "aws_s3_bucket") continue;
      const entries = Object.entries(tf.resource?.[type] ?? {}) as [string, Json][];
      const mine = entries.filter(([, r]) => r.bucket === ref);
      if (mine.length !== 1) {
        throw new Error(`${type} for ${bucketName}: expected 1 resource, found ${mine.length}`);
      }
      const [name, resource] = mine[0];
      if (previous !== undefined) {
        const deps: string[] = resource.depends_on ?? [];
        if (!deps.includes(previous)) resource.depends_on = [...deps, previous];
      }
      previous = `${type}.${name}`;
    }
  }
}

/**
 * Gives up the provider's wait after PutBucketLifecycleConfiguration early. hashicorp/aws 5.x
 * re-reads the configuration until it deep-equals what it sent, many times in a row (default
 * timeout 3 min). RGW 16.2 never matches: it returns a `Filter{}` rule as the legacy
 * `Prefix: ""`, silently drops `ObjectSizeGreaterThan`, and sends no
 * x-amz-transition-default-minimum-object-size. The PUT itself succeeds; the create then fails
 * with "While waiting: timeout while waiting for state to become 'true'" and the resource is not
 * recorded in the state (deleting the bucket removes the configuration).
 */
export function shortenLifecycleWait(tf: Json, timeout: string): void {
  for (const r of Object.values(tf.resource?.aws_s3_bucket_lifecycle_configuration ?? {})) {
    (r as Json).timeouts = { ...(r as Json).timeouts, create: timeout };
  }
}

/** Managed resource addresses (`type.name`) recorded in a local state file, sorted. */
export function stateAddresses(statePath: string): string[] {
  let state: Json;
  try {
    state = JSON.parse(Deno.readTextFileSync(statePath));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return (state.resources ?? [])
    .filter((r: Json) => r.mode === "managed")
    .map((r: Json) => `${r.type}.${r.name}`)
    .sort();
}

/** `-target` addresses (`type.name`) of every resource of the given types, sorted. */
export function targetsOf(tf: Json, types: readonly string[]): string[] {
  const out: string[] = [];
  for (const type of types) {
    for (const name of Object.keys(tf.resource?.[type] ?? {})) out.push(`${type}.${name}`);
  }
  return out.sort();
}

/** A CLI config that installs hashicorp/aws only from the filesystem mirror (offline). */
export function writeTerraformRc(path: string): void {
  Deno.writeTextFileSync(
    path,
    `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(MIRROR)}
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
`,
  );
}

export interface TfResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs terraform in cwd with a clean environment: no AWS_* variables or shared config from the
 * caller can reach the provider, and HOME is the temp folder (no ~/.aws, no ~/.terraformrc).
 */
export async function terraform(
  args: string[],
  cwd: string,
  rcFile: string,
  home: string,
): Promise<TfResult> {
  const t0 = performance.now();
  const out = await new Deno.Command(TERRAFORM, {
    args,
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      TF_CLI_CONFIG_FILE: rcFile,
      TF_IN_AUTOMATION: "1",
      CHECKPOINT_DISABLE: "1",
      AWS_CONFIG_FILE: join(home, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(home, "no-aws-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms: Math.round(performance.now() - t0),
  };
}

/** The `Error:` blocks of a -no-color terraform run, one string each (for messages and reports). */
export function terraformErrors(r: TfResult): string[] {
  const text = `${r.stdout}\n${r.stderr}`;
  return text.split(/\n(?=Error: )/).filter((s) => s.startsWith("Error: ")).map((s) => s.trim());
}
