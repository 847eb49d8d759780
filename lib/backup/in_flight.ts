/**
 * How many files a run uploads at once when neither the config nor --concurrency fixes it. A
 * small file costs one round trip: at 20 ms to S3, 16 in flight hold 5,000 files to 6.25 s
 * whatever the bandwidth, while S3 serves thousands of requests a second per prefix. So the
 * limit starts at 16 and doubles after each round (as many uploads as the limit) whose rate of
 * finished files beat the round before by a tenth or more, up to `max`; a failed upload halves
 * it and growth stops. On loopback the CPU is the bound well before: growth stops there.
 */
export class InFlightLimit {
  #limit: number;
  readonly #min: number;
  readonly #max: number;
  readonly #now: () => number;
  #growing = true;
  #roundDone = 0;
  #roundStart: number;
  #lastRate = 0;
  #waiting: Array<{ worker: number; wake: () => void }> = [];
  #closed = false;

  constructor(initial: number, max: number, now: () => number = () => performance.now()) {
    this.#limit = Math.max(1, Math.min(initial, max));
    this.#min = Math.max(1, Math.floor(this.#limit / 4));
    this.#max = Math.max(this.#limit, max);
    this.#now = now;
    this.#roundStart = now();
  }

  get limit(): number {
    return this.#limit;
  }

  /** An upload ended (`ok`: it succeeded). Pure bookkeeping, then wakes admitted workers. */
  finished(ok: boolean): void {
    if (!ok) {
      this.#limit = Math.max(this.#min, Math.floor(this.#limit / 2));
      this.#growing = false;
      this.#newRound(0);
      return;
    }
    if (++this.#roundDone < this.#limit) return;
    const seconds = Math.max(1e-3, (this.#now() - this.#roundStart) / 1000);
    const rate = this.#roundDone / seconds;
    if (this.#growing && rate >= this.#lastRate * 1.1 && this.#limit < this.#max) {
      this.#limit = Math.min(this.#max, this.#limit * 2);
    } else if (rate < this.#lastRate * 1.1) this.#growing = false;
    this.#newRound(rate);
    this.#wake();
  }

  #newRound(rate: number): void {
    this.#lastRate = rate;
    this.#roundDone = 0;
    this.#roundStart = this.#now();
  }

  /** Resolves once worker number `worker` (0-based) is within the limit, or the run is over. */
  admit(worker: number): Promise<void> {
    if (worker < this.#limit || this.#closed) return Promise.resolve();
    return new Promise((wake) => this.#waiting.push({ worker, wake }));
  }

  /** No more work: every waiting worker goes (and finds nothing to take). */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    const still: Array<{ worker: number; wake: () => void }> = [];
    for (const w of this.#waiting) {
      if (w.worker < this.#limit || this.#closed) w.wake();
      else still.push(w);
    }
    this.#waiting = still;
  }
}
