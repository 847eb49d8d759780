/** The files a walk found, held compactly (the scan's result; planning reads it by index). */
import type { LocalFile } from "../core/types.ts";

/** A file of a FileList; the absolute path is derived when asked, not held. */
class ScannedFile implements LocalFile {
  constructor(
    readonly root: string,
    readonly relPath: string,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
    readonly ino: number,
    readonly dev: number,
    /** Characters of relPath that are its tree's prefix and its slash (0 for `source`). */
    readonly prefixLength = 0,
  ) {}

  get absPath(): string {
    const local = this.prefixLength === 0 ? this.relPath : this.relPath.slice(this.prefixLength);
    return `${this.root}/${local}`;
  }
}

/** A tree the files come from: its folder, and the prefix its paths carry in the list. */
interface Root {
  root: string;
  /** "" for `source`; else "<prefix>/". */
  prefix: string;
}

/** Numbers held per file: size, mtime, ctime, inode, device. */
const FIELDS = 5;

/**
 * The files a walk found, held compactly: their paths in one array and their numbers in one
 * Float64Array. An object per file (with boxed numbers) was ~30 MiB of peak RSS on a
 * 100,000-file tree (bench/README.md, History); `get(i)` makes a LocalFile when one is needed.
 */
export class FileList implements Iterable<LocalFile> {
  readonly root: string;
  /** Several trees ([[sources]]): their paths in the list start with "<prefix>/". */
  #roots: Root[];
  #paths: string[] = [];
  #numbers = new Float64Array(FIELDS * 1024);

  constructor(root: string, prefix = "") {
    this.root = root;
    this.#roots = [{ root, prefix: prefix === "" ? "" : `${prefix}/` }];
  }

  /**
   * Adds a tree whose files are added with paths "<prefix>/<path in the tree>". Prefixes do not
   * overlap (config.ts), so a path's prefix says which tree it comes from: nothing is held per file.
   */
  addRoot(root: string, prefix: string): void {
    this.#roots.push({ root, prefix: `${prefix}/` });
  }

  #rootOf(relPath: string): Root {
    const roots = this.#roots;
    if (roots.length === 1) return roots[0];
    return roots.find((r) => r.prefix !== "" && relPath.startsWith(r.prefix)) ?? roots[0];
  }

  get length(): number {
    return this.#paths.length;
  }

  add(
    relPath: string,
    size: number,
    mtimeMs: number,
    ctimeMs: number,
    ino: number,
    dev: number,
  ): void {
    const at = this.#paths.length * FIELDS;
    if (at + FIELDS > this.#numbers.length) {
      const grown = new Float64Array(this.#numbers.length * 2);
      grown.set(this.#numbers);
      this.#numbers = grown;
    }
    const n = this.#numbers;
    n[at] = size;
    n[at + 1] = mtimeMs;
    n[at + 2] = ctimeMs;
    n[at + 3] = ino;
    n[at + 4] = dev;
    this.#paths.push(relPath);
  }

  relPath(i: number): string {
    return this.#paths[i];
  }

  get(i: number): LocalFile {
    const n = this.#numbers;
    const at = i * FIELDS;
    const relPath = this.#paths[i];
    const { root, prefix } = this.#rootOf(relPath);
    return new ScannedFile(
      root,
      relPath,
      n[at],
      n[at + 1],
      n[at + 2],
      n[at + 3],
      n[at + 4],
      prefix.length,
    );
  }

  *[Symbol.iterator](): Iterator<LocalFile> {
    for (let i = 0; i < this.#paths.length; i++) yield this.get(i);
  }
}
