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

/** Lets workers beyond a changing limit wait (see InFlightLimit); closed when work ends. */
export interface WorkerGate {
  admit(worker: number): Promise<void>;
  close(): void;
}

/**
 * Runs fn over the items of an async iterable as they come, with `workers` workers each taking
 * the next item when it is free (and, with a gate, once the gate admits it). fn hears the item,
 * its sequence number and its worker's number (0 to workers − 1: a tally per worker needs no
 * sharing). Stops taking items once the signal is aborted or an fn or the iterable throws (the
 * first error is rethrown after the calls in flight settle); the iterable is closed either way.
 */
export async function forEachPulled<T>(
  items: AsyncIterable<T>,
  workers: number,
  fn: (item: T, seq: number, worker: number) => Promise<void>,
  signal?: AbortSignal,
  gate?: WorkerGate,
): Promise<void> {
  const it = items[Symbol.asyncIterator]();
  let seq = 0;
  let failure: { err: unknown } | undefined;
  let exhausted = false;
  const stop = () => gate?.close();
  signal?.addEventListener("abort", stop);
  const worker = async (w: number) => {
    while (!signal?.aborted && failure === undefined && !exhausted) {
      if (gate) await gate.admit(w);
      if (signal?.aborted || failure !== undefined || exhausted) return;
      let next: IteratorResult<T>;
      try {
        next = await it.next();
      } catch (err) {
        failure ??= { err };
        stop();
        return;
      }
      if (next.done) {
        exhausted = true;
        stop();
        return;
      }
      try {
        await fn(next.value, seq++, w);
      } catch (err) {
        failure ??= { err };
        stop();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, workers) }, (_, w) => worker(w)));
  } finally {
    signal?.removeEventListener("abort", stop);
    await it.return?.(undefined);
  }
  if (failure) throw failure.err;
}
