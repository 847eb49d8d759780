/**
 * A fake AWS SDK v3 client: records every command it is sent (class name and input) and
 * answers from per-command handlers. A handler returns the response (merged over a default
 * `$metadata` of HTTP 200, 1 attempt) or throws an SDK-shaped error (see s3Error). Like the
 * real client's transport, it counts requests by operation: `$metadata.attempts` of each
 * answer or error (the attempts the SDK would have sent), else one.
 */
import { Buffer } from "node:buffer";
import type { Readable } from "node:stream";

export interface SentCommand {
  /** The command's class name, e.g. "PutObjectCommand". */
  name: string;
  // deno-lint-ignore no-explicit-any
  input: any;
}

/** The options the store passed to send() (the SDK hands them to the HTTP handler). */
export interface SendOptions {
  abortSignal?: AbortSignal;
  onBodySent?: (bytes: number) => void;
}

// deno-lint-ignore no-explicit-any
export type Handler = (input: any, callIndex: number, options: SendOptions) => unknown;

export class FakeSdkClient {
  readonly sent: SentCommand[] = [];
  readonly #handlers = new Map<string, Handler>();
  readonly #calls = new Map<string, number>();
  readonly #attempts: Record<string, number> = {};

  constructor(handlers: Record<string, Handler> = {}) {
    for (const [name, h] of Object.entries(handlers)) this.#handlers.set(name, h);
  }

  /** Sets the handler of a command class name ("PutObjectCommand"). */
  on(name: string, handler: Handler): this {
    this.#handlers.set(name, handler);
    return this;
  }

  async send(command: { input: unknown }, options: SendOptions = {}): Promise<unknown> {
    const name = command.constructor.name;
    this.sent.push({ name, input: command.input });
    const n = this.#calls.get(name) ?? 0;
    this.#calls.set(name, n + 1);
    const handler = this.#handlers.get(name);
    if (handler === undefined) throw new Error(`FakeSdkClient: no handler for ${name}`);
    const op = name.replace(/Command$/, "");
    const count = (meta?: { attempts?: number }) =>
      this.#attempts[op] = (this.#attempts[op] ?? 0) + (meta?.attempts ?? 1);
    let out: unknown;
    try {
      out = await handler(command.input, n, options);
    } catch (err) {
      count((err as { $metadata?: { attempts?: number } })?.$metadata);
      throw err;
    }
    const meta = (out as { $metadata?: { attempts?: number } } | undefined)?.$metadata;
    count(meta);
    return {
      ...(out as object | undefined),
      $metadata: { httpStatusCode: 200, attempts: 1, ...meta },
    };
  }

  /** Requests by operation, as the real client's transport counts them. */
  requestCounts(): Record<string, number> {
    return { ...this.#attempts };
  }

  /** Names of the commands sent, in order. */
  names(): string[] {
    return this.sent.map((c) => c.name);
  }

  /** The commands of one class, in order. */
  of(name: string): SentCommand[] {
    return this.sent.filter((c) => c.name === name);
  }
}

/** Reads a request body (the adapter passes node Readables) to bytes. */
export async function readBody(body: unknown): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  if (typeof body === "string") return Buffer.from(body);
  const chunks: Uint8Array[] = [];
  for await (const chunk of body as Readable) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk as Uint8Array);
  }
  return Buffer.concat(chunks);
}
