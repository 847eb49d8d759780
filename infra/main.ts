/**
 * Synthesizes the infrastructure for an s3backup.toml into Terraform JSON.
 *
 *   deno run --allow-all infra/main.ts [-c CONFIG] [--out DIR] [--state FILE]
 *
 * Prints the folder to run terraform in (default infra/cdktf.out/stacks/s3backup). The config
 * is found as for `s3backup run`: -c, else $S3BACKUP_CONFIG, else ./s3backup.toml, else
 * /etc/s3backup/s3backup.toml. Local Terraform state defaults to infra/terraform.tfstate.
 */
import { loadConfig } from "../lib/config/load.ts";
import { infraCommand, parseWith, runCli } from "./cli.ts";
import { synthesize, warnings } from "./synth.ts";

export interface SynthArgs {
  config?: string;
  out?: string;
  state?: string;
}

/** Parses -c/--config, --out and --state; anything else is a UsageError. */
export function parseSynthArgs(args: string[]): SynthArgs {
  const program = infraCommand(
    "infra/main.ts",
    "Synthesize the s3backup stack into Terraform JSON",
  );
  parseWith(program, args);
  return program.opts();
}

if (import.meta.main) {
  runCli(() => {
    const args = parseSynthArgs(Deno.args);
    const config = loadConfig(args.config);
    for (const w of warnings(config)) console.error(`warning: ${w}`);
    const t0 = performance.now();
    const { stackDir } = synthesize(config, { outdir: args.out, statePath: args.state });
    const ms = Math.round(performance.now() - t0);
    console.error(`synthesized ${config.categories.length} bucket(s) in ${ms} ms`);
    console.log(stackDir);
    return 0;
  });
}
