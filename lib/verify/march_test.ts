import assert from "node:assert/strict";
import { march } from "./march.ts";
import { createRouter } from "../backup/route.ts";
import type { Category, LocalFile, RemoteObject } from "../core/types.ts";

const docs: Category = { name: "documents", bucket: "b-docs", extensions: [".txt"] };
const photos: Category = { name: "photos", bucket: "b-photos", extensions: [".jpg"] };
// Categories may share a bucket: an object belongs to the one its path routes to.
const notes: Category = { name: "notes", bucket: "b-docs", extensions: [".md"] };
const router = createRouter([docs, photos, notes], "skip");

const file = (relPath: string): LocalFile => ({
  relPath,
  absPath: `/src/${relPath}`,
  size: 1,
  mtimeMs: 0,
  ctimeMs: 0,
  ino: 1,
  dev: 1,
});
const obj = (key: string): RemoteObject => ({
  key,
  size: 1,
  lastModified: new Date(0),
  storageClass: "STANDARD",
});
const listing = (...keys: string[]) => new Map(keys.map((k) => [k, obj(k)]));

Deno.test("march: every file lands once, every object of a compared category once", () => {
  const cases: Array<{
    name: string;
    files: string[];
    listings: Map<string, Map<string, RemoteObject> | Error>;
    categories?: Category[];
    prefix?: string;
    want: { both: string[]; sourceOnly: string[]; destOnly: string[]; unlisted: string[] };
  }> = [
    {
      name: "paired, missing and extra",
      files: ["a.txt", "b.txt", "p.jpg"],
      listings: new Map([["b-docs", listing("a.txt", "gone.txt")], ["b-photos", listing()]]),
      want: {
        both: ["a.txt"],
        sourceOnly: ["b.txt", "p.jpg"],
        destOnly: ["gone.txt"],
        unlisted: [],
      },
    },
    {
      name: "unmatched files are not compared",
      files: ["x.bin", "a.txt"],
      listings: new Map([["b-docs", listing("a.txt")], ["b-photos", listing()]]),
      want: { both: ["a.txt"], sourceOnly: [], destOnly: [], unlisted: [] },
    },
    {
      name: "a bucket that could not be listed holds its files back, the others still compare",
      files: ["a.txt", "p.jpg"],
      listings: new Map<string, Map<string, RemoteObject> | Error>([
        ["b-docs", new Error("AccessDenied")],
        ["b-photos", listing("p.jpg")],
      ]),
      want: { both: ["p.jpg"], sourceOnly: [], destOnly: [], unlisted: ["b-docs:a.txt"] },
    },
    {
      name: "--category: only its files and objects",
      files: ["a.txt", "p.jpg"],
      listings: new Map([["b-docs", listing("a.txt")], ["b-photos", listing("q.jpg")]]),
      categories: [photos],
      want: { both: [], sourceOnly: ["p.jpg"], destOnly: ["q.jpg"], unlisted: [] },
    },
    {
      name: "a shared bucket: an extra object counts once, for the category it routes to",
      files: ["a.txt"],
      listings: new Map([["b-docs", listing("a.txt", "n.md", "old.txt")], ["b-photos", listing()]]),
      want: { both: ["a.txt"], sourceOnly: [], destOnly: ["n.md", "old.txt"], unlisted: [] },
    },
    {
      name: "key_prefix: keys outside it are not this host's extras",
      files: ["a.txt"],
      listings: new Map([["b-docs", listing("h1/a.txt", "h1/z.txt")], ["b-photos", listing()]]),
      prefix: "h1",
      want: { both: ["h1/a.txt"], sourceOnly: [], destOnly: ["h1/z.txt"], unlisted: [] },
    },
  ];
  for (const c of cases) {
    const r = march(
      c.files.map(file),
      c.listings,
      c.categories ?? [docs, photos, notes],
      router,
      c.prefix ?? "",
    );
    const got = {
      both: r.both.map((x) => x.key),
      sourceOnly: r.sourceOnly.map((x) => x.file.relPath),
      destOnly: r.destOnly.map((x) => x.object.key).sort(),
      unlisted: [...r.unlisted].flatMap(([b, u]) => u.files.map((f) => `${b}:${f.relPath}`)),
    };
    assert.deepEqual(got, c.want, c.name);
  }
});
