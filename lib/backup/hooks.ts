/**
 * The `before` and `after` hooks of a run (SPEC "Several trees, dumps and hooks"): argv lists,
 * run one after the other, each within hook_timeout. The first `before` hook that fails stops
 * the others and the run (nothing is uploaded); every `after` hook runs, whatever the others
 * did, and is not cut short by SIGINT/SIGTERM: it is what undoes `before` (a snapshot, a stopped
 * service) after the run failed or was interrupted.
 */
import type { Clock, CommandRunner, Logger } from "../core/ports.ts";
import type { HookOutcome } from "../core/types.ts";
import type { HooksConfig } from "../config/config.ts";
import { S3BackupError } from "../core/errors.ts";
import { describeExit, showArgv, succeeded, withStderr } from "./commands.ts";

export interface HookDeps {
  commands: CommandRunner;
  logger: Logger;
  clock: Clock;
  /** The run's SIGINT/SIGTERM: it stops a `before` hook, never an `after` one. */
  signal?: AbortSignal;
}

/** A `before` hook failed: the run stops there, reported FAILED (exit 1). */
export class BeforeHookError extends S3BackupError {
  constructor(message: string) {
    super(message, "partial");
  }
}

async function runHook(
  phase: "before" | "after",
  argv: string[],
  hooks: HooksConfig,
  deps: HookDeps,
): Promise<HookOutcome> {
  const command = showArgv(argv);
  const started = deps.clock.now().getTime();
  deps.logger.info(`Running ${phase} hook: ${command}`);
  const running = deps.commands.start(argv, {
    stdout: "discard",
    timeoutMs: hooks.timeoutMs,
    signal: phase === "before" ? deps.signal : undefined,
  });
  const exit = await running.exit;
  const durationMs = deps.clock.now().getTime() - started;
  if (succeeded(exit)) return { phase, command, status: "ok", durationMs };
  const error = describeExit(exit, hooks.timeout);
  deps.logger.error(`The ${phase} hook ${command} failed: ${withStderr(error, exit.stderrTail)}`);
  return { phase, command, status: "failed", durationMs, error, stderr: exit.stderrTail };
}

/**
 * Runs the `before` hooks in order until one fails; the outcomes go to `into` as they come (a
 * report made after a throw still has them). Throws BeforeHookError when one failed.
 */
export async function runBeforeHooks(
  hooks: HooksConfig,
  deps: HookDeps,
  into: HookOutcome[],
): Promise<void> {
  for (const argv of hooks.before) {
    const outcome = await runHook("before", argv, hooks, deps);
    into.push(outcome);
    if (outcome.status === "failed") {
      throw new BeforeHookError(
        `before hook ${outcome.command} failed (${outcome.error}): nothing was backed up`,
      );
    }
  }
}

/** Runs every `after` hook in order, whatever happened before; outcomes go to `into`. */
export async function runAfterHooks(
  hooks: HooksConfig,
  deps: HookDeps,
  into: HookOutcome[],
): Promise<void> {
  for (const argv of hooks.after) into.push(await runHook("after", argv, hooks, deps));
}

/** A dry run runs no command: each hook is listed as what a real run would do. */
export function dryRunHooks(hooks: HooksConfig, logger: Logger): HookOutcome[] {
  const out: HookOutcome[] = [];
  for (const phase of ["before", "after"] as const) {
    for (const argv of hooks[phase]) {
      const command = showArgv(argv);
      logger.info(`Would run ${phase} hook: ${command}`);
      out.push({ phase, command, status: "would-run", durationMs: 0 });
    }
  }
  return out;
}
