/** Synthesizes the stack into Terraform JSON on disk (the only part of infra/ that writes). */
import { App } from "cdktf";
import { join, relative, resolve } from "node:path";
import type { Config } from "../lib/config/config.ts";
import { S3BackupStack } from "./stack.ts";

/** The stack's name: its folder under <outdir>/stacks/. */
export const STACK_ID = "s3backup";

/** This folder; defaults below are relative to it, not to the working directory. */
export const INFRA_DIR = import.meta.dirname ?? ".";
export const DEFAULT_OUTDIR = join(INFRA_DIR, "cdktf.out");
/** Local state lives beside, not inside, the synth output folder (which is rewritten freely). */
export const DEFAULT_STATE_PATH = join(INFRA_DIR, "terraform.tfstate");

export interface SynthOptions {
  outdir?: string;
  /** Local backend state file; ignored when infra.state_bucket selects the S3 backend. */
  statePath?: string;
}

export interface SynthResult {
  /** Folder to run terraform in. */
  stackDir: string;
  /** The Terraform JSON file in it. */
  file: string;
}

/** Builds the stack for a config and writes <outdir>/stacks/s3backup/cdk.tf.json. */
export function synthesize(config: Config, opts: SynthOptions = {}): SynthResult {
  const outdir = resolve(opts.outdir ?? DEFAULT_OUTDIR);
  // cdktf creates only the last path component of outdir.
  Deno.mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir });
  const stackDir = join(outdir, "stacks", STACK_ID);
  // Relative to the folder terraform runs in, so moving the checkout (synth folder and state
  // together) does not change the backend configuration.
  const localStatePath = relative(stackDir, resolve(opts.statePath ?? DEFAULT_STATE_PATH));
  new S3BackupStack(app, STACK_ID, config, { localStatePath });
  app.synth();
  return { stackDir, file: join(stackDir, "cdk.tf.json") };
}

/** What the admin must know before applying this config (printed by synth and deploy). */
export function warnings(config: Config): string[] {
  const infra = config.infra;
  const out: string[] = [];
  if (infra.objectLockDays > 0 && infra.objectLockMode === "COMPLIANCE") {
    out.push(
      `object_lock_mode = "COMPLIANCE": every new version is undeletable for ` +
        `${infra.objectLockDays} days by anyone, the account root user included, and the ` +
        `retention cannot be shortened; only closing the AWS account removes it`,
    );
  }
  if (infra.breakGlassRole !== undefined) {
    out.push(
      `break_glass_role = "${infra.breakGlassRole}": once applied, only that role may change ` +
        `versioning, lifecycle, Object Lock or the bucket policy: run later deploys as that role`,
    );
  }
  return out;
}
