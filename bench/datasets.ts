/**
 * Deterministic benchmark trees (mulberry32 seed): names, sizes and contents are the same on every
 * machine for a given seed. A generated tree is reused while its marker file matches the spec;
 * the one file the "change" scenario edits is restored (truncated) after use and re-checked here.
 */
import { join } from "node:path";

export type SetName = "mixed" | "small" | "big" | "huge";
export const SET_NAMES: SetName[] = ["mixed", "small", "big", "huge"];

/** mulberry32: a tiny 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DataSet {
  name: SetName;
  dir: string;
  files: number;
  bytes: number;
  /** Relative path of the file the "one file changed" scenario appends to. */
  changeTarget: string;
  /** Its size as generated (restored by truncation after each tool's change runs). */
  changeTargetSize: number;
  description: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

interface FileSpec {
  rel: string;
  size: number;
}

/** Log-uniform size in [min, max]: many small files, a tail of larger ones. */
function logUniform(rand: () => number, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + rand() * (Math.log(max) - Math.log(min))));
}

function pick<T>(rand: () => number, weighted: Array<[T, number]>): T {
  const total = weighted.reduce((n, [, w]) => n + w, 0);
  let x = rand() * total;
  for (const [v, w] of weighted) {
    x -= w;
    if (x < 0) return v;
  }
  return weighted[weighted.length - 1][0];
}

// documents, photos, database, and unmatched (.log/.json go to "documents" via `unmatched`).
const MIXED_EXTS: Array<[string, number]> = [
  [".txt", 25],
  [".pdf", 15],
  [".csv", 10],
  [".docx", 5],
  [".xlsx", 5],
  [".jpg", 20],
  [".png", 10],
  [".sql", 3],
  [".log", 5],
  [".json", 2],
];

function mixedSpecs(rand: () => number): FileSpec[] {
  const folders: string[] = [];
  for (let i = 0; i < 10; i++) {
    for (let j = 0; j < 5; j++) folders.push(`dept-${i}/proj-${j}`);
  }
  const out: FileSpec[] = [];
  // Three 10 MiB database dumps (multipart uploads with 8 MiB parts).
  for (let i = 0; i < 3; i++) {
    out.push({ rel: `${folders[i * 17]}/dump-${i}.sql`, size: 10 * MiB });
  }
  for (let i = out.length; i < 5000; i++) {
    const folder = folders[Math.floor(rand() * folders.length)];
    const ext = pick(rand, MIXED_EXTS);
    out.push({
      rel: `${folder}/file-${String(i).padStart(4, "0")}${ext}`,
      size: logUniform(rand, 200, 64 * KiB),
    });
  }
  return out;
}

function smallSpecs(rand: () => number): FileSpec[] {
  const exts: Array<[string, number]> = [[".txt", 40], [".jpg", 30], [".csv", 20], [".json", 10]];
  const out: FileSpec[] = [];
  for (let i = 0; i < 100_000; i++) {
    const d = Math.floor(i / 100); // 1,000 folders of 100 files
    const folder = `d${String(Math.floor(d / 10)).padStart(3, "0")}/s${d % 10}`;
    const ext = pick(rand, exts);
    out.push({
      rel: `${folder}/f${String(i).padStart(6, "0")}${ext}`,
      size: logUniform(rand, 100, 4 * KiB),
    });
  }
  return out;
}

/** 1,000,000 files of 100 B–2 KiB in 10,000 folders of 100: memory must not grow with it. */
function hugeSpecs(rand: () => number): FileSpec[] {
  const exts: Array<[string, number]> = [[".txt", 40], [".jpg", 30], [".csv", 20], [".json", 10]];
  const out: FileSpec[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const d = Math.floor(i / 100);
    const folder = `h${String(Math.floor(d / 100)).padStart(3, "0")}/g${
      String(d % 100).padStart(2, "0")
    }`;
    out.push({
      rel: `${folder}/f${String(i).padStart(7, "0")}${pick(rand, exts)}`,
      size: logUniform(rand, 100, 2 * KiB),
    });
  }
  return out;
}

function bigSpecs(): FileSpec[] {
  return [{ rel: "db/full-backup.dump", size: GiB }];
}

function specsFor(name: SetName, seed: number): FileSpec[] {
  const rand = mulberry32(seed ^ name.length * 0x9E3779B1);
  if (name === "mixed") return mixedSpecs(rand);
  if (name === "small") return smallSpecs(rand);
  if (name === "huge") return hugeSpecs(rand);
  return bigSpecs();
}

const DESCRIPTIONS: Record<SetName, string> = {
  mixed: "5,000 files, 200 B–64 KiB log-uniform in 50 folders, incl. 3 × 10 MiB .sql dumps",
  small: "100,000 files, 100 B–4 KiB log-uniform in 1,000 folders",
  big: "one 1 GiB file",
  huge: "1,000,000 files, 100 B–2 KiB log-uniform in 10,000 folders",
};

/** Writes `size` pseudo-random bytes (mulberry32 words) to an open file, in 8 MiB chunks. */
function writeRandom(file: Deno.FsFile, size: number, rand: () => number, buf: Uint8Array): void {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  let left = size;
  while (left > 0) {
    const n = Math.min(left, buf.length);
    const nWords = Math.ceil(n / 4);
    for (let i = 0; i < nWords; i++) words[i] = (rand() * 4294967296) >>> 0;
    let off = 0;
    while (off < n) off += file.writeSync(buf.subarray(off, n));
    left -= n;
  }
}

const MARKER = ".bench-dataset.json";

/** Returns the data set under `root`, generating it when missing or stale. */
export function ensureDataSet(
  root: string,
  name: SetName,
  seed: number,
  log: (m: string) => void,
): DataSet {
  const dir = join(root, `${name}-seed${seed}`);
  const tree = join(dir, "tree");
  const specs = specsFor(name, seed);
  const bytes = specs.reduce((n, s) => n + s.size, 0);
  const target = specs.find((s) => s.rel.endsWith(".txt")) ?? specs[0];
  const set: DataSet = {
    name,
    dir: tree,
    files: specs.length,
    bytes,
    changeTarget: target.rel,
    changeTargetSize: target.size,
    description: DESCRIPTIONS[name],
  };
  const marker = JSON.stringify({ version: 1, name, seed, files: set.files, bytes });
  try {
    if (Deno.readTextFileSync(join(dir, MARKER)) === marker) {
      restoreChangeTarget(set);
      return set;
    }
  } catch { /* not generated yet */ }
  log(`generating data set "${name}" (${DESCRIPTIONS[name]}) under ${tree} ...`);
  const t0 = performance.now();
  removeDir(dir);
  Deno.mkdirSync(tree, { recursive: true });
  const contentRand = mulberry32(seed * 31 + 7);
  const buf = new Uint8Array(8 * MiB);
  const made = new Set<string>();
  for (const s of specs) {
    const abs = join(tree, s.rel);
    const parent = abs.slice(0, abs.lastIndexOf("/"));
    if (!made.has(parent)) {
      Deno.mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
    using f = Deno.openSync(abs, { write: true, create: true, truncate: true });
    writeRandom(f, s.size, contentRand, buf);
  }
  Deno.writeTextFileSync(join(dir, MARKER), marker);
  log(
    `  ${set.files} files, ${(bytes / MiB).toFixed(1)} MiB in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  return set;
}

/** Puts the change target back to its generated size (the change scenario only appends). */
export function restoreChangeTarget(set: DataSet): void {
  const abs = join(set.dir, set.changeTarget);
  if (Deno.statSync(abs).size !== set.changeTargetSize) {
    Deno.truncateSync(abs, set.changeTargetSize);
  }
}

/** Appends a distinct line to the change target (new size and mtime: every tool must upload it). */
export function changeOneFile(set: DataSet, tag: string): void {
  const abs = join(set.dir, set.changeTarget);
  Deno.writeTextFileSync(abs, `\nbench change ${tag} ${Date.now()}\n`, { append: true });
}

/** Removes a folder, ignoring a missing one. */
export function removeDir(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
