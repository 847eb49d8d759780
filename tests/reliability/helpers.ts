/** Shared pieces of the reliability tests: seeded trees, upstream checks, state checks. */
import { forEachPool } from "../../lib/core/pool.ts";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { mulberry32 } from "../support/fault_proxy.ts";
import { type CliResult, spawnCli } from "../support/cli.ts";
import { MANIFEST_NAME } from "../../lib/core/layout.ts";

export const MiB = 1024 * 1024;
export const BUCKETS = { documents: "t-documents", photos: "t-photos", database: "t-database" };
export const testOpts = { sanitizeResources: false, sanitizeOps: false };

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Deterministic pseudo-random bytes. */
export function seededBytes(seed: number, size: number): Uint8Array {
  const rand = mulberry32(seed);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let i = 0;
  for (; i + 4 <= size; i += 4) view.setUint32(i, Math.floor(rand() * 2 ** 32));
  for (; i < size; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

export interface TreeFile {
  rel: string;
  bucket: string;
  /** Parts when uploaded as multipart (8 MiB parts), else 1. */
  parts: number;
}

const EXT = [".txt", ".jpg", ".sql", ".pdf", ".csv", ".png", ".db", ""];

function bucketOf(rel: string): string {
  if (/\.(jpg|png)$/.test(rel)) return BUCKETS.photos;
  if (/\.(sql|db)$/.test(rel)) return BUCKETS.database;
  return BUCKETS.documents;
}

/**
 * `count` small files (0–4 KiB, a few empty) in 40 folders, plus big files of the given sizes
 * (uploaded as multipart). Returns the files as the tool will route them.
 */
export function makeTree(
  src: string,
  seed: number,
  count: number,
  bigSizes: number[] = [],
): TreeFile[] {
  const files: TreeFile[] = [];
  const rand = mulberry32(seed);
  for (let i = 0; i < count; i++) {
    const rel = `dir${i % 40}/file-${i}${EXT[i % EXT.length]}`;
    const size = i % 97 === 0 ? 0 : Math.floor(rand() * 4096);
    Deno.mkdirSync(`${src}/dir${i % 40}`, { recursive: true });
    Deno.writeFileSync(`${src}/${rel}`, seededBytes(seed * 100_003 + i, size));
    files.push({ rel, bucket: bucketOf(rel), parts: 1 });
  }
  bigSizes.forEach((size, j) => {
    const rel = `big/dump-${j}.sql`;
    Deno.mkdirSync(`${src}/big`, { recursive: true });
    Deno.writeFileSync(`${src}/${rel}`, seededBytes(seed * 7 + j, size));
    files.push({
      rel,
      bucket: BUCKETS.database,
      parts: size > 8 * MiB ? Math.ceil(size / (8 * MiB)) : 1,
    });
  });
  return files;
}

/** GetObject straight from the server: the SHA-256 of the bytes and the recorded metadata. */
export async function getObject(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ sha: string; size: number; metaSha?: string } | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await out.Body!.transformToByteArray();
    return { sha: sha256(bytes), size: bytes.length, metaSha: out.Metadata?.sha256 };
  } catch (err) {
    if ((err as { name?: string }).name === "NoSuchKey") return undefined;
    throw err;
  }
}

/**
 * Every listed file's object, fetched from the server and compared with the disk. Returns
 * the paths whose object is missing or differs.
 */
export async function checkIntact(
  s3: S3Client,
  src: string,
  files: TreeFile[],
): Promise<string[]> {
  const bad: string[] = [];
  await forEachPool(files, 32, async (f) => {
    const disk = sha256(Deno.readFileSync(`${src}/${f.rel}`));
    const got = await getObject(s3, f.bucket, f.rel);
    if (!got || got.sha !== disk || got.metaSha !== disk) bad.push(f.rel);
  });
  return bad.sort();
}

export async function listKeys(s3: S3Client, bucket: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  out.delete(MANIFEST_NAME);
  return out;
}

export interface StateRowLite {
  bucket: string;
  key: string;
  size: number;
  sha256: string;
}

/** Opens state.db read-only: integrity_check must say ok; returns its file rows. */
export function readState(stateDir: string): StateRowLite[] {
  const db = new DatabaseSync(`${stateDir}/state.db`, { readOnly: true });
  try {
    const check = db.prepare("PRAGMA integrity_check").all() as Array<Record<string, string>>;
    assert.deepEqual(check.map((r) => Object.values(r)[0]), ["ok"], "integrity_check");
    return db.prepare("SELECT bucket, key, size, sha256 FROM files").all().map((r) => ({
      bucket: String(r.bucket),
      key: String(r.key),
      size: Number(r.size),
      sha256: String(r.sha256),
    }));
  } finally {
    db.close();
  }
}

/**
 * "Nothing is marked clean that S3 does not hold": every state row's object exists with the
 * row's size and x-amz-meta-sha256. `verified` caches rows already checked (objects are
 * never deleted in these tests), so repeated checks only HEAD new or changed rows.
 */
export async function checkStateAgainstBucket(
  s3: S3Client,
  rows: StateRowLite[],
  verified = new Set<string>(),
): Promise<string[]> {
  const bad: string[] = [];
  const todo = rows.filter((r) => !verified.has(`${r.bucket}\0${r.key}\0${r.size}\0${r.sha256}`));
  await forEachPool(todo, 32, async (r) => {
    try {
      const h = await s3.send(new HeadObjectCommand({ Bucket: r.bucket, Key: r.key }));
      if (h.ContentLength !== r.size || h.Metadata?.sha256 !== r.sha256) {
        bad.push(`${r.bucket}/${r.key}: object ${h.ContentLength} B ${h.Metadata?.sha256}`);
      } else verified.add(`${r.bucket}\0${r.key}\0${r.size}\0${r.sha256}`);
    } catch (err) {
      bad.push(`${r.bucket}/${r.key}: ${(err as Error).name}`);
    }
  });
  return bad.sort();
}

/** The paths a run logged "Uploading X to B..." for. */
export function uploadedPaths(stderr: string): string[] {
  return [...stderr.matchAll(/ - INFO - Uploading (.+) to \S+\.\.\.$/gm)].map((m) => m[1]);
}

export async function sleep(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

/** runCli with a deadline: a hung run is killed and fails the test instead of hanging CI. */
export async function runCliWithin(
  args: string[],
  env: Record<string, string>,
  ms: number,
): Promise<CliResult> {
  const child = spawnCli(args, { env });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, ms);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (hung) throw new Error(`run hung for ${ms} ms and was killed:\n${r.stderr.slice(-2000)}`);
  return r;
}
