/** A Notifier that records what it was asked to publish; it can be told to fail. */
import type { Notifier } from "../../lib/core/ports.ts";

export interface PublishedMessage {
  subject: string;
  message: string;
}

export class RecordingNotifier implements Notifier {
  readonly published: PublishedMessage[] = [];
  /** When set, publish() records the attempt and then rejects with this error. */
  failWith?: Error;

  constructor(opts: { failWith?: Error } = {}) {
    this.failWith = opts.failWith;
  }

  publish(subject: string, message: string): Promise<void> {
    this.published.push({ subject, message });
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve();
  }

  /** The last message published; throws when there is none (a test expecting one fails). */
  last(): PublishedMessage {
    const m = this.published.at(-1);
    if (m === undefined) throw new Error("RecordingNotifier: nothing was published");
    return m;
  }
}
