import assert from "node:assert/strict";
import { checkSources } from "./sources.ts";
import { scanTrees } from "./scan.ts";
import { SourceError } from "../core/errors.ts";

function tree(files: Record<string, string>): string {
  const dir = Deno.makeTempDirSync({ prefix: "s3backup-sources-" });
  for (const [rel, content] of Object.entries(files)) {
    const path = `${dir}/${rel}`;
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, content);
  }
  return dir;
}

Deno.test("scanTrees: each tree's paths under its prefix, sorted as one list; files read from their tree", () => {
  const a = tree({ "index.html": "a", "cache/x.html": "c", "z.tmp": "t" });
  const b = tree({ "hosts": "bb", "nginx/nginx.conf": "ccc" });
  try {
    const scan = scanTrees(
      [{ path: a, prefix: "www", exclude: ["**/cache/**"] }, { path: `${b}/`, prefix: "etc/main" }],
      ["**/*.tmp"],
    );
    const files = [...scan.files];
    assert.deepEqual(files.map((f) => f.relPath), [
      "etc/main/hosts",
      "etc/main/nginx/nginx.conf",
      "www/index.html",
    ]);
    assert.deepEqual(files.map((f) => f.absPath), [
      `${b}/hosts`,
      `${b}/nginx/nginx.conf`,
      `${a}/index.html`,
    ]);
    assert.deepEqual(files.map((f) => f.size), [2, 3, 1]);
    assert.deepEqual(scan.excluded.sort(), ["www/cache/", "www/z.tmp"]);
  } finally {
    Deno.removeSync(a, { recursive: true });
    Deno.removeSync(b, { recursive: true });
  }
});

Deno.test("checkSources: the single source missing is fatal; one tree of several is a failure", () => {
  const a = tree({ "f.txt": "x" });
  try {
    assert.throws(
      () => checkSources([{ path: `${a}/nope`, prefix: "", exclude: [] }]),
      (e: Error) => e instanceof SourceError && /source directory does not exist/.test(e.message),
    );
    const check = checkSources([
      { path: a, prefix: "a", exclude: [] },
      { path: `${a}/nope`, prefix: "b", exclude: [] },
    ]);
    assert.deepEqual(check.failures, [{
      path: "b/",
      error: `source directory does not exist: ${a}/nope`,
    }]);
    assert.deepEqual(check.unseen, ["b/"], "the manifest keeps the missing tree's keys");
    const scan = scanTrees(check.present, [], [], check.several);
    assert.deepEqual([...scan.files].map((f) => f.relPath), ["a/f.txt"]);
    assert.throws(
      () =>
        checkSources([
          { path: `${a}/x`, prefix: "a", exclude: [] },
          { path: `${a}/y`, prefix: "b", exclude: [] },
        ]),
      (e: Error) => e instanceof SourceError && /^no source tree can be backed up/.test(e.message),
    );
  } finally {
    Deno.removeSync(a, { recursive: true });
  }
});

Deno.test("scanTrees: a tree that vanishes between the check and the walk fails alone", () => {
  const a = tree({ "f.txt": "x" });
  try {
    const scan = scanTrees(
      [{ path: a, prefix: "a" }, { path: `${a}/gone`, prefix: "b" }],
      [],
      [],
      true,
    );
    assert.deepEqual([...scan.files].map((f) => f.relPath), ["a/f.txt"]);
    assert.deepEqual(scan.unseen, ["b/"]);
    assert.throws(() => scanTrees([{ path: `${a}/gone`, prefix: "" }], []), SourceError);
  } finally {
    Deno.removeSync(a, { recursive: true });
  }
});
