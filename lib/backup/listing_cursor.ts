/**
 * One bucket's listing, read in S3's key order only as far as the walk has come, so that the
 * walk and the listing are merged (rclone's march) and neither is held whole. Its first two
 * pages are read at once (a bucket of up to 2,000 keys costs one or two requests); a bigger one
 * is cut at its first level of folders, each listed by its own prefix, several side by side
 * (100,000 keys at a 20 ms round trip are 2 s when listed page after page), each running at most
 * a bounded number of keys ahead of the walk. Prefixes, not key ranges: a server's prefix filter
 * is exact even where its order is not. A server that lists a folder out of S3's order
 * (emulators, S3 Express directory buckets) is met by reading the rest of the listing whole:
 * correct, at the memory cost of holding it. Over 300 lines: the cursor, its pumps and the level
 * cut share one set of invariants (S3's order, the budget), kept together to be read together.
 */
import type { ObjectStore } from "../core/ports.ts";
import type { RemoteObject } from "../core/types.ts";
import { compareKeys } from "../core/key_order.ts";

/**
 * Folders listed side by side at most, and keys held ahead of the walk by all of them together.
 * From 32 and 100,000 (bench/README.md, A/B): 1,000,000 files no change 441 → 326 MiB peak RSS
 * (each page in flight and each key read ahead also leaves C-heap and V8 headroom), same time;
 * 100,000 files at a 20 ms round trip 2.27 → 2.19 s.
 */
export const PARALLEL = 8;
export const AHEAD_KEYS = 20_000;
/** Levels descended while a level holds a single folder (`home/` → `home/alice/`, …). */
const MAX_DEPTH = 3;

/** A folder's listing (by prefix), or objects the level listing already gave (no prefix). */
interface Segment {
  prefix?: string;
  /** Keys up to this one were read already (the first pages): the folder is listed after it. */
  startAfter?: string;
  /** Its keys count toward AHEAD_KEYS (read by a pump). */
  counted?: boolean;
  keys: string[];
  sizes: number[];
  head: number;
  done: boolean;
  error?: unknown;
  started: boolean;
}

/** A folder to list (by prefix), or a segment already read (no prefix). */
function blankSegment(prefix?: string): Segment {
  return {
    prefix,
    keys: [],
    sizes: [],
    head: 0,
    done: prefix === undefined,
    started: prefix === undefined,
  };
}

/** Where the listing is cut: the folders and the objects between them, in S3's order. Pure. */
export function segmentsOf(objects: RemoteObject[], folders: string[]): Segment[] {
  type Entry = { at: string; folder?: string; object?: RemoteObject };
  const entries: Entry[] = [
    ...folders.map((f) => ({ at: f, folder: f })),
    ...objects.map((o) => ({ at: o.key, object: o })),
  ].sort((a, b) => compareKeys(a.at, b.at));
  const out: Segment[] = [];
  for (const e of entries) {
    if (e.folder !== undefined) {
      out.push(blankSegment(e.folder));
      continue;
    }
    let last = out[out.length - 1];
    if (last === undefined || last.prefix !== undefined) out.push(last = blankSegment());
    last.keys.push(e.object!.key);
    last.sizes.push(e.object!.size);
  }
  return out;
}

export class ListingCursor {
  readonly #store: ObjectStore;
  readonly #bucket: string;
  readonly #skip: string;
  #segments: Segment[] = [];
  #current = 0;
  /** Keys buffered by the folders being read, not yet passed by the walk. */
  #buffered = 0;
  /** The segment the walk waits on: it and those before it read past the budget. */
  #needed = 0;
  #wakeConsumer?: () => void;
  #wakePumps: Array<() => void> = [];
  /** Set when the server listed out of order: the rest of the listing, whole. */
  #whole?: Map<string, number>;
  #disordered = false;
  /** Keys that came after a greater one (out of order), kept for #readWhole. */
  #strays = new Map<string, number>();
  /** The left-out key was listed: its folder (the manifest's `.s3backup/`) was seen. */
  #skipSeen = false;
  readonly #onDisorder?: () => void;

  private constructor(store: ObjectStore, bucket: string, skip: string, onDisorder?: () => void) {
    this.#store = store;
    this.#bucket = bucket;
    this.#skip = skip;
    this.#onDisorder = onDisorder;
  }

  /**
   * Opens the listing of `bucket` under `prefix` (`skip`: a key left out, the manifest's). Its
   * first request is answered before this resolves, so a bucket that cannot be listed is known
   * before any file is decided.
   */
  static async open(
    store: ObjectStore,
    bucket: string,
    prefix: string,
    skip: string,
    onDisorder?: () => void,
  ): Promise<ListingCursor> {
    const cursor = new ListingCursor(store, bucket, skip, onDisorder);
    const first: Segment[] = [];
    const head = blankSegment();
    const pages = store.listPages(bucket, prefix)[Symbol.asyncIterator]();
    let complete = false;
    for (let n = 0; n < 2; n++) {
      const page = await pages.next();
      if (page.done) {
        complete = true;
        break;
      }
      cursor.#push(head, page.value);
    }
    if (!complete) await pages.return?.(undefined);
    first.push(head);
    const after = head.keys.at(-1);
    if (complete) cursor.#segments = first;
    else if (!store.listLevel) {
      cursor.#segments = [...first, { ...blankSegment(prefix), startAfter: after }];
    } else {
      const read = new Set(head.keys);
      if (cursor.#skipSeen) read.add(skip);
      const level = await levelSegments(store, bucket, prefix, skip, after, read);
      if (level === "disordered") {
        // The first pages did not hold every key up to their last: the server's order is not
        // S3's. Everything is read again, whole.
        cursor.#disordered = true;
        cursor.#segments = [...first, blankSegment(prefix)];
      } else cursor.#segments = [...first, ...level];
    }
    cursor.#startPumps();
    return cursor;
  }

  /** Starts the readers of the next PARALLEL folders from the walk's. */
  #startPumps(): void {
    let running = 0;
    for (let i = this.#current; i < this.#segments.length && running < PARALLEL; i++) {
      const s = this.#segments[i];
      if (s.prefix === undefined) continue;
      if (!s.started) this.#pump(s, i);
      if (!s.done) running++;
    }
  }

  #pump(s: Segment, i: number): void {
    s.started = true;
    s.counted = true;
    void (async () => {
      try {
        for await (const page of this.#store.listPages(this.#bucket, s.prefix!, s.startAfter)) {
          this.#push(s, page);
          await this.#room(i);
        }
      } catch (err) {
        s.error = err;
      } finally {
        s.done = true;
        this.#wakeConsumer?.();
        this.#startPumps();
      }
    })();
  }

  /** Adds a page (sorted: within a page, order is ours to fix) to a segment's keys. */
  #push(s: Segment, page: Array<{ key: string; size: number }>): void {
    const before = s.keys.length;
    const sorted = page.length > 1 ? [...page].sort((a, b) => compareKeys(a.key, b.key)) : page;
    for (const o of sorted) {
      if (o.key === this.#skip) {
        this.#skipSeen = true;
        continue;
      }
      const last = s.keys.length > 0 ? s.keys[s.keys.length - 1] : undefined;
      if (last !== undefined && compareKeys(o.key, last) <= 0) {
        if (o.key !== last) {
          this.#disordered = true;
          this.#strays.set(o.key, o.size);
        }
        continue;
      }
      s.keys.push(o.key);
      s.sizes.push(o.size);
    }
    if (s.counted) this.#buffered += s.keys.length - before;
    this.#wakeConsumer?.();
  }

  /** Waits while the folders hold their budget of keys, unless the walk waits on this one. */
  async #room(i: number): Promise<void> {
    while (this.#buffered >= AHEAD_KEYS && i > this.#needed && !this.#disordered) {
      await new Promise<void>((wake) => this.#wakePumps.push(wake));
    }
  }

  #releasePumps(): void {
    const waiting = this.#wakePumps;
    this.#wakePumps = [];
    for (const wake of waiting) wake();
  }

  async #arrival(): Promise<void> {
    await new Promise<void>((wake) => (this.#wakeConsumer = wake));
    this.#wakeConsumer = undefined;
  }

  /** Reads the listing up to `key` (every listed key ≤ key is then known), or throws its error. */
  async advanceTo(key: string): Promise<void> {
    if (this.#whole) return;
    for (let i = this.#current; i < this.#segments.length; i++) {
      const s = this.#segments[i];
      const start = s.prefix ?? s.keys[0];
      if (start !== undefined && compareKeys(start, key) > 0) return;
      while (!s.done && !(s.keys.length > s.head && compareKeys(s.keys.at(-1)!, key) > 0)) {
        if (this.#disordered) return await this.#readWhole();
        this.#needed = Math.max(this.#needed, i);
        this.#releasePumps();
        this.#startPumps();
        await this.#arrival();
      }
      if (s.error !== undefined) throw s.error;
      if (this.#disordered) return await this.#readWhole();
      if (!s.done) return;
    }
  }

  /** The server's order is not S3's: every key not passed yet, and the rest of the listing. */
  async #readWhole(): Promise<void> {
    this.#onDisorder?.();
    this.#releasePumps();
    const whole = this.#strays;
    for (let i = this.#current; i < this.#segments.length; i++) {
      const s = this.#segments[i];
      if (!s.started) this.#pump(s, i);
      while (!s.done) await this.#arrival();
      if (s.error !== undefined) throw s.error;
      for (let j = s.head; j < s.keys.length; j++) whole.set(s.keys[j], s.sizes[j]);
      s.keys = [];
      s.sizes = [];
    }
    this.#whole = whole;
  }

  /**
   * The listed size of `key`, undefined when it is not in the bucket. Asked in key order, after
   * advanceTo(≥ key); the keys passed are let go.
   */
  sizeOf(key: string): number | undefined {
    if (this.#whole) return this.#whole.get(key);
    while (this.#current < this.#segments.length) {
      const s = this.#segments[this.#current];
      while (s.head < s.keys.length && compareKeys(s.keys[s.head], key) < 0) this.#pass(s);
      if (s.head < s.keys.length) {
        if (s.keys[s.head] !== key) return undefined;
        const size = s.sizes[s.head];
        this.#pass(s);
        return size;
      }
      if (!s.done) return undefined;
      // Every key of this segment is behind the walk: on to the next.
      this.#current++;
      s.keys = [];
      s.sizes = [];
      this.#startPumps();
    }
    return undefined;
  }

  #pass(s: Segment): void {
    s.head++;
    if (s.counted) this.#buffered--;
    if (s.head >= 4096 && s.head * 2 >= s.keys.length) {
      s.keys = s.keys.slice(s.head);
      s.sizes = s.sizes.slice(s.head);
      s.head = 0;
    }
    if (this.#wakePumps.length > 0 && this.#buffered < AHEAD_KEYS) this.#releasePumps();
  }
}

/**
 * The segments under `prefix` after the key `after` (read already), from its level listing, one
 * level deeper while a level holds a single folder and nothing else. A folder that `after` falls
 * in is listed from there. A level of more than one page is not cut (a request per folder would
 * cost more than it saves): the rest of the prefix is then one segment.
 */
async function levelSegments(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  skip: string,
  after: string | undefined,
  read: Set<string>,
): Promise<Segment[] | "disordered"> {
  const rest = (at: string) => [{ ...blankSegment(at), startAfter: after }];
  let at = prefix;
  for (let depth = 0;; depth++) {
    const objects: RemoteObject[] = [];
    const folders: string[] = [];
    let pages = 0;
    for await (const page of store.listLevel!(bucket, at)) {
      if (++pages > 1) return rest(at);
      objects.push(...page.objects.filter((o) => o.key !== skip));
      folders.push(...page.folders);
    }
    if (folders.length === 1 && objects.length === 0 && depth + 1 < MAX_DEPTH) {
      at = folders[0];
      continue;
    }
    const later = (key: string) => after === undefined || compareKeys(key, after) > 0;
    // In S3's order the first pages hold every key up to `after`: the level must agree.
    const seenFolders = new Set([...read].map((k) => k.slice(0, k.indexOf("/", at.length) + 1)));
    const missed = objects.some((o) => !later(o.key) && !read.has(o.key)) ||
      folders.some((f) => !later(f) && !after!.startsWith(f) && !seenFolders.has(f));
    if (missed) return "disordered";
    const segments = segmentsOf(
      objects.filter((o) => later(o.key)),
      folders.filter((f) => later(f) || after!.startsWith(f)),
    );
    for (const s of segments) {
      if (s.prefix !== undefined && !later(s.prefix)) s.startAfter = after;
    }
    return segments;
  }
}
