/**
 * The Logger port over LogTape, writing the original script's Python logging format to stderr:
 * `2026-02-11 02:00:01,372 - INFO - message`. Values are rendered "bare": control characters
 * and line breaks in file names are escaped, so a hostile name cannot forge log lines.
 */
import { getTextFormatter, type LogRecord } from "@logtape/logtape";
import type { Logger } from "../ports.ts";
import { redactUserinfo } from "../redact.ts";

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

const BUFFER_BYTES = 64 * 1024;

/**
 * stderr, written in blocks: a no-change run of 100,000 files logs 100,000 "skipping" lines, and
 * one write syscall per line was a measurable share of the run. Lines are gathered up to 64 KiB
 * and written then, or 100 ms after the first pending one, or at once for a warning or an error,
 * or at exit (`unload` also runs on Deno.exit).
 */
export function bufferedStderr(
  writeSync: (bytes: Uint8Array) => number = (b) => Deno.stderr.writeSync(b),
): { write(line: string): void; flush(): void } {
  const encoder = new TextEncoder();
  // Lines are encoded into one reused buffer at once: kept as strings until the flush, they
  // outlived the young generation and piled up as old garbage (100,000 lines: ~15 MiB).
  const buffer = new Uint8Array(BUFFER_BYTES);
  let used = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const writeAll = (bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) off += writeSync(bytes.subarray(off));
  };
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (used === 0) return;
    const pending = used;
    used = 0;
    writeAll(buffer.subarray(0, pending));
  };
  globalThis.addEventListener("unload", flush);
  return {
    write(line) {
      // A UTF-16 unit is at most 3 UTF-8 bytes.
      if (used + line.length * 3 > BUFFER_BYTES) flush();
      if (line.length * 3 > BUFFER_BYTES) {
        writeAll(encoder.encode(line));
        return;
      }
      used += encoder.encodeInto(line, buffer.subarray(used)).written;
      if (timer === undefined) {
        const t = setTimeout(flush, 100);
        Deno.unrefTimer(t);
        timer = t;
      }
    },
    flush,
  };
}

const RANK: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };

/**
 * The Logger port: LogTape's text formatter (the Python format, control characters escaped)
 * over a buffered stderr. Records go straight to the formatter: LogTape's logger dispatch
 * (categories, filters, sinks, property snapshots) cost ~5 µs a line, a tenth of a no-change
 * run that logs a "skipping" line per file (bench/profile.ts); the formatter alone ~1 µs.
 */
export function createStderrLogger(
  level: Level = "info",
  write?: (line: string) => void,
): Logger {
  const out = write ? { write, flush: () => {} } : bufferedStderr();
  const lowest = RANK[level];
  const emit = (recordLevel: Level, message: string) => {
    if (RANK[recordLevel] < lowest) return;
    const record: LogRecord = {
      category: ["s3backup"],
      level: recordLevel,
      message: ["", redactUserinfo(message), ""], // an endpoint's credentials never get out
      rawMessage: "{}",
      timestamp: Date.now(),
      properties: {},
    };
    out.write(pythonFormatter(record));
    if (RANK[recordLevel] > RANK.info) out.flush();
  };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warning", m),
    error: (m) => emit("error", m),
  };
}
