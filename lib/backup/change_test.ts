import assert from "node:assert/strict";
import {
  type ChangeInput,
  finalDecision,
  firstDecision,
  isRacilyClean,
  RACY_WINDOW_MS,
  statMatches,
} from "./change.ts";
import type { LocalFile, RemoteObject, StateRow } from "../core/types.ts";

const T0 = Date.UTC(2026, 1, 10, 12, 0, 0);
const SHA = "a".repeat(64);

const FILE: LocalFile = {
  relPath: "docs/a.pdf",
  absPath: "/src/docs/a.pdf",
  size: 100,
  mtimeMs: T0,
  ctimeMs: T0,
  ino: 42,
  dev: 1,
};
/** Recorded well after the file's timestamps: not racily clean. */
const ROW: StateRow = {
  bucket: "b",
  key: "docs/a.pdf",
  size: 100,
  mtimeMs: T0,
  ctimeMs: T0,
  ino: 42,
  sha256: SHA,
  recordedAtMs: T0 + 60_000,
};
const REMOTE: RemoteObject = {
  key: "docs/a.pdf",
  size: 100,
  etag: "e",
  lastModified: new Date(T0 + 1000),
  storageClass: "STANDARD",
};

Deno.test("firstDecision over every branch", () => {
  const cases: Array<{ name: string; input: Partial<ChangeInput>; want: unknown }> = [
    {
      name: "new: no row, no object",
      input: { row: undefined, remote: undefined },
      want: { kind: "upload", reason: "new" },
    },
    {
      name: "new wins over --checksum",
      input: { row: undefined, remote: undefined, checksum: true },
      want: { kind: "upload", reason: "new" },
    },
    {
      name: "object deleted behind our back",
      input: { remote: undefined },
      want: { kind: "upload", reason: "missing-remote" },
    },
    {
      name: "object size differs from the file",
      input: { remote: { ...REMOTE, size: 99 } },
      want: { kind: "upload", reason: "size-differs" },
    },
    {
      name: "object size differs, no state",
      input: { row: undefined, remote: { ...REMOTE, size: 101 } },
      want: { kind: "upload", reason: "size-differs" },
    },
    {
      name: "size-differs wins over --checksum",
      input: { remote: { ...REMOTE, size: 0 }, checksum: true },
      want: { kind: "upload", reason: "size-differs" },
    },
    {
      name: "no state row (state lost): hash and compare with the object's hash",
      input: { row: undefined },
      want: { kind: "hash-and-head", reason: "no-state" },
    },
    {
      name: "row is for another size of the object (replaced remotely): treat as no state",
      input: { row: { ...ROW, size: 7 } },
      want: { kind: "hash-and-head", reason: "no-state" },
    },
    {
      name: "--checksum hashes an untouched file",
      input: { checksum: true },
      want: { kind: "hash", reason: "checksum-mode" },
    },
    {
      name: "--checksum with changed metadata still says checksum-mode",
      input: { checksum: true, file: { ...FILE, mtimeMs: T0 + 5 } },
      want: { kind: "hash", reason: "checksum-mode" },
    },
    {
      name: "mtime changed (same-size edit)",
      input: { file: { ...FILE, mtimeMs: T0 + 1 } },
      want: { kind: "hash", reason: "metadata-changed" },
    },
    {
      name: "mtime put back (touch -r) but ctime moved",
      input: { file: { ...FILE, ctimeMs: T0 + 30_000 } },
      want: { kind: "hash", reason: "metadata-changed" },
    },
    {
      name: "inode changed (file replaced by rename)",
      input: { file: { ...FILE, ino: 43 } },
      want: { kind: "hash", reason: "metadata-changed" },
    },
    {
      name: "mtime older than recorded also counts",
      input: { file: { ...FILE, mtimeMs: T0 - 86_400_000 } },
      want: { kind: "hash", reason: "metadata-changed" },
    },
    {
      name: "racily clean: mtime exactly RACY_WINDOW_MS before the recording",
      input: {
        file: FILE,
        row: { ...ROW, recordedAtMs: T0 + RACY_WINDOW_MS },
      },
      want: { kind: "hash", reason: "racily-clean" },
    },
    {
      name: "racily clean: ctime after the recording",
      input: {
        file: { ...FILE, ctimeMs: T0 + 70_000 },
        row: { ...ROW, ctimeMs: T0 + 70_000 },
      },
      want: { kind: "hash", reason: "racily-clean" },
    },
    {
      name: "not racy: 1 ms outside the window",
      input: { row: { ...ROW, recordedAtMs: T0 + RACY_WINDOW_MS + 1 } },
      want: { kind: "skip", reason: "unchanged" },
    },
    {
      name: "unchanged: the fast path",
      input: {},
      want: { kind: "skip", reason: "unchanged" },
    },
  ];
  for (const c of cases) {
    const input: ChangeInput = {
      file: FILE,
      row: ROW,
      remote: REMOTE,
      checksum: false,
      ...c.input,
    };
    assert.deepEqual(firstDecision(input), c.want, c.name);
  }
});

Deno.test("isRacilyClean at the boundary of RACY_WINDOW_MS", () => {
  const cases: Array<{ mtime: number; ctime: number; recordedAt: number; want: boolean }> = [
    { mtime: T0, ctime: T0, recordedAt: T0, want: true },
    { mtime: T0, ctime: T0, recordedAt: T0 + RACY_WINDOW_MS - 1, want: true },
    { mtime: T0, ctime: T0, recordedAt: T0 + RACY_WINDOW_MS, want: true },
    { mtime: T0, ctime: T0, recordedAt: T0 + RACY_WINDOW_MS + 1, want: false },
    { mtime: T0, ctime: T0, recordedAt: T0 - 10_000, want: true }, // clock went back
    { mtime: T0 - 10_000, ctime: T0, recordedAt: T0 + RACY_WINDOW_MS, want: true }, // ctime decides
    { mtime: T0, ctime: T0 - 10_000, recordedAt: T0 + RACY_WINDOW_MS + 1, want: false },
  ];
  for (const c of cases) {
    const file = { ...FILE, mtimeMs: c.mtime, ctimeMs: c.ctime };
    const row = { ...ROW, recordedAtMs: c.recordedAt };
    assert.equal(isRacilyClean(file, row), c.want, JSON.stringify(c));
  }
  assert.equal(RACY_WINDOW_MS, 2000);
});

Deno.test("statMatches compares size, mtime, ctime and inode", () => {
  const cases: Array<[Partial<LocalFile>, boolean]> = [
    [{}, true],
    [{ size: 101 }, false],
    [{ mtimeMs: T0 + 1 }, false],
    [{ ctimeMs: T0 + 1 }, false],
    [{ ino: 1 }, false],
    [{ relPath: "elsewhere", absPath: "/x" }, true],
  ];
  for (const [change, want] of cases) {
    assert.equal(statMatches({ ...FILE, ...change }, ROW), want, JSON.stringify(change));
  }
});

Deno.test("finalDecision after hashing", () => {
  const other = "b".repeat(64);
  const cases: Array<[string, string | undefined, unknown]> = [
    [SHA, SHA, { kind: "skip", reason: "same-content" }],
    [SHA, SHA.toUpperCase(), { kind: "skip", reason: "same-content" }],
    [SHA, other, { kind: "upload", reason: "changed" }],
    [SHA, undefined, { kind: "upload", reason: "no-recorded-hash" }],
    [SHA, "", { kind: "upload", reason: "no-recorded-hash" }],
  ];
  for (const [local, expected, want] of cases) {
    assert.deepEqual(finalDecision(local, expected), want, `expected=${expected}`);
  }
});
