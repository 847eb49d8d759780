/**
 * The Logger port over LogTape, writing the original script's Python logging format to stderr:
 * `2026-02-11 02:00:01,372 - INFO - message`. Values are rendered "bare": control characters
 * and line breaks in file names are escaped, so a hostile name cannot forge log lines.
 */
import {
  configureSync,
  getLogger,
  getTextFormatter,
  type LogRecord,
  resetSync,
} from "@logtape/logtape";
import type { Logger } from "../ports.ts";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Python's %(asctime)s: local time, comma before milliseconds. */
export function asctime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${
      pad(d.getMilliseconds(), 3)
    }`;
}

export const pythonFormatter = getTextFormatter({
  timestamp: asctime,
  level: "FULL",
  value: "bare",
  format: ({ timestamp, level, message }) => `${timestamp} - ${level} - ${message}`,
});

export type Level = "debug" | "info" | "warning" | "error";

/** Configures LogTape once for the process and returns the Logger port. */
export function createStderrLogger(
  level: Level = "info",
  write: (line: string) => void = (line) => Deno.stderr.writeSync(new TextEncoder().encode(line)),
): Logger {
  resetSync();
  configureSync({
    sinks: { stderr: (record: LogRecord) => write(pythonFormatter(record)) },
    loggers: [
      { category: ["s3backup"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  const log = getLogger(["s3backup"]);
  return {
    debug: (m) => log.debug`${m}`,
    info: (m) => log.info`${m}`,
    warn: (m) => log.warn`${m}`,
    error: (m) => log.error`${m}`,
  };
}
