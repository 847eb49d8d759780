/**
 * The HTTP layer under the SDK clients: every attempt is counted by operation at the moment it
 * is sent (the report's "S3 requests", retries included), and no attempt can wait forever. A
 * stalled attempt fails with a TimeoutError, which the SDK's retries treat like a 503.
 *
 * Timeouts. Connect: CONNECT_TIMEOUT_MS = 10 s (a TCP/TLS connect to S3 takes well under 1 s;
 * 10 s lets a lossy link retransmit its SYN twice). Then an idle timeout, DEFAULT_IDLE_TIMEOUT_MS
 * = 60 s without progress: no byte of the body taken by the socket, no answer, no byte of the
 * answer. Not a deadline for the whole request sized for the 8 MiB part at a minimum
 * throughput: with 8 parts and 16 files in flight on a 1 Mbit/s uplink each upload gets ~8 KiB/s,
 * and any such deadline (8 MiB at 64 KiB/s: 128 s) would fail every part, every night, where
 * progress never stops. 60 s after the last byte is handed over covers S3's answer (seconds)
 * plus what the kernel and a modem still queue on such a link (~1 s per 8 KiB/s upload and
 * 8 KiB of buffer), as the AWS SDKs for Java (50 s) and Python (60 s) read timeouts do.
 * The SDK's own socketTimeout cannot do this under Deno: a socket's idle timer there restarts on
 * reads only, not on writes (measured: a 32 MiB upload that was progressing at 4 MiB/s was cut
 * at 2 s), so an upload would be timed from its first byte.
 * Bodies go out in pieces (paced_body.ts), paced by --bwlimit when set; time spent waiting on
 * the limit is our own doing, not a stall, and does not count toward the idle timeout.
 */
import { Readable, Transform } from "node:stream";
import type { TokenBucket } from "./token_bucket.ts";
import { watchedBody } from "./paced_body.ts";

export const CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** What the handler sees of the SDK's HttpRequest (the rest is passed through untouched). */
interface HttpRequestLike {
  headers: Record<string, string>;
  body?: unknown;
}

interface HttpResponseLike {
  statusCode: number;
  body?: unknown;
}

interface HandlerOptions {
  abortSignal?: AbortSignal;
  /** Set by S3Store#send (the SDK hands send()'s options to the handler): see BodyWatch.sent. */
  onBodySent?: (bytes: number) => void;
  [k: string]: unknown;
}

/** The SDK's request handler (NodeHttpHandler), as far as it is used here. */
export interface RequestHandlerLike {
  handle(request: unknown, options?: HandlerOptions): Promise<{ response: HttpResponseLike }>;
  destroy?(): void;
  updateHttpClientConfig?(key: unknown, value: unknown): void;
  httpHandlerConfigs?(): unknown;
  metadata?: unknown;
}

/** The SDK client surface attachTransport needs. */
export interface ClientLike {
  config: object;
  middlewareStack: object;
}

type Middleware = (
  next: (args: { request: unknown }) => Promise<unknown>,
  context: { commandName?: string },
) => (args: { request: unknown }) => Promise<unknown>;

/** The middleware stack's add(), typed as far as it is used (the SDK's own types are generic). */
interface StackAdd {
  add(mw: Middleware, opts: { step: "deserialize"; priority: "low"; name: string }): void;
}

export function timeoutError(ms: number): Error {
  return Object.assign(
    new Error(`no progress for ${ms / 1000} s: the connection stalled (timed out)`),
    { name: "TimeoutError", code: "ETIMEDOUT" },
  );
}

/** Counts attempts by operation. */
export class RequestCounter {
  readonly #counts: Record<string, number> = {};
  add(op: string): void {
    this.#counts[op] = (this.#counts[op] ?? 0) + 1;
  }
  /** A copy: callers cannot change the counts. */
  snapshot(): Record<string, number> {
    return { ...this.#counts };
  }
}

/** The request handler the SDK calls once per attempt: counts it and bounds it in time. */
export class GuardedHandler implements RequestHandlerLike {
  readonly #inner: RequestHandlerLike;
  readonly #idleMs: number;
  readonly #counter: RequestCounter;
  readonly #limiter?: TokenBucket;
  /** The operation of each request, noted by a middleware just before the handler runs. */
  readonly ops = new WeakMap<object, string>();

  constructor(
    inner: RequestHandlerLike,
    counter: RequestCounter,
    idleMs: number,
    limiter?: TokenBucket,
  ) {
    this.#inner = inner;
    this.#counter = counter;
    this.#idleMs = idleMs;
    this.#limiter = limiter;
  }

  get metadata(): unknown {
    return this.#inner.metadata;
  }
  destroy(): void {
    this.#inner.destroy?.();
  }
  updateHttpClientConfig(key: unknown, value: unknown): void {
    this.#inner.updateHttpClientConfig?.(key, value);
  }
  httpHandlerConfigs(): unknown {
    return this.#inner.httpHandlerConfigs?.() ?? {};
  }

  async handle(request: unknown, handlerOptions: HandlerOptions = {}): Promise<{
    response: HttpResponseLike;
  }> {
    const { onBodySent, ...options } = handlerOptions;
    const outer = options.abortSignal;
    // An attempt the caller had already given up on is never sent: not counted.
    if (!outer?.aborted) this.#counter.add(this.ops.get(request as object) ?? "Other");
    const stalled = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onStall = () => stalled.abort();
    const progress = () => {
      clearTimeout(timer);
      timer = setTimeout(() => onStall(), this.#idleMs);
    };
    const stop = () => clearTimeout(timer);
    const req = request as HttpRequestLike;
    const sent = Object.assign(Object.create(Object.getPrototypeOf(req)), req, {
      body: watchedBody(req.body, {
        progress,
        pause: stop,
        sent: onBodySent,
        limiter: this.#limiter,
      }),
    });
    const signal = outer ? AbortSignal.any([outer, stalled.signal]) : stalled.signal;
    progress();
    let out: { response: HttpResponseLike };
    try {
      out = await this.#inner.handle(sent, { ...options, abortSignal: signal });
    } catch (err) {
      stop();
      (sent.body as Readable | undefined)?.destroy?.();
      if (stalled.signal.aborted && !outer?.aborted) throw timeoutError(this.#idleMs);
      throw err;
    }
    const body = out.response.body;
    if (!(body instanceof Readable)) {
      stop();
      return out;
    }
    // The answer's body: bounded by the same idle timer, and cut by the caller's signal.
    const watched = new Transform({
      transform(chunk, _enc, cb) {
        progress();
        cb(null, chunk);
      },
    });
    const fail = (err: Error) => {
      stop();
      body.destroy(err);
      watched.destroy(err);
    };
    onStall = () => fail(timeoutError(this.#idleMs));
    const onAbort = () => fail(Object.assign(new Error("Request aborted"), { name: "AbortError" }));
    outer?.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      stop();
      outer?.removeEventListener("abort", onAbort);
    };
    watched.on("close", () => {
      done();
      if (!body.readableEnded) body.destroy(); // let go of the connection of an unread answer
    });
    body.on("error", (err) => watched.destroy(err));
    watched.on("error", () => body.destroy());
    body.pipe(watched);
    progress();
    out.response.body = watched;
    return out;
  }
}

function operationName(commandName: string | undefined): string {
  return commandName?.replace(/Command$/, "") || "Other";
}

/**
 * Puts a GuardedHandler under a client's SDK handler and notes each request's operation for it.
 * The note is taken in the deserialize step, the last before the handler: after signing, which
 * copies the request per attempt, so the handler finds it under the object it receives.
 */
export function attachTransport(
  client: ClientLike,
  counter: RequestCounter,
  idleMs: number,
  limiter?: TokenBucket,
): GuardedHandler {
  const config = client.config as { requestHandler: RequestHandlerLike };
  const guard = new GuardedHandler(config.requestHandler, counter, idleMs, limiter);
  config.requestHandler = guard;
  (client.middlewareStack as StackAdd).add(
    (next, context) => (args) => {
      if (typeof args.request === "object" && args.request !== null) {
        guard.ops.set(args.request, operationName(context.commandName));
      }
      return next(args);
    },
    { step: "deserialize", priority: "low", name: "s3backupTransportOperation" },
  );
  return guard;
}
