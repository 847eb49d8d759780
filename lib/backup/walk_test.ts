import assert from "node:assert/strict";
import { emptySide, walkTrees } from "./walk.ts";
import { compareKeys } from "../core/key_order.ts";

Deno.test("walkTrees: files come in S3's key order (folders as 'name/'), trees by prefix", () => {
  const a = Deno.makeTempDirSync({ prefix: "s3b-walk-" });
  const b = Deno.makeTempDirSync({ prefix: "s3b-walk-" });
  // JavaScript's order differs for "a\u{1F600}" vs "a\uE000", and a sort of names alone would
  // put folder "a" (keys "a/…") before "a-b" and "a.txt"; S3 puts "a-b" < "a.txt" < "a/".
  const names = ["a-b", "a.txt", "a/x", "a/y/z", "a\uE000", "a\u{1F600}", "ab", "B", "\uFEFFbom"];
  try {
    for (const n of names) {
      const path = `${a}/${n}`;
      Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      Deno.writeTextFileSync(path, n);
    }
    Deno.writeTextFileSync(`${b}/w.txt`, "w");
    const side = emptySide();
    const walked = [
      ...walkTrees([{ path: b, prefix: "www" }, { path: a, prefix: "w-site" }], [], [], side, true),
    ].map((f) => f.relPath);
    // "w-site/" sorts before "www/" as their keys do.
    const want = [...names.map((n) => `w-site/${n}`).sort(compareKeys), "www/w.txt"];
    assert.deepEqual(walked, want);
    assert.equal(side.files, names.length + 1);
  } finally {
    Deno.removeSync(a, { recursive: true });
    Deno.removeSync(b, { recursive: true });
  }
});
