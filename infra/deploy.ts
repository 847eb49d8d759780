/**
 * Synthesizes the stack, then runs Terraform (or OpenTofu) on it: `init`, then the action.
 * Before apply, the state is checked for buckets the config stopped declaring (their
 * protections would be destroyed): apply refuses, plan warns (state_guard.ts).
 *
 *   deno run --allow-all infra/deploy.ts [plan|apply|destroy|output] [-c CONFIG] [--out DIR]
 *     [--state FILE] [--reconfigure | --migrate-state] [--init-arg ARG]... [terraform args...]
 *
 * The action defaults to apply (Terraform still asks for confirmation). Arguments that are not
 * ours go to the action, e.g. `apply -auto-approve` or `plan -var alert_email=me@example.com`;
 * everything after `--` goes through untouched (needed for Terraform flags that begin with -c or
 * -h, which would read as ours). --reconfigure, --migrate-state and --init-arg go to `init`.
 * The binary is $S3BACKUP_TF_BIN, else $TF_BIN, else `terraform` (set either to `tofu`).
 */
import { Option } from "@commander-js/extra-typings";
import { loadConfig } from "../lib/config/load.ts";
import { UsageError } from "../lib/core/errors.ts";
import { infraCommand, parseWith, runCli } from "./cli.ts";
import { unprotectedRemovals } from "./state_guard.ts";
import { synthesize, warnings } from "./synth.ts";

export const ACTIONS = ["plan", "apply", "destroy", "output"] as const;
export type Action = typeof ACTIONS[number];

/** Exit code when the Terraform binary cannot be started (as a shell would say). */
export const EXIT_NO_BINARY = 127;
/** Exit code when apply would destroy a bucket's protections (see state_guard.ts). */
export const EXIT_REFUSED = 1;

export interface DeployArgs {
  action: Action;
  config?: string;
  out?: string;
  state?: string;
  /** Passed to `terraform init`. */
  initArgs: string[];
  /** Passed to `terraform <action>`. */
  passthrough: string[];
}

function deployCommand() {
  return infraCommand("infra/deploy.ts", "Synthesize the stack, then terraform init and ACTION")
    .usage("[plan|apply|destroy|output] [options] [terraform args...]")
    .addOption(
      new Option(
        "--reconfigure",
        "terraform init -reconfigure: the backend settings changed, the state stays where it is",
      ).conflicts("migrateState"),
    )
    .option("--migrate-state", "terraform init -migrate-state: copy the state to the new backend")
    .option(
      "--init-arg <arg>",
      "another argument for terraform init, e.g. --init-arg=-upgrade (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .allowUnknownOption()
    .allowExcessArguments();
}

/** Splits our options from Terraform's; Terraform's single-dash flags pass through. */
export function parseDeployArgs(args: string[]): DeployArgs {
  const dashes = args.indexOf("--");
  const ours = dashes < 0 ? args : args.slice(0, dashes);
  const verbatim = dashes < 0 ? [] : args.slice(dashes + 1);
  // commander would read -compact-warnings as `-c ompact-warnings`.
  const ambiguous = ours.find((a) => /^-[ch][^-=\s]/.test(a));
  if (ambiguous !== undefined) {
    throw new UsageError(
      `'${ambiguous}': write our -c with a space (-c FILE); put a Terraform flag that begins ` +
        `with -c or -h after '--'`,
    );
  }
  const program = deployCommand();
  parseWith(program, ours);
  const opts = program.opts();
  const [first, ...rest] = program.args;
  let action: Action = "apply";
  let passthrough = program.args;
  if (first !== undefined && !first.startsWith("-")) {
    if (!(ACTIONS as readonly string[]).includes(first)) {
      throw new UsageError(`unknown action '${first}' (use ${ACTIONS.join(", ")})`);
    }
    action = first as Action;
    passthrough = rest;
  }
  const initArgs = [
    ...(opts.reconfigure ? ["-reconfigure"] : []),
    ...(opts.migrateState ? ["-migrate-state"] : []),
    ...opts.initArg,
  ];
  const { config, out, state } = opts;
  return {
    action,
    ...(config === undefined ? {} : { config }),
    ...(out === undefined ? {} : { out }),
    ...(state === undefined ? {} : { state }),
    initArgs,
    passthrough: [...passthrough, ...verbatim],
  };
}

/** The Terraform-compatible binary to run. */
export function terraformBinary(env: Record<string, string | undefined>): string {
  return env.S3BACKUP_TF_BIN || env.TF_BIN || "terraform";
}

/** Runs one Terraform command in dir (output inherited or captured); NotFound: no binary. */
async function runTerraform(
  bin: string,
  args: string[],
  dir: string,
  capture = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(bin, {
    args,
    cwd: dir,
    stdin: "inherit",
    stdout: capture ? "piped" : "inherit",
    stderr: capture ? "piped" : "inherit",
  }).output();
  const dec = new TextDecoder();
  return capture
    ? { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) }
    : { code: out.code, stdout: "", stderr: "" };
}

/**
 * Synthesizes, then `init`, a check of the state for buckets about to lose their protections
 * (apply refuses, plan warns), and the action in the stack folder. Returns the exit code: the
 * first failing step's, or EXIT_NO_BINARY with a message naming the fix.
 */
export async function deploy(
  args: DeployArgs,
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<number> {
  const config = loadConfig(args.config);
  for (const w of warnings(config)) log(`warning: ${w}`);
  const { stackDir, file } = synthesize(config, { outdir: args.out, statePath: args.state });
  log(`synthesized ${config.categories.length} bucket(s) into ${stackDir}`);
  const bin = terraformBinary(env);
  const step = async (argv: string[], capture = false) => {
    log(`$ ${bin} ${argv.join(" ")}`);
    try {
      return await runTerraform(bin, argv, stackDir, capture);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      log(
        `error: '${bin}' not found. Install Terraform >= 1.10 (or OpenTofu >= 1.10 and set ` +
          `S3BACKUP_TF_BIN=tofu), or point S3BACKUP_TF_BIN at the binary. ` +
          `The synthesized stack is in ${stackDir}.`,
      );
      return { code: EXIT_NO_BINARY, stdout: "", stderr: "" };
    }
  };

  const init = await step(["init", ...args.initArgs]);
  if (init.code !== 0) {
    if (init.code !== EXIT_NO_BINARY) {
      log(
        `hint: if init says "Backend configuration changed", run again with --reconfigure ` +
          `(the state file stays where it is) or --migrate-state (copy it to the new backend)`,
      );
    }
    return init.code;
  }
  if (args.action === "apply" || args.action === "plan") {
    const listed = await step(["state", "list"], true);
    // A first deploy has no state yet: nothing to protect.
    const noState = /No state file was found/.test(listed.stderr);
    if (listed.code !== 0 && !noState) {
      log(listed.stderr.trim());
      log("warning: could not list the state; the check for unprotected buckets was skipped");
    } else if (!noState) {
      const tf = JSON.parse(Deno.readTextFileSync(file));
      const lost = unprotectedRemovals(listed.stdout.split("\n"), tf);
      if (lost.length > 0) {
        log(
          `${args.action === "apply" ? "error" : "warning"}: the config no longer declares ` +
            `${lost.join(", ")}; terraform would destroy them (prevent_destroy does not cover a ` +
            `removed resource), suspending versioning and deleting the bucket policy. To stop ` +
            `managing a bucket and keep it as it is, list it in [infra] retired_buckets; ` +
            `to keep it managed, restore its category.`,
        );
        if (args.action === "apply") return EXIT_REFUSED;
      }
    }
  }
  return (await step([args.action, ...args.passthrough])).code;
}

if (import.meta.main) {
  runCli(() => deploy(parseDeployArgs(Deno.args), Deno.env.toObject(), (l) => console.error(l)));
}
