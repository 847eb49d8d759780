/**
 * A fault-injecting HTTP reverse proxy for tests: put it between the CLI and a local S3 server
 * (fauxqs) and it answers a chosen fraction of requests with S3 errors (500 InternalError,
 * 503 SlowDown), resets connections part-way through a request or response body, delays
 * responses, and black-holes requests: reads them whole and never answers (the connection stays
 * open, silent, as behind a dead NAT entry or a hung load balancer).
 *
 * Decisions are deterministic: each request's fate is a hash of the seed, the request's
 * identity (method, path and query without the random upload id) and how many times that
 * identity was seen before — so the same tree and seed give the same faults whatever order
 * concurrent requests arrive in, and a retried request gets a fresh (but fixed) draw.
 *
 * Headers are forwarded unchanged, Host included (the client signs SigV4 against the proxy's
 * host:port; fauxqs does not check signatures). Bodies stream in both directions.
 *
 * It speaks HTTP/1.1 over node:net, one request per connection (it adds `Connection: close`
 * both ways): Deno's node:http server does not close a destroyed socket promptly (a "reset"
 * became a 90 s hang), while a raw socket's destroy() reaches the client at once.
 *
 * The proxy also watches multipart traffic (create / complete / abort) so tests can assert
 * that no multipart upload was left open: fauxqs has no ListMultipartUploads.
 */
import net from "node:net";
import { Buffer } from "node:buffer";

export interface FaultRates {
  /** Fraction of requests answered with 500 InternalError or 503 SlowDown (not forwarded). */
  errorRate: number;
  /** Fraction of requests whose connection is reset part-way through the request or response. */
  resetRate: number;
  /** Fraction of requests read whole and never answered (nor forwarded). */
  blackholeRate: number;
  /** Fraction of responses delayed by delayMs. */
  delayRate: number;
  delayMs: number;
}

export interface RequestInfo {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** The S3 operation, as the SDK names it (or "Other"). */
  op: string;
  bucket: string;
  key: string;
}

export interface FaultProxyOptions extends Partial<FaultRates> {
  /** Where requests go, e.g. http://127.0.0.1:4566. */
  upstream: string;
  seed: number;
  /** Which requests may get faults; default: every S3 request (never SNS/SQS). */
  eligible?: (info: RequestInfo) => boolean;
  /** Black-holes these requests (all their attempts), besides blackholeRate's draw. */
  blackhole?: (info: RequestInfo) => boolean;
  /** Flips a byte of these requests' bodies on the way (damage in transit). */
  corrupt?: (info: RequestInfo) => boolean;
  /** Delay per request, instead of delayRate/delayMs (e.g. hold every UploadPart 2 s). */
  delayOf?: (info: RequestInfo) => number;
  /** Called for every request as it arrives, before any fault. */
  onRequest?: (info: RequestInfo) => void;
}

export interface FaultStats {
  requests: number;
  /** Requests by S3 operation (every attempt). */
  byOp: Record<string, number>;
  error500: number;
  error503: number;
  resetRequest: number;
  resetResponse: number;
  /** Requests read whole and never answered. */
  blackholed: number;
  /** Requests whose body was damaged on the way. */
  corrupted: number;
  delayed: number;
}

export interface FaultProxy {
  endpoint: string;
  stats: FaultStats;
  /** Changes the fault rates from now on (e.g. 0 to let a run converge). */
  setRates(rates: Partial<FaultRates>): void;
  /** Multipart uploads created and neither completed nor aborted (by upload id). */
  openMultipartUploads(): Map<string, { bucket: string; key: string }>;
  /** Total faults injected so far. */
  faults(): number;
  close(): Promise<void>;
}

/** FNV-1a then a murmur-style finaliser: a well-mixed 32-bit hash of a string. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: a small seeded PRNG, one stream per request. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Names the S3 operation of a path-style request (SNS/SQS posts to "/" are "Other"). */
export function classify(method: string, url: string): RequestInfo {
  const u = new URL(url, "http://x");
  const q = u.searchParams;
  const parts = u.pathname.split("/").slice(1);
  const bucket = decodeURIComponent(parts[0] ?? "");
  const key = parts.slice(1).map(decodeURIComponent).join("/");
  let op = "Other";
  if (bucket === "") op = "Other";
  else if (key === "") {
    if (method === "GET" && q.has("versions")) op = "ListObjectVersions";
    else if (method === "GET" && q.has("versioning")) op = "GetBucketVersioning";
    else if (method === "GET") op = q.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
    else if (method === "HEAD") op = "HeadBucket";
  } else if (method === "PUT") op = q.has("uploadId") ? "UploadPart" : "PutObject";
  else if (method === "POST" && q.has("uploads")) op = "CreateMultipartUpload";
  else if (method === "POST" && q.has("uploadId")) op = "CompleteMultipartUpload";
  else if (method === "DELETE" && q.has("uploadId")) op = "AbortMultipartUpload";
  else if (method === "DELETE") op = "DeleteObject";
  else if (method === "GET") op = "GetObject";
  else if (method === "HEAD") op = "HeadObject";
  return { method, url, op, bucket, key };
}

function s3ErrorXml(code: string, message: string, resource: string): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${
    esc(message)
  }</Message><Resource>${esc(resource)}</Resource><RequestId>fault-proxy</RequestId></Error>`;
}

interface Head {
  /** The head's bytes up to and including the blank line. */
  raw: Buffer;
  firstLine: string;
  headers: Map<string, string>;
}

const CRLF2 = Buffer.from("\r\n\r\n");

function parseHead(buf: Buffer): Head | undefined {
  const end = buf.indexOf(CRLF2);
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { raw: buf.subarray(0, end + 4), firstLine: lines[0], headers };
}

/** The head with `Connection: close` instead of whatever connection headers it had. */
function closingHead(head: Head): Buffer {
  const lines = head.raw.toString("latin1").split("\r\n").filter((l) => l !== "");
  const kept = lines.filter((l, i) => i === 0 || !/^(connection|keep-alive)\s*:/i.test(l));
  return Buffer.from([...kept, "Connection: close", "", ""].join("\r\n"), "latin1");
}

function s3ErrorResponse(status: number, code: string, message: string, resource: string) {
  const body = Buffer.from(s3ErrorXml(code, message, resource));
  const reason = status === 500 ? "Internal Server Error" : "Service Unavailable";
  return Buffer.concat([
    Buffer.from(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/xml\r\n` +
        `Content-Length: ${body.length}\r\nx-amz-request-id: fault-proxy\r\n` +
        `Connection: close\r\n\r\n`,
      "latin1",
    ),
    body,
  ]);
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const up = new URL(opts.upstream);
  const upPort = Number(up.port);
  const rates: FaultRates = {
    errorRate: opts.errorRate ?? 0,
    resetRate: opts.resetRate ?? 0,
    blackholeRate: opts.blackholeRate ?? 0,
    delayRate: opts.delayRate ?? 0,
    delayMs: opts.delayMs ?? 0,
  };
  const eligible = opts.eligible ?? ((i: RequestInfo) => i.op !== "Other");
  const stats: FaultStats = {
    requests: 0,
    byOp: {},
    error500: 0,
    error503: 0,
    resetRequest: 0,
    resetResponse: 0,
    blackholed: 0,
    corrupted: 0,
    delayed: 0,
  };
  const seen = new Map<string, number>();
  const open = new Map<string, { bucket: string; key: string }>();
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  };

  const handle = (client: net.Socket, head: Head, rest: Buffer) => {
    const [method = "GET", url = "/"] = head.firstLine.split(" ");
    const info = classify(method, url);
    stats.requests++;
    stats.byOp[info.op] = (stats.byOp[info.op] ?? 0) + 1;
    opts.onRequest?.(info);

    // A fixed draw per (identity, occurrence): independent of arrival order.
    const identity = `${method} ${url.replace(/uploadId=[^&]*/, "uploadId")}`;
    const n = seen.get(identity) ?? 0;
    seen.set(identity, n + 1);
    const rand = mulberry32(hash32(`${opts.seed}|${identity}|${n}`));
    const r = rand();
    const flip = rand() < 0.5;
    const drawnDelay = rand() < rates.delayRate ? rates.delayMs : 0;
    const delay = opts.delayOf ? opts.delayOf(info) : drawnDelay;
    const cutAt = rand(); // fraction of a body forwarded before a reset
    const kind = opts.blackhole?.(info)
      ? "blackhole"
      : !eligible(info)
      ? "pass"
      : r < rates.errorRate
      ? "error"
      : r < rates.errorRate + rates.resetRate
      ? "reset"
      : r < rates.errorRate + rates.resetRate + rates.blackholeRate
      ? "blackhole"
      : "pass";
    const chunked = /chunked/i.test(head.headers.get("transfer-encoding") ?? "");
    const reqLength = chunked ? -1 : Number(head.headers.get("content-length") ?? 0);
    const later = (fn: () => void) => {
      if (delay > 0) {
        stats.delayed++;
        setTimeout(fn, delay);
      } else fn();
    };

    if (kind === "blackhole") {
      // Read (and drop) everything the client sends; never forward, never answer.
      stats.blackholed++;
      client.on("data", () => {});
      return;
    }

    if (kind === "error") {
      // Read (and drop) the body, then answer like a struggling S3.
      let got = rest.length;
      const answer = () =>
        later(() => {
          if (flip) stats.error500++;
          else stats.error503++;
          client.end(
            flip
              ? s3ErrorResponse(
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
                url,
              )
              : s3ErrorResponse(503, "SlowDown", "Please reduce your request rate.", url),
          );
        });
      if (reqLength < 0 || got >= reqLength) answer();
      else {
        client.on("data", (c: Buffer) => {
          got += c.length;
          if (got >= reqLength) answer();
        });
      }
      return;
    }

    const resetRequest = kind === "reset" && flip && reqLength > 0;
    const resetResponse = kind === "reset" && !resetRequest;
    const upstream = net.connect({ host: up.hostname, port: upPort });
    track(upstream);
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", kill);
    client.on("error", kill);
    client.on("close", () => upstream.destroy());
    upstream.write(closingHead(head));

    if (resetRequest) {
      stats.resetRequest++;
      const cutoff = Math.max(1, Math.floor(reqLength * cutAt));
      let sent = 0;
      const feed = (chunk: Buffer) => {
        if (sent >= cutoff) return;
        const piece = chunk.subarray(0, cutoff - sent);
        sent += piece.length;
        upstream.write(piece);
        // The client's connection dies part-way through its upload; so does ours upstream.
        if (sent >= cutoff) kill();
      };
      feed(rest);
      client.on("data", feed);
      return;
    }

    if (opts.corrupt?.(info) && reqLength > 0) {
      stats.corrupted++;
      let flipped = false;
      const feed = (chunk: Buffer) => {
        if (!flipped && chunk.length > 0) {
          chunk = Buffer.from(chunk);
          chunk[0] ^= 0xff;
          flipped = true;
        }
        upstream.write(chunk);
      };
      feed(rest);
      client.on("data", feed);
      client.on("end", () => upstream.end());
    } else {
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
    }

    let resHead: Head | undefined;
    let pending = Buffer.alloc(0);
    let released = false;
    let forwarded = 0;
    let cutoff = Infinity;
    const bodyChunks: Buffer[] = [];
    const forward = (chunk: Buffer) => {
      if (!resetResponse) {
        client.write(chunk);
        return;
      }
      if (forwarded >= cutoff) return;
      const piece = chunk.subarray(0, cutoff - forwarded);
      forwarded += piece.length;
      client.write(piece);
      if (forwarded >= cutoff) kill();
    };
    const release = () => {
      released = true;
      if (resetResponse) {
        stats.resetResponse++;
        const length = Number(resHead!.headers.get("content-length") ?? 0);
        if (!(length > 0)) {
          // Nothing to cut in the middle of: the server did the work, the client never hears.
          kill();
          return;
        }
        cutoff = resHead!.raw.length + Math.max(1, Math.floor(length * cutAt));
      }
      const buffered = pending;
      pending = Buffer.alloc(0);
      forward(buffered);
    };
    upstream.on("data", (chunk: Buffer) => {
      if (released) {
        if (info.op === "CreateMultipartUpload") bodyChunks.push(chunk);
        forward(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      if (resHead === undefined) {
        resHead = parseHead(pending);
        if (resHead === undefined) return;
        if (info.op === "CreateMultipartUpload") bodyChunks.push(pending);
        const status = Number(resHead.firstLine.split(" ")[1]);
        const id = new URL(url, "http://x").searchParams.get("uploadId");
        if (
          id && ((info.op === "CompleteMultipartUpload" && status === 200) ||
            (info.op === "AbortMultipartUpload" && status < 300))
        ) open.delete(id);
        later(release);
      }
    });
    upstream.on("end", () => {
      if (info.op === "CreateMultipartUpload") {
        const text = Buffer.concat(bodyChunks).toString();
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(text)?.[1];
        if (id && / 200 /.test(resHead?.firstLine ?? "")) {
          open.set(id, { bucket: info.bucket, key: info.key });
        }
      }
      const finish = () => {
        if (!resetResponse) client.end();
      };
      if (released) finish();
      else {
        // The head arrived but release is delayed: end once it has gone out.
        const wait = setInterval(() => {
          if (released) {
            clearInterval(wait);
            finish();
          }
        }, 5);
      }
    });
  };

  const server = net.createServer((client) => {
    track(client);
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const head = parseHead(buf);
      if (head === undefined) return;
      client.off("data", onData);
      client.pause();
      handle(client, head, buf.subarray(head.raw.length));
      client.resume();
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    setRates(r) {
      Object.assign(rates, r);
    },
    openMultipartUploads: () => new Map(open),
    faults: () =>
      stats.error500 + stats.error503 + stats.resetRequest + stats.resetResponse +
      stats.blackholed,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
