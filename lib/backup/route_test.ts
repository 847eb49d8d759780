import assert from "node:assert/strict";
import { contentTypeFor, createRouter } from "./route.ts";
import { objectKey } from "../core/layout.ts";
import type { Category } from "../core/types.ts";

// ".gz" lives in a category listed BEFORE database: the longest suffix must win, not the order.
const CATEGORIES: Category[] = [
  { name: "archives", bucket: "b-archives", extensions: [".gz", ".zip"] },
  { name: "documents", bucket: "b-documents", extensions: [".pdf", ".txt"] },
  { name: "photos", bucket: "b-photos", extensions: [".jpg", ".jpeg", ".png"] },
  { name: "database", bucket: "b-database", extensions: [".sql", ".sql.gz", ".db", ".bak"] },
];

Deno.test("createRouter: extension → category (case-insensitive, longest suffix wins)", () => {
  const fallback = createRouter(CATEGORIES, "documents");
  const skip = createRouter(CATEGORIES, "skip");
  const cases: Array<{ path: string; want: string | undefined; matched: boolean }> = [
    { path: "meeting_notes.txt", want: "documents", matched: true },
    { path: "REPORT.PDF", want: "documents", matched: true },
    { path: "sample_image.JpG", want: "photos", matched: true },
    { path: "x.sql.gz", want: "database", matched: true },
    { path: "X.SQL.GZ", want: "database", matched: true },
    { path: "dumps/2026/x.sql.gz", want: "database", matched: true },
    { path: "archive.tar.gz", want: "archives", matched: true },
    { path: "mysql.gz", want: "archives", matched: true }, // ".sql.gz" needs its dot
    { path: "sql.gz", want: "archives", matched: true },
    { path: "backup.sql.gz.bak", want: "database", matched: true },
    { path: "a/b/c/d/photo.jpeg", want: "photos", matched: true },
    { path: "notes.txt.old", want: undefined, matched: false },
    { path: "Makefile", want: undefined, matched: false },
    { path: "sub/dir/README", want: undefined, matched: false },
    { path: "folder.pdf/readme", want: undefined, matched: false }, // a folder's name is no extension
    { path: ".bashrc", want: undefined, matched: false },
    { path: "config/.env", want: undefined, matched: false },
    { path: ".hidden.pdf", want: "documents", matched: true },
    { path: "dump/.bak", want: "database", matched: true }, // a name that is only the suffix
    { path: "photo.jpg ", want: undefined, matched: false },
    { path: "photojpg", want: undefined, matched: false },
  ];
  for (const c of cases) {
    const msg = `path ${JSON.stringify(c.path)}`;
    assert.equal(fallback.route(c.path)?.name, c.matched ? c.want : "documents", msg);
    assert.equal(skip.route(c.path)?.name, c.want, `${msg} (unmatched = "skip")`);
  }
});

Deno.test("createRouter returns the category itself (bucket included)", () => {
  const r = createRouter(CATEGORIES, "photos");
  assert.deepEqual(r.route("x.sql.gz"), CATEGORIES[3]);
  assert.deepEqual(r.route("no-extension"), CATEGORIES[2]);
});

Deno.test("createRouter with no categories routes nothing", () => {
  const r = createRouter([], "skip");
  assert.equal(r.route("a.pdf"), undefined);
});

Deno.test("contentTypeFor: from the last extension, octet-stream when unknown", () => {
  const cases: Array<[string, string]> = [
    ["a.pdf", "application/pdf"],
    ["A.PDF", "application/pdf"],
    ["notes.txt", "text/plain; charset=utf-8"],
    ["data.csv", "text/csv; charset=utf-8"],
    ["photo.JPEG", "image/jpeg"],
    ["img/photo.png", "image/png"],
    ["x.sql.gz", "application/gzip"],
    ["x.sql", "application/sql"],
    ["state.db", "application/vnd.sqlite3"],
    ["report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
    ["noext", "application/octet-stream"],
    [".bashrc", "application/octet-stream"],
    ["dir.d/file", "application/octet-stream"],
    ["weird.unknownext", "application/octet-stream"],
    ["trailing.", "application/octet-stream"],
  ];
  for (const [path, want] of cases) assert.equal(contentTypeFor(path), want, path);
});

Deno.test("objectKey: key_prefix + relative path", () => {
  const cases: Array<[string, string, string]> = [
    ["", "meeting_notes.txt", "meeting_notes.txt"],
    ["", "a/b/c.txt", "a/b/c.txt"],
    ["backups", "a.txt", "backups/a.txt"],
    ["host-1/daily", "x/y.pdf", "host-1/daily/x/y.pdf"],
  ];
  for (const [prefix, rel, want] of cases) assert.equal(objectKey(prefix, rel), want);
  // Same name in two folders: two keys.
  assert.notEqual(objectKey("", "a/report.pdf"), objectKey("", "b/report.pdf"));
});
