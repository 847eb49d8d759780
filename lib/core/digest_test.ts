import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { bytesSource, sha256File, sha256Hex, sha256OfStream } from "./digest.ts";

const MiB = 1024 * 1024;

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

Deno.test("sha256File reads a file once and matches the in-memory hash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3b-digest-" });
  try {
    const data = bytesOf(3 * MiB + 17, 3);
    const path = `${dir}/f.bin`;
    await Deno.writeFile(path, data);
    assert.equal(await sha256File({ absPath: path, size: data.length }), sha256Hex(data));
    assert.equal(sha256Hex(data), hash("sha256", data, "hex"));

    await Deno.writeFile(`${dir}/empty`, new Uint8Array());
    assert.equal(
      await sha256File({ absPath: `${dir}/empty`, size: 0 }),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sha256File throws when the file grew or shrank since the scan", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3b-digest-" });
  try {
    const path = `${dir}/f.bin`;
    await Deno.writeFile(path, bytesOf(2 * MiB + 1));
    const size = 2 * MiB + 1;
    for (const seen of [size - 1, size - MiB, 0, size + 1, size + 5 * MiB]) {
      await assert.rejects(
        sha256File({ absPath: path, size: seen }),
        /changed while it was read/,
        `seen ${seen}`,
      );
    }
    await assert.rejects(
      sha256File({ absPath: `${dir}/missing`, size: 1 }),
      /vanished since the scan/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sha256File never follows a symlink, never blocks on a FIFO, checks the inode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "s3b-digest-" });
  try {
    await Deno.writeTextFile(`${dir}/secret`, "private");
    await Deno.symlink(`${dir}/secret`, `${dir}/link`);
    await assert.rejects(sha256File({ absPath: `${dir}/link`, size: 7 }), /symlink/);
    await Deno.symlink("/dev/zero", `${dir}/zero`);
    await assert.rejects(sha256File({ absPath: `${dir}/zero`, size: 7 }), /symlink/);
    const fifo = new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    assert.equal(fifo.code, 0);
    // Opening a FIFO for reading would wait for a writer forever: it must fail at once.
    await assert.rejects(sha256File({ absPath: `${dir}/fifo`, size: 7 }), /FIFO/);
    const st = Deno.lstatSync(`${dir}/secret`);
    const ok = await sha256File({ absPath: `${dir}/secret`, size: 7, dev: st.dev, ino: st.ino! });
    assert.equal(ok, hash("sha256", new TextEncoder().encode("private"), "hex"));
    await assert.rejects(
      sha256File({ absPath: `${dir}/secret`, size: 7, dev: st.dev, ino: st.ino! + 1 }),
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

Deno.test("bytesSource reads ranges of content in memory", async () => {
  const src = bytesSource(new TextEncoder().encode("0123456789"));
  assert.equal(src.size, 10);
  assert.equal(src.sha256, sha256Hex(new TextEncoder().encode("0123456789")));
  assert.equal(new TextDecoder().decode(await src.read(2, 5)), "234");
});
