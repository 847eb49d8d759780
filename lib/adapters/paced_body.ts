/**
 * Request bodies as the socket takes them (http_transport.ts): handed over in 64 KiB pieces, so
 * that progress is seen on a slow link (the idle timer restarts on each piece, the progress line
 * counts them), each piece paced by the bandwidth limit when there is one (token_bucket.ts).
 */
import { Readable, Transform, type Writable } from "node:stream";
import { Buffer } from "node:buffer";
import type { TokenBucket } from "./token_bucket.ts";

/** A body in memory is handed to the socket in pieces of this size, so progress is seen. */
export const PIECE = 64 * 1024;

/**
 * What a request body does while the socket takes it: `progress` restarts the idle timer,
 * `pause` stops it while the body waits on the bandwidth limit (our own doing, not a stall),
 * `sent` hears the bytes of this attempt's body handed over so far (a retry starts again at 0).
 */
export interface BodyWatch {
  progress(): void;
  pause(): void;
  sent?: (bytes: number) => void;
  limiter?: TokenBucket;
}

/** Runs `go` once `bytes` may be sent under the limit; returns a canceller for a pending wait. */
function paced(w: BodyWatch, bytes: number, go: () => void): () => void {
  const wait = w.limiter?.reserve(bytes) ?? 0;
  if (wait <= 0) {
    go();
    return () => {};
  }
  w.pause();
  const timer = setTimeout(go, wait);
  return () => {
    clearTimeout(timer);
    w.limiter?.refund(bytes);
  };
}

/**
 * A stream body seen through a pass-through that cuts it into pieces, each paced by the limit
 * and reported as the socket takes it (a file read in 1 MiB chunks, or one 8 MiB chunk, would
 * show no progress for seconds on a slow link). The SDK pipes a body into the request and a
 * pipe does not pass errors on, so an error of the body (a file that shrank) destroys the
 * request it is piped into, as the body itself would.
 */
function watchedStream(body: Readable, w: BodyWatch): Readable {
  let target: Writable | undefined;
  let total = 0;
  let cancel = () => {};
  const out = new Transform({
    transform(chunk: Uint8Array, _enc, cb) {
      let off = 0;
      const next = () => {
        if (off >= chunk.length) return cb();
        const end = Math.min(off + PIECE, chunk.length);
        cancel = paced(w, end - off, () => {
          cancel = () => {};
          w.progress();
          this.push(chunk.subarray(off, end));
          total += end - off;
          w.sent?.(total);
          off = end;
          next();
        });
      };
      next();
    },
    destroy(err, cb) {
      cancel();
      cb(err);
    },
  });
  const pipe = out.pipe.bind(out);
  out.pipe = (<T extends NodeJS.WritableStream>(dest: T, opts?: { end?: boolean }) => {
    target = dest as unknown as Writable;
    const piped = pipe(dest, opts);
    out.on("data", () => w.progress()); // only once piped: a listener alone would start the flow
    return piped;
  }) as typeof out.pipe;
  out.on("error", (err) => target?.destroy(err));
  body.on("error", (err) => out.destroy(err));
  return body.pipe(out);
}

/** Bytes in memory as a stream of pieces, each paced by the limit and reported as taken. */
function piecewise(bytes: Uint8Array, w: BodyWatch): Readable {
  let off = 0;
  let cancel = () => {};
  return new Readable({
    read() {
      w.progress();
      if (off >= bytes.length) {
        this.push(null);
        return;
      }
      const end = Math.min(off + PIECE, bytes.length);
      cancel = paced(w, end - off, () => {
        cancel = () => {};
        w.progress();
        this.push(Buffer.from(bytes.buffer, bytes.byteOffset + off, end - off));
        off = end;
        w.sent?.(off);
      });
    },
    destroy(err, cb) {
      cancel();
      cb(err);
    },
  });
}

export function watchedBody(body: unknown, w: BodyWatch): unknown {
  if (body instanceof Readable) return watchedStream(body, w);
  // Small bodies go in one write, within the socket's buffer at once, unless they must be paced.
  const minimum = w.limiter ? 1 : PIECE + 1;
  if (body instanceof Uint8Array && body.length >= minimum) return piecewise(body, w);
  return body;
}
