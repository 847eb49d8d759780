import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import {
  choosePartSize,
  DEFAULT_PART_SIZE,
  etagOfParts,
  expectedEtag,
  MAX_PARTS,
  md5Base64,
  partRanges,
} from "./format.ts";
import { bytesSource } from "../../core/digest.ts";

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

Deno.test("expectedEtag: MD5 hex for one part, MD5 of the part MD5s and '-N' for multipart", async () => {
  const data = bytesOf(20, 5);
  assert.equal(await expectedEtag(bytesSource(data), 64), hash("md5", data, "hex"));
  const partMd5s = partRanges(20, 8).map(([s, e]) =>
    createHash("md5").update(data.subarray(s, e)).digest()
  );
  const multi = `${createHash("md5").update(Buffer.concat(partMd5s)).digest("hex")}-3`;
  assert.equal(await expectedEtag(bytesSource(data), 8), multi);
  assert.equal(
    etagOfParts(partRanges(20, 8).map(([s, e]) => md5Base64(data.subarray(s, e)))),
    multi,
  );
});
