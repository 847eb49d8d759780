/** A Clock for tests: fixed until set or advanced; optionally advances by `stepMs` on each read. */
import type { Clock } from "../../lib/core/ports.ts";

export class FixedClock implements Clock {
  #ms: number;
  readonly #stepMs: number;

  constructor(
    start: Date | string | number = "2026-02-11T02:00:00.000Z",
    opts: { stepMs?: number } = {},
  ) {
    this.#ms = new Date(start).getTime();
    if (Number.isNaN(this.#ms)) throw new Error(`FixedClock: invalid start ${String(start)}`);
    this.#stepMs = opts.stepMs ?? 0;
  }

  /** The current time; then moves on by stepMs (0: stays put). */
  now(): Date {
    const d = new Date(this.#ms);
    this.#ms += this.#stepMs;
    return d;
  }

  /** The current time in ms, without advancing. */
  peekMs(): number {
    return this.#ms;
  }

  set(t: Date | string | number): void {
    this.#ms = new Date(t).getTime();
  }

  advance(ms: number): void {
    this.#ms += ms;
  }
}
