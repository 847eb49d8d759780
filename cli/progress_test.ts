import assert from "node:assert/strict";
import {
  formatBytes,
  formatDuration,
  formatProgress,
  ProgressDisplay,
  type ProgressState,
} from "./progress.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

Deno.test("formatBytes", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [99.94 * MiB, "99.9 MiB"],
    [100 * MiB, "100 MiB"],
    [1.2 * GiB, "1.2 GiB"],
    [5 * 1024 * GiB, "5.0 TiB"],
    [-1, "? B"],
    [NaN, "? B"],
  ];
  for (const [n, want] of cases) assert.equal(formatBytes(n), want, `formatBytes(${n})`);
});

Deno.test("formatDuration", () => {
  const cases: [number, string][] = [
    [0, "0:00"],
    [0.2, "0:01"],
    [59, "0:59"],
    [61, "1:01"],
    [3599, "59:59"],
    [3600, "1:00:00"],
    [3661, "1:01:01"],
    [100 * 3600, "?"],
    [Infinity, "?"],
    [-5, "?"],
  ];
  for (const [s, want] of cases) assert.equal(formatDuration(s), want, `formatDuration(${s})`);
});

Deno.test("formatProgress: table", () => {
  const t = { files: 340, bytes: 5 * GiB };
  const cases: [ProgressState, string][] = [
    [
      { done: { files: 0, bytes: 0 }, totals: t, elapsedMs: 0 },
      "Uploading 0/340 files, 0 B of 5.0 GiB (0%)",
    ],
    [
      // Under a second: no rate, no ETA yet.
      { done: { files: 3, bytes: 10 * MiB }, totals: t, elapsedMs: 500 },
      "Uploading 3/340 files, 10.0 MiB of 5.0 GiB (0%)",
    ],
    [
      { done: { files: 12, bytes: 1.2 * GiB }, totals: t, elapsedMs: 32_000 },
      "Uploading 12/340 files, 1.2 GiB of 5.0 GiB (24%), 38.4 MiB/s, ETA 1:42",
    ],
    [
      // Done: the rate and ETA go away.
      { done: { files: 340, bytes: 5 * GiB }, totals: t, elapsedMs: 140_000 },
      "Uploading 340/340 files, 5.0 GiB of 5.0 GiB (100%)",
    ],
    [
      // Only empty files: percentage and ETA from the file count.
      { done: { files: 1, bytes: 0 }, totals: { files: 4, bytes: 0 }, elapsedMs: 2000 },
      "Uploading 1/4 files, 0 B of 0 B (25%), ETA 0:06",
    ],
    [
      // Failed files send no bytes: a second in and nothing sent, no rate.
      { done: { files: 2, bytes: 0 }, totals: { files: 4, bytes: 4096 }, elapsedMs: 3000 },
      "Uploading 2/4 files, 0 B of 4.0 KiB (0%), ETA 0:03",
    ],
    [
      { done: { files: 0, bytes: 0 }, totals: { files: 0, bytes: 0 }, elapsedMs: 0 },
      "Uploading 0/0 files, 0 B of 0 B (100%)",
    ],
  ];
  for (const [state, want] of cases) {
    const got = formatProgress(state);
    assert.equal(got, want);
    assert.ok(got.length <= 79, `fits a terminal: ${got}`);
  }
});

function harness(minIntervalMs = 200) {
  let t = 0;
  const out: string[] = [];
  const p = new ProgressDisplay((s) => out.push(s), { now: () => t, minIntervalMs });
  return { p, out, advance: (ms: number) => (t += ms) };
}

Deno.test("ProgressDisplay: redraws at most every minIntervalMs, ends with a newline", () => {
  const { p, out, advance } = harness();
  p.start({ files: 100, bytes: 100 });
  assert.equal(out.length, 1);
  assert.ok(out[0].startsWith("\r\x1b[KUploading 0/100 files"), out[0]);
  for (let i = 1; i <= 100; i++) {
    advance(10); // 100 files in one second
    p.update({ files: i, bytes: i });
  }
  // 1 initial draw + one per 200 ms over 1 s.
  assert.equal(out.length, 1 + 5);
  p.finish();
  assert.match(out.at(-2)!, /Uploading 100\/100 files, 100 B of 100 B \(100%\)$/);
  assert.equal(out.at(-1), "\n");
  const n = out.length;
  p.finish();
  p.update({ files: 100, bytes: 100 });
  assert.equal(out.length, n, "nothing after finish");
});

Deno.test("ProgressDisplay: nothing to upload draws nothing", () => {
  const { p, out } = harness();
  p.start({ files: 0, bytes: 0 });
  p.log("2026-01-01 00:00:00,000 - INFO - File a already up to date in b, skipping.\n");
  p.finish();
  assert.deepEqual(out, [
    "2026-01-01 00:00:00,000 - INFO - File a already up to date in b, skipping.\n",
  ]);
});

Deno.test("ProgressDisplay: a log line clears the progress line and it is redrawn below", () => {
  const { p, out, advance } = harness();
  p.start({ files: 2, bytes: 2 });
  advance(250);
  p.log("line one\n");
  assert.deepEqual(out.slice(1, 3), ["\r\x1b[K", "line one\n"]);
  assert.ok(out[3].startsWith("\r\x1b[KUploading 0/2 files"), out[3]);
  // A redraw after a log line does not use up the rate limit.
  p.update({ files: 1, bytes: 1 });
  assert.match(out.at(-1)!, /Uploading 1\/2 files/);
});

Deno.test("ProgressDisplay: log lines before the plan pass straight through", () => {
  const { p, out } = harness();
  p.log("Starting\n");
  p.update({ files: 1, bytes: 1 });
  p.finish();
  assert.deepEqual(out, ["Starting\n"]);
});

Deno.test("ProgressDisplay: the scan phase shows the files found, then gives way", () => {
  const { p, out, advance } = harness();
  p.scanned(120);
  advance(50);
  p.scanned(300); // too soon: not drawn
  advance(200);
  p.scanned(5_000);
  assert.deepEqual(out, [
    "\r\x1b[KScanning: 120 files found",
    "\r\x1b[KScanning: 5,000 files found",
  ]);
  p.log("line\n");
  assert.deepEqual(out.slice(2), ["\r\x1b[K", "line\n", "\r\x1b[KScanning: 5,000 files found"]);
  advance(250);
  p.start({ files: 2, bytes: 2 * MiB });
  assert.equal(out.at(-1), "\r\x1b[KUploading 0/2 files, 0 B of 2.0 MiB (0%)");
  p.scanned(6_000); // the scan is over: ignored
  assert.doesNotMatch(out.at(-1)!, /Scanning/);
});

Deno.test("ProgressDisplay: bytes sent inside a file move the line before any file is done", () => {
  const { p, out, advance } = harness();
  p.start({ files: 2, bytes: 400 * MiB });
  for (let sent = 8; sent <= 64; sent += 8) {
    advance(250);
    p.update({ files: 0, bytes: sent * MiB });
  }
  assert.ok(
    out.at(-1)!.startsWith("\r\x1b[KUploading 0/2 files, 64.0 MiB of 400 MiB (16%), 32.0 MiB/s"),
    out.at(-1),
  );
});

Deno.test("ProgressDisplay: a scan with nothing to upload leaves no line behind", () => {
  const { p, out } = harness();
  p.scanned(10);
  p.start({ files: 0, bytes: 0 });
  p.log("done\n");
  p.finish();
  assert.deepEqual(out, ["\r\x1b[KScanning: 10 files found", "\r\x1b[K", "done\n"]);
});

Deno.test("ProgressDisplay: while the walk goes on, uploads so far beside the files found", () => {
  const { p, out, advance } = harness();
  const totals = { files: 0, bytes: 0, growing: true };
  p.scanned(1_000);
  p.start(() => totals);
  assert.equal(out.at(-1), "\r\x1b[KScanning: 1,000 files found");
  totals.files = 3;
  totals.bytes = 3 * MiB;
  advance(250);
  p.scanned(2_000);
  advance(250);
  p.update({ files: 1, bytes: MiB });
  assert.equal(
    out.at(-1),
    "\r\x1b[KScanning: 2,000 files found; uploaded 1/3 files, 1.0 MiB of 3.0 MiB so far",
  );
  totals.growing = false; // the walk is over: the usual line, with its percentage
  advance(250);
  p.update({ files: 2, bytes: 2 * MiB });
  assert.equal(out.at(-1), "\r\x1b[KUploading 2/3 files, 2.0 MiB of 3.0 MiB (66%)");
});
