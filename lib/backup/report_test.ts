import assert from "node:assert/strict";
import {
  formatReport,
  outcomeWord,
  reportJson,
  SNS_MESSAGE_MAX_BYTES,
  SNS_SUBJECT_MAX,
  snsMessage,
  snsSubject,
} from "./report.ts";
import type { Summary } from "../core/types.ts";

function summary(over: Partial<Summary> = {}): Summary {
  return {
    status: "OK",
    host: "backup-01",
    source: "/srv/data",
    dryRun: false,
    startedAt: "2026-02-11T02:00:00.000Z",
    uploaded: 3,
    skipped: 12,
    errors: 0,
    excluded: 2,
    unmatched: 1,
    symlinks: 0,
    special: 0,
    bytesUploaded: 1536,
    hashed: 0,
    durationMs: 1250,
    requests: { ListObjectsV2: 3, PutObject: 3 },
    failures: [],
    notifications: {},
    ...over,
  };
}

const utf8 = new TextEncoder();

Deno.test("formatReport: the first four lines are the original script's, exactly", () => {
  const cases: Array<{ s: Summary; lines: string[] }> = [
    {
      s: summary(),
      lines: [
        "Backup completed.",
        "Files uploaded: 3",
        "Files skipped (already exist): 12",
        "Errors encountered: 0",
      ],
    },
    {
      s: summary({
        status: "FAILED",
        uploaded: 0,
        skipped: 0,
        errors: 2,
        failures: [{ path: "a.pdf", error: "denied" }, { path: "b.pdf", error: "gone" }],
      }),
      lines: [
        "Backup completed.",
        "Files uploaded: 0",
        "Files skipped (already exist): 0",
        "Errors encountered: 2",
      ],
    },
  ];
  for (const c of cases) {
    const text = formatReport(c.s);
    assert.deepEqual(text.split("\n").slice(0, 4), c.lines);
    assert.ok(text.endsWith("\n"));
  }
});

Deno.test("formatReport lists every failure with its path and reason", () => {
  const text = formatReport(summary({
    status: "FAILED",
    errors: 2,
    failures: [{ path: "docs/a.pdf", error: "permission denied" }, {
      path: "b.txt",
      error: "BadDigest",
    }],
  }));
  const lines = text.split("\n");
  const at = lines.indexOf("Errors:");
  assert.ok(at > 3, text);
  assert.deepEqual(lines.slice(at + 1, at + 3), [
    "  docs/a.pdf: permission denied",
    "  b.txt: BadDigest",
  ]);
});

Deno.test("reportJson: one object with the contract's fields", () => {
  const s = summary({
    status: "FAILED",
    errors: 1,
    bytesUploaded: 4096,
    durationMs: 987,
    failures: [{ path: "x/broken.pdf", error: "permission denied" }],
  });
  const text = reportJson(s);
  assert.ok(!text.includes("\n"), "one line");
  const j = JSON.parse(text);
  assert.equal(j.uploaded, 3);
  assert.equal(j.skipped, 12);
  assert.equal(j.errors, 1);
  assert.equal(j.bytes_uploaded, 4096);
  assert.equal(j.duration_ms, 987);
  assert.deepEqual(j.requests, { ListObjectsV2: 3, PutObject: 3 });
  assert.deepEqual(j.failures, [{ path: "x/broken.pdf", error: "permission denied" }]);
  assert.equal(j.status, "FAILED");
});

Deno.test("outcomeWord and snsSubject say OK / FAILED / INTERRUPTED", () => {
  const cases: Array<{ name: string; s: Summary; word: string }> = [
    { name: "clean run", s: summary(), word: "OK" },
    { name: "errors > 0", s: summary({ status: "FAILED", errors: 1 }), word: "FAILED" },
    { name: "errors > 0 even if status says OK", s: summary({ errors: 4 }), word: "FAILED" },
    {
      name: "fatal",
      s: summary({ status: "FAILED", fatal: "source directory does not exist" }),
      word: "FAILED",
    },
    { name: "interrupted", s: summary({ status: "INTERRUPTED" }), word: "INTERRUPTED" },
    {
      name: "interrupted with errors",
      s: summary({ status: "INTERRUPTED", errors: 2 }),
      word: "INTERRUPTED",
    },
  ];
  for (const c of cases) {
    assert.equal(outcomeWord(c.s), c.word, c.name);
    const subject = snsSubject(c.s);
    assert.ok(subject.includes(` ${c.word} `), `${c.name}: ${subject}`);
    assert.ok(subject.includes("backup-01"), `${c.name}: names the host: ${subject}`);
    for (const other of ["OK", "FAILED", "INTERRUPTED"].filter((w) => w !== c.word)) {
      assert.ok(!subject.includes(` ${other} `), `${c.name}: ${subject}`);
    }
  }
});

Deno.test("snsSubject: ≤ 100 ASCII characters, even for a 300-character unicode hostname", () => {
  const hosts = [
    "ünïcödé-høst-".repeat(23).slice(0, 300),
    "😀".repeat(150), // 300 UTF-16 code units
    "a".repeat(300),
    "line\nbreak\r\thost",
    "",
  ];
  for (const host of hosts) {
    for (
      const s of [
        summary({ host }),
        summary({ host, status: "FAILED", errors: 123456, uploaded: 99999, skipped: 1234567 }),
        summary({ host, status: "FAILED", fatal: "x", dryRun: true }),
      ]
    ) {
      const subject = snsSubject(s);
      assert.ok(subject.length <= SNS_SUBJECT_MAX, `${subject.length}: ${subject}`);
      assert.match(subject, /^[\x20-\x7e]+$/, `not printable ASCII: ${JSON.stringify(subject)}`);
      assert.ok(subject.includes(outcomeWord(s)), subject);
    }
  }
  assert.equal(SNS_SUBJECT_MAX, 100);
  // A short ASCII host is kept whole.
  assert.ok(snsSubject(summary({ host: "nas.example.com" })).includes("nas.example.com"));
});

Deno.test("snsMessage: 50,000 long failures fit in 256 KiB and say how many were cut", () => {
  const total = 50_000;
  const failures = Array.from({ length: total }, (_, i) => ({
    path: `${"verzeichnis-ü/".repeat(12)}datei-${i}-😀.pdf`,
    error: "Access Denied (AccessDenied)",
  }));
  const s = summary({ status: "FAILED", errors: total, failures });
  const message = snsMessage(s);
  const bytes = utf8.encode(message).length;
  assert.ok(bytes <= SNS_MESSAGE_MAX_BYTES, `${bytes} bytes`);
  assert.ok(bytes > SNS_MESSAGE_MAX_BYTES - 2048, `uses the room it has: ${bytes} bytes`);
  assert.equal(SNS_MESSAGE_MAX_BYTES, 262_144);
  const lines = message.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 4), [
    "Backup completed.",
    "Files uploaded: 3",
    "Files skipped (already exist): 12",
    "Errors encountered: 50000",
  ]);
  const last = lines.at(-1)!;
  const m = /^\s*\.\.\. and (\d+) more errors not listed/.exec(last);
  assert.ok(m, `last line: ${last}`);
  const listed = lines.filter((l) => l.startsWith("  verzeichnis-"));
  assert.ok(listed.length > 100, `${listed.length} listed`);
  assert.equal(listed.length + Number(m[1]), total);
  // The listed ones are the first ones, in order.
  listed.forEach((l, i) => assert.equal(l, `  ${failures[i].path}: ${failures[i].error}`));
});

Deno.test("snsMessage: a short list is sent whole, without a 'more errors' line", () => {
  const failures = [{ path: "a.pdf", error: "e1" }, { path: "b.pdf", error: "e2" }];
  const message = snsMessage(summary({ status: "FAILED", errors: 2, failures }));
  assert.ok(message.includes("  a.pdf: e1\n  b.pdf: e2\n"), message);
  assert.ok(!message.includes("more errors not listed"));
  assert.equal(snsMessage(summary()).includes("Errors:"), false);
});

Deno.test("snsMessage: the byte limit is honoured for a small custom limit", () => {
  const failures = Array.from({ length: 100 }, (_, i) => ({ path: `ü-${i}.pdf`, error: "x" }));
  for (const max of [2_000, 3_000, 5_000]) {
    const message = snsMessage(summary({ errors: 100, failures }), max);
    assert.ok(utf8.encode(message).length <= max, `limit ${max}`);
    const m = /\.\.\. and (\d+) more errors not listed/.exec(message);
    const listed = message.split("\n").filter((l) => l.startsWith("  ü-")).length;
    assert.equal(listed + Number(m?.[1] ?? 0), 100, `limit ${max}`);
  }
});

// KNOWN FAILING until lib/report.ts escapes control characters in failure paths and reasons,
// as the stderr logger already does: Linux file names may contain line breaks, and a hostile
// name could otherwise forge report lines on stdout and in the SNS message.
Deno.test("formatReport and snsMessage keep one failure on one line", () => {
  const failures = [
    { path: "evil\nErrors encountered: 0\nname.pdf", error: "permission denied" },
    { path: "ok.pdf", error: "line one\r\nline two" },
  ];
  const s = summary({ status: "FAILED", errors: 2, failures });
  for (const [what, text] of [["formatReport", formatReport(s)], ["snsMessage", snsMessage(s)]]) {
    const lines = text.split("\n");
    assert.equal(
      lines.filter((l) => l.startsWith("Errors encountered")).length,
      1,
      `${what}: a file name forged a report line:\n${text}`,
    );
    const at = lines.indexOf("Errors:");
    assert.equal(lines.slice(at + 1).filter((l) => l !== "").length, 2, `${what}:\n${text}`);
    assert.ok(!text.includes("\r"), what);
  }
});

Deno.test("snsSubject: counts with their grammar (1 error, 2 errors)", () => {
  assert.match(snsSubject(summary({ errors: 1, status: "FAILED" })), /, 1 error$/);
  assert.match(snsSubject(summary({ errors: 2, status: "FAILED" })), /, 2 errors$/);
  assert.match(snsSubject(summary({ errors: 0 })), /, 0 errors$/);
});

Deno.test("formatReport: a dry run says what it would upload, never that it uploaded", () => {
  const text = formatReport(summary({
    dryRun: true,
    uploaded: 0,
    bytesUploaded: 0,
    wouldUpload: ["s3://docs/a.txt"],
    bytesToUpload: 5,
  }));
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(0, 2), [
    "Dry run completed: nothing was uploaded.",
    "Files to upload: 1",
  ]);
  assert.ok(lines.includes("Bytes to upload: 5 B"), text);
  assert.ok(lines.includes("  s3://docs/a.txt"), text);
  assert.doesNotMatch(text, /uploaded:/i);
  const json = JSON.parse(reportJson(summary({ dryRun: true, wouldUpload: ["s3://docs/a.txt"] })));
  assert.deepEqual(json.would_upload, ["s3://docs/a.txt"]);
});

Deno.test("formatReport: where the report went, and why not", () => {
  const text = formatReport(summary({
    notifications: {
      sns: { sent: false, error: "NotFound (HTTP 404)" },
      heartbeat: { sent: true },
    },
  }));
  assert.match(text, /^Report NOT sent to SNS: NotFound \(HTTP 404\)$/m);
  assert.match(text, /^Heartbeat sent\.$/m);
  // The SNS message cannot know its own fate: no such line in it.
  assert.doesNotMatch(snsMessage(summary({ notifications: { sns: { sent: true } } })), /SNS/);
});

Deno.test("the uploaded files: listed up to 50 in text, JSON and SNS, then a count", () => {
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `s3://docs/report-${i}.pdf`);
  const few = summary({ uploaded: 2, uploadedFiles: keys(2) });
  assert.ok(
    formatReport(few).includes(
      "Uploaded (2):\n  s3://docs/report-0.pdf\n  s3://docs/report-1.pdf\n",
    ),
    formatReport(few),
  );
  assert.ok(!formatReport(few).includes("more"));
  const fewJson = JSON.parse(reportJson(few));
  assert.deepEqual(fewJson.uploaded_files, keys(2));
  assert.equal(fewJson.uploaded_files_omitted, 0);

  const many = summary({ uploaded: 120, uploadedFiles: keys(120) });
  for (const text of [formatReport(many), snsMessage(many)]) {
    const lines = text.split("\n");
    const at = lines.indexOf(`Uploaded (120):`);
    assert.ok(at > 0, text);
    assert.deepEqual(lines.slice(at + 1, at + 51), keys(50).map((k) => `  ${k}`));
    assert.equal(lines[at + 51], "  ... and 70 more");
  }
  const json = JSON.parse(reportJson(many));
  assert.deepEqual(json.uploaded_files, keys(50));
  assert.equal(json.uploaded_files_omitted, 70);
  // A file name cannot break the list into two lines.
  const evil = summary({ uploaded: 1, uploadedFiles: ["s3://docs/a\nFiles uploaded: 9"] });
  assert.ok(formatReport(evil).includes("  s3://docs/a\\nFiles uploaded: 9\n"));
  // Nothing uploaded: no list at all.
  assert.ok(!formatReport(summary({ uploaded: 0, uploadedFiles: [] })).includes("Uploaded ("));
});
