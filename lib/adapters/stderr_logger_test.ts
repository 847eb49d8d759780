import assert from "node:assert/strict";
import { asctime, bufferedStderr, createStderrLogger } from "./stderr_logger.ts";

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (DEBUG|INFO|WARNING|ERROR) - (.*)\n$/;

Deno.test("createStderrLogger: quiet, normal and verbose levels; setLevel changes it", () => {
  const shown = (level: "quiet" | "normal" | "verbose") => {
    const lines: string[] = [];
    const log = createStderrLogger(level, (l) => lines.push(l));
    log.debug("debug");
    log.info("Uploading a.pdf to acme-docs...");
    log.verbose("File a.pdf already up to date in acme-docs, skipping.");
    log.warn("careful");
    log.error("Error uploading b.pdf: boom");
    return lines.map((l) => LINE.exec(l)?.slice(1).join(" "));
  };
  assert.deepEqual(shown("quiet"), ["WARNING careful", "ERROR Error uploading b.pdf: boom"]);
  assert.deepEqual(shown("normal"), [
    "INFO Uploading a.pdf to acme-docs...",
    "WARNING careful",
    "ERROR Error uploading b.pdf: boom",
  ]);
  assert.deepEqual(shown("verbose"), [
    "DEBUG debug",
    "INFO Uploading a.pdf to acme-docs...",
    // The original script's line, with its INFO level.
    "INFO File a.pdf already up to date in acme-docs, skipping.",
    "WARNING careful",
    "ERROR Error uploading b.pdf: boom",
  ]);
  const lines: string[] = [];
  const log = createStderrLogger("normal", (l) => lines.push(l));
  log.setLevel("quiet");
  log.info("no");
  log.setLevel("verbose");
  log.verbose("yes");
  assert.deepEqual(lines.map((l) => LINE.exec(l)?.[2]), ["yes"]);
});

Deno.test("createStderrLogger escapes line breaks and control characters in messages", () => {
  const lines: string[] = [];
  const log = createStderrLogger("verbose", (l) => lines.push(l));
  log.info("Uploading evil\n2026-01-01 00:00:00,000 - INFO - forged\r.txt\x1b[31m to b...");
  assert.equal(lines.length, 1);
  assert.match(lines[0], LINE);
  assert.equal(lines[0].split("\n").length, 2, lines[0]);
  assert.ok(!lines[0].includes("\r") && !lines[0].includes("\x1b"), lines[0]);
  log.info("next\u0085line\u2028sep\ttab");
  assert.ok(lines[1].endsWith(" - INFO - next\\x85line\\u2028sep\\ttab\n"), lines[1]);
});

Deno.test("asctime is local time with a comma before the milliseconds", () => {
  const d = new Date(2026, 1, 11, 2, 0, 1, 372);
  assert.equal(asctime(d.getTime()), "2026-02-11 02:00:01,372");
});

Deno.test("bufferedStderr keeps every byte in order across flushes, long lines and short writes", () => {
  const got: number[] = [];
  // A stderr that takes at most 1,000 bytes per write.
  const out = bufferedStderr((b) => {
    const n = Math.min(b.length, 1000);
    got.push(...b.subarray(0, n));
    return n;
  });
  const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} caf\u00e9 \u{1f600}\n`);
  lines.splice(1500, 0, "x".repeat(100_000) + "\n"); // longer than the buffer
  for (const l of lines) out.write(l);
  out.flush();
  assert.equal(new TextDecoder().decode(new Uint8Array(got)), lines.join(""));
  out.flush(); // nothing pending: writes nothing
  assert.equal(new TextDecoder().decode(new Uint8Array(got)), lines.join(""));
});
