import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { decodeManifest, encodeManifest, manifestFingerprint } from "./manifest.ts";

const KEYS = ["a.txt", "b/c.pdf", "line\nbreak.txt", "Z.txt", "é.txt", "🎉.jpg"];

Deno.test("manifest: keys round-trip, sorted and once each, newlines included", () => {
  const bytes = encodeManifest([...KEYS, "a.txt"]);
  assert.deepEqual([...decodeManifest(bytes)], [...KEYS].sort());
  assert.deepEqual([...decodeManifest(encodeManifest([]))], []);
});

Deno.test("manifestFingerprint: the SHA-256 of the manifest's text, whatever the input order", () => {
  const text = new TextDecoder().decode(gunzipSync(encodeManifest(KEYS)));
  const want = `text:${createHash("sha256").update(text).digest("hex")}`;
  assert.equal(manifestFingerprint([...KEYS].sort()), want, "sorted input (a run's keys)");
  assert.equal(manifestFingerprint(KEYS), want, "unsorted input");
  assert.equal(manifestFingerprint([...KEYS, KEYS[0]]), want, "a repeated key");
});

Deno.test("manifestFingerprint: any change to the key set changes it", () => {
  const base = manifestFingerprint(KEYS);
  const variants = [
    KEYS.slice(1), // a file deleted
    [...KEYS, "new.txt"], // a file added
    KEYS.map((k) => (k === "Z.txt" ? "Y.txt" : k)), // renamed
    ["a.txt\nb/c.pdf", ...KEYS.slice(2)], // two keys vs one key holding both with a newline
    [],
  ];
  const seen = new Set([base]);
  for (const keys of variants) {
    const f = manifestFingerprint(keys);
    assert.ok(!seen.has(f), `distinct fingerprint for ${JSON.stringify(keys)}`);
    seen.add(f);
  }
});
