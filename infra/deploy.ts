/**
 * Synthesizes the stack, then runs Terraform (or OpenTofu) on it.
 *
 *   deno run --allow-all infra/deploy.ts [plan|apply|destroy|output] [-c CONFIG] [--out DIR]
 *     [--state FILE] [terraform args...]
 *
 * The action defaults to apply (Terraform still asks for confirmation). Arguments that are not
 * ours go to the action, e.g. `apply -auto-approve` or `plan -var alert_email=me@example.com`;
 * everything after `--` goes through untouched. The binary is $S3BACKUP_TF_BIN, else $TF_BIN,
 * else `terraform` (set either to `tofu` for OpenTofu).
 */
import { loadConfig } from "../lib/config/config.ts";
import { UsageError } from "../lib/core/errors.ts";
import { runCli } from "./cli.ts";
import { synthesize } from "./synth.ts";

export const ACTIONS = ["plan", "apply", "destroy", "output"] as const;
export type Action = typeof ACTIONS[number];

export const USAGE = "usage: infra/deploy.ts [plan|apply|destroy|output] [-c CONFIG] [--out DIR] " +
  "[--state FILE] [terraform args...]";

/** Exit code when the Terraform binary cannot be started (as a shell would say). */
export const EXIT_NO_BINARY = 127;

export interface DeployArgs {
  action: Action;
  config?: string;
  out?: string;
  state?: string;
  /** Passed to `terraform <action>`. */
  passthrough: string[];
}

/** Splits our options from Terraform's; Terraform's single-dash flags pass through. */
export function parseDeployArgs(args: string[]): DeployArgs {
  const result: DeployArgs = { action: "apply", passthrough: [] };
  let sawAction = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      result.passthrough.push(...args.slice(i + 1));
      break;
    }
    const m = /^(-c|--config|--out|--state)(?:=(.*))?$/.exec(arg);
    if (m) {
      const value = m[2] ?? args[++i];
      if (value === undefined) throw new UsageError(`${m[1]} needs a value\n${USAGE}`);
      if (m[1] === "--out") result.out = value;
      else if (m[1] === "--state") result.state = value;
      else result.config = value;
    } else if (!sawAction && result.passthrough.length === 0 && !arg.startsWith("-")) {
      if (!(ACTIONS as readonly string[]).includes(arg)) {
        throw new UsageError(`unknown action '${arg}' (use ${ACTIONS.join(", ")})\n${USAGE}`);
      }
      result.action = arg as Action;
      sawAction = true;
    } else {
      result.passthrough.push(arg);
    }
  }
  return result;
}

/** The Terraform-compatible binary to run. */
export function terraformBinary(env: Record<string, string | undefined>): string {
  return env.S3BACKUP_TF_BIN || env.TF_BIN || "terraform";
}

/** Runs one Terraform command in dir with inherited stdio; NotFound means no such binary. */
async function runTerraform(bin: string, args: string[], dir: string): Promise<number> {
  const child = new Deno.Command(bin, {
    args,
    cwd: dir,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

/**
 * Synthesizes, then `init` and the action in the stack folder. Returns the exit code: the first
 * failing Terraform command's, or EXIT_NO_BINARY with a message naming the fix.
 */
export async function deploy(
  args: DeployArgs,
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<number> {
  const config = loadConfig(args.config);
  const { stackDir } = synthesize(config, { outdir: args.out, statePath: args.state });
  log(`synthesized ${config.categories.length} bucket(s) into ${stackDir}`);
  const bin = terraformBinary(env);
  const steps: string[][] = [["init"], [args.action, ...args.passthrough]];
  for (const step of steps) {
    log(`$ ${bin} ${step.join(" ")}`);
    let code: number;
    try {
      code = await runTerraform(bin, step, stackDir);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        log(
          `error: '${bin}' not found. Install Terraform >= 1.10 (or OpenTofu >= 1.10 and set ` +
            `S3BACKUP_TF_BIN=tofu), or point S3BACKUP_TF_BIN at the binary. ` +
            `The synthesized stack is in ${stackDir}.`,
        );
        return EXIT_NO_BINARY;
      }
      throw err;
    }
    if (code !== 0) return code;
  }
  return 0;
}

if (import.meta.main) {
  runCli(() => deploy(parseDeployArgs(Deno.args), Deno.env.toObject(), (l) => console.error(l)));
}
