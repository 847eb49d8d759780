import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  choosePartSize,
  DEFAULT_PART_SIZE,
  DigestBuilder,
  digestFile,
  expectedEtag,
  MAX_PARTS,
  partRanges,
  sha256OfStream,
} from "./digest.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Deterministic, non-repeating-looking bytes (xorshift), so part boundaries matter. */
function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const hash = (alg: string, b: Uint8Array, enc: "hex" | "base64") =>
  createHash(alg).update(b).digest(enc);

Deno.test("choosePartSize: 8 MiB by default, grown in whole MiB to stay within 10,000 parts", () => {
  const cases: Array<[number, number]> = [
    [0, 8 * MiB],
    [1, 8 * MiB],
    [5 * GiB, 8 * MiB],
    [8 * MiB * MAX_PARTS, 8 * MiB], // exactly 10,000 parts of 8 MiB
    [8 * MiB * MAX_PARTS + 1, 9 * MiB],
    [100 * GiB, 11 * MiB],
    [5 * 1024 * GiB, 525 * MiB], // S3's 5 TiB object limit
  ];
  for (const [size, want] of cases) {
    const part = choosePartSize(size);
    assert.equal(part, want, `size ${size}`);
    assert.equal(part % MiB, 0, `whole MiB for ${size}`);
    assert.ok(Math.ceil(size / part) <= MAX_PARTS, `parts for ${size}`);
    assert.ok(part >= DEFAULT_PART_SIZE);
  }
  assert.equal(DEFAULT_PART_SIZE, 8 * MiB);
  assert.equal(MAX_PARTS, 10_000);
  assert.equal(partRanges(100 * GiB, choosePartSize(100 * GiB)).length, 9310);
  assert.equal(choosePartSize(10 * MiB, 5 * MiB), 5 * MiB);
});

Deno.test("partRanges: [start, end) of each part", () => {
  const cases: Array<[number, number, Array<[number, number]>]> = [
    [0, 8, [[0, 0]]],
    [1, 8, [[0, 1]]],
    [8, 8, [[0, 8]]],
    [9, 8, [[0, 8], [8, 9]]],
    [16, 8, [[0, 8], [8, 16]]],
    [20, 8, [[0, 8], [8, 16], [16, 20]]],
  ];
  for (const [size, part, want] of cases) {
    assert.deepEqual(partRanges(size, part), want, `size ${size}, part ${part}`);
  }
});

Deno.test("DigestBuilder: odd chunk sizes give the digests of the whole and of each part", () => {
  const size = 20 * MiB;
  const partSize = 8 * MiB;
  const data = bytesOf(size, 7);
  const chunkSizes = [1, 7, 4093, MiB + 3, 65_536, 8 * MiB - 5, 3];
  const b = new DigestBuilder(size, partSize);
  let off = 0;
  for (let i = 0; off < size; i++) {
    const n = Math.min(chunkSizes[i % chunkSizes.length], size - off);
    b.update(data.subarray(off, off + n));
    off += n;
  }
  const d = b.finish();
  assert.equal(d.sha256Hex, hash("sha256", data, "hex"));
  assert.equal(d.sha256Base64, hash("sha256", data, "base64"));
  // Multipart: no whole-content MD5 (S3 only sees the parts'); single part: parts[0] is the whole.
  assert.equal(d.md5Base64, undefined);
  assert.equal(d.partSize, partSize);
  assert.deepEqual(
    d.parts,
    partRanges(size, partSize).map(([s, e]) => ({
      size: e - s,
      md5Base64: hash("md5", data.subarray(s, e), "base64"),
    })),
  );
  assert.deepEqual(d.parts.map((p) => p.size), [8 * MiB, 8 * MiB, 4 * MiB]);
});

Deno.test("DigestBuilder: one update, one part, empty content", () => {
  const cases: Array<{ size: number; partSize: number; parts: number }> = [
    { size: 0, partSize: 8, parts: 1 },
    { size: 5, partSize: 8, parts: 1 },
    { size: 8, partSize: 8, parts: 1 },
    { size: 17, partSize: 8, parts: 3 },
    { size: 24, partSize: 8, parts: 3 },
  ];
  for (const c of cases) {
    const data = bytesOf(c.size, c.size + 1);
    const b = new DigestBuilder(c.size, c.partSize);
    b.update(data);
    b.update(new Uint8Array()); // empty chunks are harmless
    const d = b.finish();
    assert.equal(d.sha256Hex, hash("sha256", data, "hex"), JSON.stringify(c));
    assert.equal(d.md5Base64, c.parts === 1 ? hash("md5", data, "base64") : undefined);
    assert.equal(d.parts.length, c.parts, JSON.stringify(c));
    assert.equal(d.parts.reduce((s, p) => s + p.size, 0), c.size);
    if (c.parts === 1) {
      assert.deepEqual(d.parts[0], {
        size: c.size,
        md5Base64: d.md5Base64,
        sha256Base64: d.sha256Base64,
      });
    }
  }
  const empty = new DigestBuilder(0, 8).finish();
  assert.equal(empty.sha256Hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(empty.md5Base64, "1B2M2Y8AsgTpgAmY7PhCfg==");
});

Deno.test("DigestBuilder.finish throws when fewer or more bytes arrived than planned", () => {
  for (const [size, partSize, fed] of [[10, 8, 9], [10, 8, 11], [4, 8, 3], [4, 8, 5], [0, 8, 1]]) {
    const b = new DigestBuilder(size, partSize);
    b.update(bytesOf(fed));
    assert.throws(() => b.finish(), /changed while it was read/, `size ${size}, fed ${fed}`);
  }
});

Deno.test("digestFile reads a file once and matches the in-memory digest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3b-digest-" });
  try {
    const data = bytesOf(3 * MiB + 17, 3);
    const path = `${dir}/f.bin`;
    await Deno.writeFile(path, data);
    const d = await digestFile(path, data.length, MiB);
    const b = new DigestBuilder(data.length, MiB);
    b.update(data);
    assert.deepEqual(d, b.finish());
    assert.equal(d.parts.length, 4);
    // Default part size: one part.
    const whole = await digestFile(path, data.length);
    assert.equal(whole.parts.length, 1);
    assert.equal(whole.sha256Hex, hash("sha256", data, "hex"));

    await Deno.writeFile(`${dir}/empty`, new Uint8Array());
    assert.equal(
      (await digestFile(`${dir}/empty`, 0)).sha256Hex,
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("digestFile throws when the file grew or shrank since the scan", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3b-digest-" });
  try {
    const path = `${dir}/f.bin`;
    await Deno.writeFile(path, bytesOf(2 * MiB + 1));
    const size = 2 * MiB + 1;
    for (const seen of [size - 1, size - MiB, 0, size + 1, size + 5 * MiB]) {
      await assert.rejects(
        digestFile(path, seen, MiB),
        /changed while it was read/,
        `seen ${seen}`,
      );
    }
    await assert.rejects(digestFile(`${dir}/missing`, 1), /vanished since the scan/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("digestFile never follows a symlink, never blocks on a FIFO, checks the inode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3b-digest-" });
  try {
    await Deno.writeTextFile(`${dir}/secret`, "private");
    await Deno.symlink(`${dir}/secret`, `${dir}/link`);
    await assert.rejects(digestFile(`${dir}/link`, 7), /symlink/);
    await Deno.symlink("/dev/zero", `${dir}/zero`);
    await assert.rejects(digestFile(`${dir}/zero`, 7), /symlink/);
    const fifo = new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    assert.equal(fifo.code, 0);
    // Opening a FIFO for reading would wait for a writer forever: it must fail at once.
    await assert.rejects(digestFile(`${dir}/fifo`, 7), /FIFO/);
    const st = Deno.lstatSync(`${dir}/secret`);
    const ok = await digestFile(`${dir}/secret`, 7, undefined, {
      expect: { dev: st.dev, ino: st.ino! },
    });
    assert.equal(ok.sha256Hex, hash("sha256", new TextEncoder().encode("private"), "hex"));
    await assert.rejects(
      digestFile(`${dir}/secret`, 7, undefined, { expect: { dev: st.dev, ino: st.ino! + 1 } }),
      /replaced by another file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sha256OfStream hashes a stream's bytes", async () => {
  const data = bytesOf(100_000, 9);
  const stream = Readable.from([Buffer.from(data.subarray(0, 10)), Buffer.from(data.subarray(10))]);
  assert.equal(await sha256OfStream(stream), hash("sha256", data, "hex"));
});

Deno.test("expectedEtag: MD5 hex for one part, MD5 of the part MD5s and '-N' for multipart", () => {
  const data = bytesOf(20, 5);
  const one = new DigestBuilder(20, 64);
  one.update(data);
  assert.equal(expectedEtag(one.finish()), hash("md5", data, "hex"));
  const multi = new DigestBuilder(20, 8);
  multi.update(data);
  const partMd5s = partRanges(20, 8).map(([s, e]) =>
    createHash("md5").update(data.subarray(s, e)).digest()
  );
  assert.equal(
    expectedEtag(multi.finish()),
    `${createHash("md5").update(Buffer.concat(partMd5s)).digest("hex")}-3`,
  );
});
