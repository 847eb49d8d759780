/**
 * A bucket's keys in order (code units: S3's UTF-8 order for ASCII names), in blocks of at most
 * BLOCK keys: adding or deleting a key moves at most a block, and a listing starts by binary
 * search. For the bench server (server.ts), where fauxqs sorted the whole bucket per listing.
 */
export class SortedKeys {
  static readonly BLOCK = 2048;
  #blocks: string[][] = [[]];

  constructor(keys: Iterable<string> = []) {
    const all = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 0; i < all.length; i += SortedKeys.BLOCK) {
      this.#blocks.push(all.slice(i, i + SortedKeys.BLOCK));
    }
    if (this.#blocks.length > 1) this.#blocks.shift();
  }

  /** The first block whose last key passes (or the last block), then the first key in it that does. */
  #find(passes: (k: string) => boolean): [number, number] {
    const bs = this.#blocks;
    let lo = 0, hi = bs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = bs[mid];
      if (b.length === 0 || !passes(b[b.length - 1])) lo = mid + 1;
      else hi = mid;
    }
    const b = bs[lo];
    let i = 0, j = b.length;
    while (i < j) {
      const mid = (i + j) >>> 1;
      if (passes(b[mid])) j = mid;
      else i = mid + 1;
    }
    return [lo, i];
  }

  add(key: string): void {
    const [bi, i] = this.#find((k) => k >= key);
    const b = this.#blocks[bi];
    if (b[i] === key) return;
    b.splice(i, 0, key);
    if (b.length > SortedKeys.BLOCK) {
      this.#blocks.splice(bi + 1, 0, b.splice(b.length >>> 1));
    }
  }

  delete(key: string): void {
    const [bi, i] = this.#find((k) => k >= key);
    const b = this.#blocks[bi];
    if (b[i] !== key) return;
    b.splice(i, 1);
    if (b.length === 0 && this.#blocks.length > 1) this.#blocks.splice(bi, 1);
  }

  /** Keys ≥ `atLeast` (and > `after`), in order. */
  *from(atLeast: string, after?: string): Generator<string> {
    let [bi, i] = this.#find((k) => k >= atLeast && (after === undefined || k > after));
    for (; bi < this.#blocks.length; bi++, i = 0) {
      const b = this.#blocks[bi];
      for (; i < b.length; i++) yield b[i];
    }
  }
}
