/**
 * The upload bandwidth limit (`--bwlimit`, config `bwlimit`): one token bucket shared by every
 * request body the S3 client sends, so the limit holds for all concurrent uploads together.
 * A body is handed to the socket in pieces (http_transport.ts); each piece first reserves its
 * bytes here and waits the time the bucket needs to pay them back. Reserving at once (the
 * bucket may go below zero) queues the waiters in order: nobody starves.
 */

/** Bytes the bucket may hold: a tenth of a second at the rate, and at least one 64 KiB piece. */
export function burstOf(rate: number): number {
  return Math.max(64 * 1024, Math.floor(rate / 10));
}

export class TokenBucket {
  /** Bytes per second. */
  readonly rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(rate: number, opts: { burst?: number; now?: () => number } = {}) {
    if (!(rate > 0)) throw new RangeError(`rate must be above 0, got ${rate}`);
    this.rate = rate;
    this.#burst = opts.burst ?? burstOf(rate);
    this.#now = opts.now ?? (() => performance.now());
    this.#tokens = this.#burst;
    this.#last = this.#now();
  }

  /** Reserves `bytes`; returns the milliseconds to wait before sending them (0: at once). */
  reserve(bytes: number): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.rate) / 1000);
    this.#last = now;
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.rate;
  }

  /** Gives back a reservation that was not used (its request was cut before sending). */
  refund(bytes: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + bytes);
  }
}
