/**
 * Runs fn over items with at most `limit` in flight. Stops taking new items once the signal
 * is aborted or an fn throws (the first error is rethrown after in-flight calls settle).
 */
export async function forEachPool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !signal?.aborted && failure === undefined) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failure) throw failure.err;
}

/**
 * A budget of units (slots, or bytes) shared by concurrent holders: acquire(n) waits until n
 * units are free, first come first served, and resolves to the function that gives them back.
 * A request larger than the whole budget takes all of it.
 */
export class Semaphore {
  #free: number;
  readonly #capacity: number;
  readonly #waiting: Array<{ units: number; wake: () => void }> = [];

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
    this.#free = this.#capacity;
  }

  async acquire(units = 1): Promise<() => void> {
    const n = Math.min(Math.max(0, units), this.#capacity);
    if (this.#waiting.length === 0 && this.#free >= n) this.#free -= n;
    else await new Promise<void>((wake) => this.#waiting.push({ units: n, wake }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#free += n;
      while (this.#waiting.length > 0 && this.#free >= this.#waiting[0].units) {
        const next = this.#waiting.shift()!;
        this.#free -= next.units;
        next.wake();
      }
    };
  }
}
