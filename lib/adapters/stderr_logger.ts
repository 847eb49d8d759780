/**
 * The Logger port, writing the original script's Python logging format to stderr:
 * `2026-02-11 02:00:01,372 - INFO - message`. Control characters and line breaks in messages
 * (file names) are escaped, so a hostile name cannot forge log lines. Written by hand: the
 * format is one line, and a logging library cost ~1 MB of code loaded at every start.
 */
import type { Logger, LogLevel } from "../core/ports.ts";
import { oneLine } from "../core/text.ts";
import { redactUserinfo } from "../core/redact.ts";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Python's %(asctime)s: local time, comma before milliseconds. */
export function asctime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${
      pad(d.getMilliseconds(), 3)
    }`;
}

const LEVEL_NAMES = { debug: "DEBUG", info: "INFO", warning: "WARNING", error: "ERROR" } as const;

/** One record in Python's logging format, newline-terminated. */
export function formatLine(level: Level, message: string, ms = Date.now()): string {
  return `${asctime(ms)} - ${LEVEL_NAMES[level]} - ${oneLine(message)}\n`;
}

export type Level = "debug" | "info" | "warning" | "error";

const BUFFER_BYTES = 64 * 1024;

/**
 * stderr, written in blocks: a verbose no-change run of 100,000 files logs 100,000 "skipping"
 * lines, and one write syscall per line was a measurable share of the run. Lines are gathered up to 64 KiB
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

/** The lowest record level each log level shows; verbose adds Logger.verbose's INFO records. */
const LOWEST: Record<LogLevel, Level> = { quiet: "warning", normal: "info", verbose: "debug" };
const RANK: Record<Level, number> = { debug: 0, info: 1, warning: 2, error: 3 };

/** The Logger port over stderr, whose level can be set once the config is read (`log = …`). */
export interface StderrLogger extends Logger {
  setLevel(level: LogLevel): void;
}

/** The Logger port: the Python format over a buffered stderr, at `level` (default "normal"). */
export function createStderrLogger(
  level: LogLevel = "normal",
  write?: (line: string) => void,
): StderrLogger {
  const out = write ? { write, flush: () => {} } : bufferedStderr();
  let current = level;
  const emit = (recordLevel: Level, message: string) => {
    if (RANK[recordLevel] < RANK[LOWEST[current]]) return;
    out.write(formatLine(recordLevel, redactUserinfo(message))); // an endpoint's credentials never get out
    if (RANK[recordLevel] > RANK.info) out.flush();
  };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    verbose: (m) => {
      if (current === "verbose") emit("info", m);
    },
    warn: (m) => emit("warning", m),
    error: (m) => emit("error", m),
    setLevel: (l) => (current = l),
  };
}
