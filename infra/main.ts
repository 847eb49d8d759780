/**
 * Synthesizes the infrastructure for an s3backup.toml into Terraform JSON.
 *
 *   deno run --allow-all infra/main.ts [-c CONFIG] [--out DIR] [--state FILE]
 *
 * Prints the folder to run terraform in (default infra/cdktf.out/stacks/s3backup). The config
 * is found as for `s3backup run`: -c, else $S3BACKUP_CONFIG, else ./s3backup.toml, else
 * /etc/s3backup/s3backup.toml. Local Terraform state defaults to infra/terraform.tfstate.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../lib/config/config.ts";
import { UsageError } from "../lib/core/errors.ts";
import { runCli } from "./cli.ts";
import { synthesize } from "./synth.ts";

export const USAGE = "usage: infra/main.ts [-c CONFIG] [--out DIR] [--state FILE]";

export interface SynthArgs {
  config?: string;
  out?: string;
  state?: string;
  help: boolean;
}

/** Parses -c/--config, --out, --state and --help; anything else is a UsageError. */
export function parseSynthArgs(args: string[]): SynthArgs {
  try {
    const { values } = parseArgs({
      args,
      options: {
        config: { type: "string", short: "c" },
        out: { type: "string" },
        state: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
      strict: true,
    });
    return { ...values, help: values.help ?? false };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
}

if (import.meta.main) {
  runCli(() => {
    const args = parseSynthArgs(Deno.args);
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    const config = loadConfig(args.config);
    const t0 = performance.now();
    const { stackDir } = synthesize(config, { outdir: args.out, statePath: args.state });
    const ms = Math.round(performance.now() - t0);
    console.error(`synthesized ${config.categories.length} bucket(s) in ${ms} ms`);
    console.log(stackDir);
    return 0;
  });
}
