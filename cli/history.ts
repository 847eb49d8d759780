/** `s3backup history`: past runs of this machine, from the local state. */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import { loadConfigLazily } from "./context.ts";
import { stdout } from "./output.ts";
import { CONFIG_HELP } from "./options.ts";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number ≥ 1");
  return n;
}

async function history(
  flags: { config?: string; limit: number; json?: boolean },
): Promise<Outcome> {
  const config = await loadConfigLazily(flags.config);
  const { RunHistory } = await import("../lib/adapters/sqlite_runs.ts");
  const { formatHistory, historyJson } = await import("../lib/ops/history.ts");
  const runs = RunHistory.open(config.stateDir);
  try {
    const list = runs.recent(flags.limit);
    if (flags.json) stdout(historyJson(list) + "\n");
    else if (list.length > 0) stdout(formatHistory(list));
    else stdout(`No run recorded in ${runs.file}.\n`);
    return "ok";
  } finally {
    runs.close();
  }
}

export function defineHistory(program: Command, done: (o: Outcome) => void): void {
  program.command("history")
    .description("list past runs of this machine (from the local state), newest first")
    .option("-c, --config <path>", CONFIG_HELP)
    .option("--limit <n>", "how many runs", positiveInt, 20)
    .option("--json", "print JSON")
    .action(async (flags) => done(await history(flags)));
}
