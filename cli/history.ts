/** `s3backup history`: past runs of this machine, from the local state. */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import type { Outcome } from "../lib/core/errors.ts";
import { loadConfig } from "../lib/config/load.ts";
import { RunHistory } from "../lib/adapters/sqlite_runs.ts";
import { formatHistory, historyJson } from "../lib/ops/history.ts";
import { stdout } from "./output.ts";
import { CONFIG_HELP } from "./options.ts";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number ≥ 1");
  return n;
}

function history(flags: { config?: string; limit: number; json?: boolean }): Outcome {
  const config = loadConfig(flags.config);
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
    .action((flags) => done(history(flags)));
}
