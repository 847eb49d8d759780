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
  ) {}

  get absPath(): string {
    return `${this.root}/${this.relPath}`;
  }
}

/** Numbers held per file: size, mtime, ctime, inode, device. */
const FIELDS = 5;

/**
 * The files a walk found, held compactly: their paths in one array and their numbers in one
 * Float64Array. An object per file (with boxed numbers) was ~30 MiB of peak RSS on a
 * 100,000-file tree (README, Performance); `get(i)` makes a LocalFile when one is needed.
 */
export class FileList implements Iterable<LocalFile> {
  readonly root: string;
  #paths: string[] = [];
  #numbers = new Float64Array(FIELDS * 1024);

  constructor(root: string) {
    this.root = root;
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
    return new ScannedFile(
      this.root,
      this.#paths[i],
      n[at],
      n[at + 1],
      n[at + 2],
      n[at + 3],
      n[at + 4],
    );
  }

  *[Symbol.iterator](): Iterator<LocalFile> {
    for (let i = 0; i < this.#paths.length; i++) yield this.get(i);
  }

  /** Orders the files by relPath, each keeping its numbers. */
  sort(): void {
    const paths = this.#paths;
    const order = Array.from(paths.keys());
    order.sort((a, b) => (paths[a] < paths[b] ? -1 : paths[a] > paths[b] ? 1 : 0));
    const was = this.#numbers;
    const numbers = new Float64Array(was.length);
    for (let to = 0; to < order.length; to++) {
      for (let f = 0; f < FIELDS; f++) numbers[to * FIELDS + f] = was[order[to] * FIELDS + f];
    }
    this.#paths = order.map((from) => paths[from]);
    this.#numbers = numbers;
  }
}
