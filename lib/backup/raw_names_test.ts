import assert from "node:assert/strict";
import { escapeBytes, isUndecodable, shownLossy, undecodableNames } from "./raw_names.ts";

const bytes = (...b: number[]) => new Uint8Array(b);
const ascii = (s: string) => [...new TextEncoder().encode(s)];

Deno.test("escapeBytes: valid UTF-8 kept, each byte of an invalid sequence escaped", () => {
  const cases: Array<[Uint8Array, string]> = [
    [bytes(...ascii("bad"), 0xff, ...ascii(".txt")), "bad\\xff.txt"],
    [bytes(...ascii("caf"), 0xe9), "caf\\xe9"], // Latin-1 é: a lead byte with nothing after
    [bytes(0xc3, 0xa9, 0x2d, 0xc0, 0xaf), "\u00e9-\\xc0\\xaf"], // é, then an overlong "/"
    [bytes(0xed, 0xa0, 0x80), "\\xed\\xa0\\x80"], // a UTF-16 surrogate encoded: invalid
    [bytes(0xf0, 0x9f, 0x98, 0x80, 0xfe), "\u{1f600}\\xfe"],
    [bytes(...ascii("plain")), "plain"],
  ];
  for (const [input, want] of cases) assert.equal(escapeBytes(input), want);
});

/** Creates names from raw bytes through sh (Deno cannot create them). */
function makeRaw(dir: string, script: string): void {
  const out = new Deno.Command("sh", { args: ["-c", script, "sh", dir] }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("undecodableNames: the real bytes behind Deno's lossy names, read back with find", () => {
  const dir = Deno.makeTempDirSync({ prefix: "s3b-raw-" });
  try {
    makeRaw(
      dir,
      `: > "$1/$(printf 'a\\376')" && : > "$1/$(printf 'a\\377')" && : > "$1/ok.txt" && ` +
        `mkdir "$1/$(printf 'd\\351')"`,
    );
    Deno.writeTextFileSync(`${dir}/valid-\uFFFD.txt`, "");
    const seen = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    // Deno's view: the bad bytes are gone, two files now share one name.
    assert.deepEqual(seen, ["a\uFFFD", "a\uFFFD", "d\uFFFD", "ok.txt", "valid-\uFFFD.txt"]);
    assert.deepEqual(seen.map((n) => isUndecodable(dir, n)), [true, true, true, false, false]);
    const names = undecodableNames(dir);
    assert.deepEqual(names.get("a\uFFFD")?.sort(), ["a\\xfe", "a\\xff"]);
    assert.deepEqual(names.get("d\uFFFD"), ["d\\xe9"]);
    assert.equal(names.size, 2);
    assert.equal(undecodableNames(`${dir}/missing`).size, 0, "find fails: nothing, no throw");
    assert.equal(shownLossy("a\uFFFD.txt"), "a\\ufffd.txt");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
