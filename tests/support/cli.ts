/** Runs the CLI as a subprocess (the real path: argument parsing, exit codes, stdout/stderr). */
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = `${REPO_ROOT}main.ts`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /**
   * Run without the capabilities that let root read anything (CAP_DAC_OVERRIDE,
   * CAP_DAC_READ_SEARCH), through setpriv: a mode-000 file is then unreadable, as for any user,
   * while the deno binary and its cache (under /root, mode 0700, owned by root) stay readable.
   */
  withoutReadOverride?: boolean;
}

/** setpriv's flag that removes root's permission to read and search anything. */
export const DROP_READ_OVERRIDE = "--bounding-set=-dac_override,-dac_read_search";

/** True when this process may drop capabilities (root): the tests of unreadable files need it. */
export const CAN_DROP_READ_OVERRIDE = Deno.uid() === 0;

const DENO_CACHE = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`;

function denoArgs(args: string[]): string[] {
  return ["run", "--allow-all", "--quiet", "--config", `${REPO_ROOT}deno.json`, MAIN, ...args];
}

/** Starts the CLI; the caller waits on `output()`. */
export function spawnCli(args: string[], opts: CliOptions = {}): Deno.ChildProcess {
  const deno = Deno.execPath();
  const base = denoArgs(args);
  const [cmd, cmdArgs] = opts.withoutReadOverride
    ? ["setpriv", [DROP_READ_OVERRIDE, deno, ...base]]
    : [deno, base];
  return new Deno.Command(cmd, {
    args: cmdArgs,
    cwd: opts.cwd ?? REPO_ROOT,
    // The test's own deno cache, even for a test that moves HOME (else every npm package is
    // fetched again into the new HOME's cache).
    env: { NO_COLOR: "1", DENO_DIR: DENO_CACHE, ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const out = await spawnCli(args, opts).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
