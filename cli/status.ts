/**
 * `s3backup status`: one line on the last successful run, for a monitoring system (Nagios or
 * Icinga plugin convention); exit 0 when it is within --max-age, else 1.
 */
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import type { RunHistory } from "../lib/adapters/sqlite_runs.ts";
import { parseDuration } from "../lib/core/duration.ts";
import { loadConfigLazily, systemClock } from "./context.ts";
import { stdout } from "./output.ts";
import { CONFIG_HELP } from "./options.ts";

interface MaxAge {
  ms: number;
  text: string;
}

function duration(value: string): MaxAge {
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new InvalidArgumentError("must be a duration such as 26h, 90m, 2d or 1h30m");
  }
  return { ms, text: value.trim() };
}

async function status(flags: { config?: string; maxAge: MaxAge }): Promise<Outcome> {
  const config = await loadConfigLazily(flags.config);
  let runs: RunHistory | undefined;
  try {
    const { RunHistory } = await import("../lib/adapters/sqlite_runs.ts");
    const { statusCheck } = await import("../lib/ops/status.ts");
    runs = RunHistory.open(config.stateDir);
    const result = statusCheck({
      lastOk: runs.lastWith("OK"),
      latest: runs.recent(1)[0],
      stateExists: runs.exists,
      stateFile: runs.file,
      now: systemClock.now(),
      maxAgeMs: flags.maxAge.ms,
      maxAgeText: flags.maxAge.text,
    });
    stdout(result.line + "\n");
    return result.ok ? "ok" : "partial";
  } catch (err) {
    // Still one line in the plugin format: the monitor shows it as it is.
    stdout(`S3BACKUP WARNING - ${(err as Error).message}\n`);
    return "partial";
  } finally {
    runs?.close();
  }
}

export function defineStatus(program: Command, done: (o: Outcome) => void): void {
  program.command("status")
    .description("one line on the last successful run; exit 0 within --max-age, else 1")
    .option("-c, --config <path>", CONFIG_HELP)
    .addOption(
      new Option("--max-age <duration>", "e.g. 26h, 90m, 2d, 1h30m")
        .argParser(duration)
        // The second argument is what --help shows; the value is an object.
        .default({ ms: 26 * 3_600_000, text: "26h" }, "26h"),
    )
    .action(async (flags) => done(await status(flags)));
}
