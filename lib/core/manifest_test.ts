import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import {
  decodeManifest,
  decodeManifestEntries,
  encodeManifest,
  ManifestBuilder,
} from "./manifest.ts";
import { compareKeys } from "./key_order.ts";

const KEYS = ["a.txt", "b/c.pdf", "line\nbreak.txt", "Z.txt", "é.txt", "🎉.jpg"];

/** A manifest's fingerprint, built key by key in the given order. */
function fingerprint(keys: string[]): string {
  const b = new ManifestBuilder();
  for (const k of keys) b.add(k);
  return b.finish().fingerprint();
}

Deno.test("manifest: keys round-trip, in S3's order and once each, newlines included", () => {
  const bytes = encodeManifest([...KEYS, "a.txt"]);
  assert.deepEqual([...decodeManifest(bytes)], [...KEYS].sort(compareKeys));
  assert.deepEqual([...decodeManifest(encodeManifest([]))], []);
});

Deno.test("ManifestBuilder: the fingerprint is the SHA-256 of the manifest's text", () => {
  const text = new TextDecoder().decode(gunzipSync(encodeManifest(KEYS)));
  const want = `text:${createHash("sha256").update(text).digest("hex")}`;
  assert.equal(fingerprint([...KEYS].sort(compareKeys)), want);
});

Deno.test("ManifestBuilder: a big manifest is several gzip members, read back as one text", () => {
  const keys = Array.from({ length: 60_000 }, (_, i) => `folder-${i % 97}/file-${i}.txt`);
  const b = new ManifestBuilder();
  for (const k of keys) b.add(k);
  const bytes = b.finish().bytes();
  // More than one member: each starts with the gzip magic bytes 1f 8b 08.
  let members = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0x1f && bytes[i + 1] === 0x8b && bytes[i + 2] === 0x08) members++;
  }
  assert.ok(members >= 2, `members: ${members}`);
  assert.deepEqual([...decodeManifest(bytes)], keys);
  const text = new TextDecoder().decode(gunzipSync(bytes));
  assert.equal(b.fingerprint(), `text:${createHash("sha256").update(text).digest("hex")}`);
});

Deno.test("ManifestBuilder: any change to the key set changes the fingerprint", () => {
  const base = fingerprint(KEYS);
  const variants = [
    KEYS.slice(1), // a file deleted
    [...KEYS, "new.txt"], // a file added
    KEYS.map((k) => (k === "Z.txt" ? "Y.txt" : k)), // renamed
    ["a.txt\nb/c.pdf", ...KEYS.slice(2)], // two keys vs one key holding both with a newline
    [],
  ];
  const seen = new Set([base]);
  for (const keys of variants) {
    const f = fingerprint(keys);
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
  assert.deepEqual([...got.keys], [...KEYS, "dumps/prod.dump", "dumps/app.sql"].sort(compareKeys));
  assert.deepEqual(got.dumps.get("dumps/prod.dump"), dumps[0]);
  assert.deepEqual(got.dumps.get("dumps/app.sql"), { ...dumps[1], versionId: undefined });
  // Readers of the key set see the keys only.
  assert.deepEqual(decodeManifest(bytes), got.keys);
  // The fingerprint is still the SHA-256 of the text; a new night's dump changes it.
  const text = new TextDecoder().decode(gunzipSync(bytes));
  const keys = [...KEYS, "dumps/prod.dump", "dumps/app.sql"].sort(compareKeys);
  const withDumps = (records: typeof dumps) => {
    const b = new ManifestBuilder();
    for (const k of keys) b.add(k);
    return b.finish(records).fingerprint();
  };
  assert.equal(withDumps(dumps), `text:${createHash("sha256").update(text).digest("hex")}`);
  const tonight = [{ ...dumps[0], sha256: "ef".repeat(32), versionId: "v3" }, dumps[1]];
  assert.notEqual(withDumps(tonight), withDumps(dumps));
});
