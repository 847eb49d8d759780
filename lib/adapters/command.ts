/**
 * CommandRunner over Deno.Command: a dump's or a hook's argv run as is (no shell), with this
 * process's environment (PGPASSFILE, MYSQL_PWD, …), stdin closed, stdout piped to the caller or
 * discarded, and stderr kept as its last lines only (a failure's report quotes them). A timeout
 * or the run's signal ends the command: SIGTERM, then SIGKILL if it is still there after a grace
 * period. The stderr lines kept never carry a secret of the environment passed (a password a
 * tool echoes back): such values, and the password of a URL, are masked.
 */
import type { CommandExit, CommandRunner, RunningCommand } from "../core/ports.ts";
import { redactUserinfo } from "../core/redact.ts";

/** How long a command may take to exit after SIGTERM before it gets SIGKILL. */
export const KILL_GRACE_MS = 5000;
/** The stderr lines kept, and the characters kept of each (a report quotes them). */
export const STDERR_LINES = 10;
export const STDERR_LINE_CHARS = 300;

/** Keeps the last lines of a stream of text, each cut to a length. */
export class TailBuffer {
  #lines: string[] = [];
  #partial = "";

  constructor(readonly maxLines = STDERR_LINES, readonly maxChars = STDERR_LINE_CHARS) {}

  push(text: string): void {
    const parts = (this.#partial + text).split(/\r?\n/);
    this.#partial = parts.pop() ?? "";
    // A line longer than we keep is cut as it grows, so a stream without newlines stays small.
    if (this.#partial.length > this.maxChars) this.#partial = this.#partial.slice(0, this.maxChars);
    for (const line of parts) this.#add(line);
  }

  #add(line: string): void {
    if (line.trim() === "") return;
    const cut = line.length > this.maxChars ? `${line.slice(0, this.maxChars)}…` : line;
    this.#lines.push(cut);
    if (this.#lines.length > this.maxLines) this.#lines.shift();
  }

  lines(): string[] {
    if (this.#partial !== "") {
      this.#add(this.#partial);
      this.#partial = "";
    }
    return [...this.#lines];
  }
}

function startError(argv0: string, err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return `command not found: ${argv0}`;
  if (err instanceof Deno.errors.PermissionDenied) return `permission denied: ${argv0}`;
  if (err instanceof Deno.errors.NotCapable) {
    return `cannot start ${argv0}: this build may not run commands (--allow-run)`;
  }
  return `cannot start ${argv0}: ${err instanceof Error ? err.message : String(err)}`;
}

/** Environment variables whose values are secrets by their name. */
const SECRET_NAME = /PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH/i;

/** Masks the environment's secret values (and URL passwords) in a line. */
export function maskSecrets(line: string, env: Record<string, string>): string {
  let out = redactUserinfo(line);
  for (const [name, value] of Object.entries(env)) {
    if (SECRET_NAME.test(name) && value.length >= 4) out = out.replaceAll(value, "***");
  }
  return out;
}

/** Reads a stream to its end, or until `stop` is called (then cancels it). */
function drain(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): { done: Promise<void>; stop: () => void } {
  const reader = stream.getReader();
  const done = (async () => {
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        onChunk(value);
      }
    } catch { /* cancelled, or the command was killed: what was read is kept */ }
  })();
  return { done, stop: () => void reader.cancel().catch(() => {}) };
}

/** A command that could not be started: no output, its exit says why. */
function notStarted(why: string): RunningCommand {
  return {
    stdout: (async function* () {})(),
    exit: Promise.resolve({ timedOut: false, startError: why, stderrTail: [] }),
    kill: () => {},
  };
}

/**
 * Its stdout, read chunk by chunk; `cancel` ends it even while a process the command started
 * still holds the pipe open.
 */
function stdoutOf(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  let cancelled = false;
  let ended = false;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => {
    cancelled = true;
    reader.cancel().catch(() => {});
  };
  return {
    cancel,
    /** Once the command exited: a pipe still open `ms` later is held by a process it left. */
    cancelUnlessEndedWithin(ms: number) {
      if (!ended) deadline = setTimeout(cancel, ms);
    },
    chunks: (async function* () {
      let finished = false;
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) {
            if (cancelled) {
              throw new Error(
                "its output was cut off: the pipe stayed open after it ended (held by a process " +
                  "it started?)",
              );
            }
            finished = true;
            return;
          }
          yield value;
        }
      } finally {
        ended = true;
        clearTimeout(deadline);
        // A reader that stopped early (the upload failed) lets go of the pipe: the command is
        // killed by its caller and must not block writing into it meanwhile.
        if (finished) reader.releaseLock();
        else reader.cancel().catch(() => {});
      }
    })(),
  };
}

/** Starts commands with Deno.Command; `graceMs` between SIGTERM and SIGKILL. */
export function denoCommands(graceMs = KILL_GRACE_MS): CommandRunner {
  return { start: (argv, opts) => start(argv, opts, graceMs) };
}

function start(
  argv: string[],
  opts: Parameters<CommandRunner["start"]>[1],
  graceMs: number,
): RunningCommand {
  if (argv.length === 0) return notStarted("empty command");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: opts.stdout === "piped" ? "piped" : "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    return notStarted(startError(argv[0], err));
  }
  const stdout = opts.stdout === "piped" ? stdoutOf(child.stdout) : undefined;
  let exited = false;
  let timedOut = false;
  let hardKill: ReturnType<typeof setTimeout> | undefined;
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch { /* already gone */ }
  };
  const kill = () => {
    if (exited || hardKill !== undefined) return;
    signal("SIGTERM");
    hardKill = setTimeout(() => {
      signal("SIGKILL");
      stdout?.cancel(); // a process it started may still hold the pipe
    }, graceMs);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, opts.timeoutMs);
  const onAbort = () => kill();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) kill();
  const tail = new TailBuffer();
  const decoder = new TextDecoder();
  const stderr = drain(child.stderr, (c) => tail.push(decoder.decode(c, { stream: true })));
  const exit = (async (): Promise<CommandExit> => {
    const status = await child.status;
    exited = true;
    clearTimeout(timer);
    clearTimeout(hardKill);
    opts.signal?.removeEventListener("abort", onAbort);
    stdout?.cancelUnlessEndedWithin(graceMs);
    // A process it left behind may hold stderr open: what came within the grace period is kept.
    const { done, stop } = stderr;
    const cut = setTimeout(stop, Math.min(graceMs, 1000));
    await done;
    clearTimeout(cut);
    const env = Deno.env.toObject();
    return {
      code: status.signal === null ? status.code : undefined,
      signal: status.signal ?? undefined,
      timedOut,
      stderrTail: tail.lines().map((l) => maskSecrets(l, env)),
    };
  })();
  return {
    stdout: stdout?.chunks ?? (async function* () {})(),
    exit,
    kill,
  };
}
