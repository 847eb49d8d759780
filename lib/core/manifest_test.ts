import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import {
  decodeManifest,
  decodeManifestEntries,
  encodeManifest,
  manifestFingerprint,
} from "./manifest.ts";

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

Deno.test("manifest: dump records (SHA-256, version, size) round-trip beside the keys", () => {
  const dumps = [
    { key: "dumps/prod.dump", sha256: "ab".repeat(32), versionId: "v2", size: 1234 },
    { key: "dumps/app.sql", sha256: "cd".repeat(32), size: 5 }, // no version id (unversioned)
  ];
  const bytes = encodeManifest([...KEYS, "dumps/prod.dump", "dumps/app.sql"], dumps);
  const got = decodeManifestEntries(bytes);
  assert.deepEqual([...got.keys], [...KEYS, "dumps/prod.dump", "dumps/app.sql"].sort());
  assert.deepEqual(got.dumps.get("dumps/prod.dump"), dumps[0]);
  assert.deepEqual(got.dumps.get("dumps/app.sql"), { ...dumps[1], versionId: undefined });
  // Readers of the key set see the keys only.
  assert.deepEqual(decodeManifest(bytes), got.keys);
  // The fingerprint is still the SHA-256 of the text; a new night's dump changes it.
  const text = new TextDecoder().decode(gunzipSync(bytes));
  assert.equal(
    manifestFingerprint([...KEYS, "dumps/prod.dump", "dumps/app.sql"], dumps),
    `text:${createHash("sha256").update(text).digest("hex")}`,
  );
  const tonight = [{ ...dumps[0], sha256: "ef".repeat(32), versionId: "v3" }, dumps[1]];
  assert.notEqual(
    manifestFingerprint([...KEYS, "dumps/prod.dump", "dumps/app.sql"], tonight),
    manifestFingerprint([...KEYS, "dumps/prod.dump", "dumps/app.sql"], dumps),
  );
});
