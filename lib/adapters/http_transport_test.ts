/**
 * The transport under the real SDK client (createS3Client), against tiny HTTP servers on
 * loopback that misbehave on purpose: silent, slow, stalling mid-answer, throttling.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { createS3Client, idleTimeoutMs } from "./aws_clients.ts";
import { DEFAULT_IDLE_TIMEOUT_MS } from "./http_transport.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const MiB = 1024 * 1024;

interface Server {
  endpoint: string;
  /** Requests whose head arrived. */
  requests: number;
  close(): Promise<void>;
}

/**
 * A server that reads each request's head and body (at `readRate` bytes/s when given) and then
 * calls `answer` with the socket and the request number (0-based); an answer that writes
 * nothing leaves the client waiting.
 */
async function server(
  answer: (socket: net.Socket, n: number) => void,
  readRate?: number,
): Promise<Server> {
  const sockets = new Set<net.Socket>();
  const s: Server = { endpoint: "", requests: 0, close: async () => {} };
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    let head = Buffer.alloc(0);
    let need = -1;
    let got = 0;
    socket.on("data", (c: Buffer) => {
      if (readRate) {
        socket.pause();
        setTimeout(() => socket.resume(), (1000 * c.length) / readRate);
      }
      if (need < 0) {
        head = Buffer.concat([head, c]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const text = head.subarray(0, end).toString("latin1");
        need = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? 0);
        got = head.length - end - 4;
        if (/expect: *100-continue/i.test(text)) socket.write("HTTP/1.1 100 Continue\r\n\r\n");
      } else got += c.length;
      if (got >= need && need >= 0) {
        const n = s.requests++;
        need = -2; // answered; one request per connection
        answer(socket, n);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  s.endpoint = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  s.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  };
  return s;
}

function client(endpoint: string, idleSeconds: number, bwlimit?: number) {
  const c = createS3Client({ s3Endpoint: endpoint, region: "us-east-1", forcePathStyle: true }, {
    S3BACKUP_IDLE_TIMEOUT: String(idleSeconds),
  }, { bwlimit });
  (c.config as unknown as { credentials: () => Promise<object> }).credentials = () =>
    Promise.resolve({ accessKeyId: "a", secretAccessKey: "b" });
  return c;
}

const ok = (extra = "") =>
  `HTTP/1.1 200 OK\r\nETag: "e"\r\nContent-Length: 0\r\nConnection: close\r\n${extra}\r\n`;

Deno.test(
  "transport: a request that never gets an answer times out, is retried like a 503, every attempt counted",
  opts,
  async () => {
    const silent = await server(() => {});
    const s3 = client(silent.endpoint, 0.5);
    try {
      const t0 = performance.now();
      await assert.rejects(
        s3.send(new ListObjectsV2Command({ Bucket: "b" })),
        (err: Error & { $metadata?: { attempts?: number } }) => {
          assert.equal(err.name, "TimeoutError");
          assert.equal(err.$metadata?.attempts, 5, "the SDK retried it");
          return true;
        },
      );
      const secs = (performance.now() - t0) / 1000;
      assert.ok(secs >= 2.5 && secs < 8, `${secs} s for 5 attempts of 0.5 s`);
      assert.equal(silent.requests, 5);
      assert.deepEqual(s3.requestCounts(), { ListObjectsV2: 5 });
    } finally {
      s3.destroy();
      await silent.close();
    }
  },
);

Deno.test(
  "transport: an upload that keeps moving is never cut, however long it takes",
  opts,
  async () => {
    // 3 MiB/s: each 12 MiB body takes ~4 s, twice the idle timeout.
    const slow = await server((socket) => socket.end(ok()), 3 * MiB);
    const s3 = client(slow.endpoint, 2);
    try {
      const bytes = new Uint8Array(12 * MiB);
      const t0 = performance.now();
      await s3.send(new PutObjectCommand({ Bucket: "b", Key: "mem", Body: bytes }));
      // A stream body in 1 MiB chunks, as a file is read.
      const chunks = Array.from({ length: 12 }, () => new Uint8Array(MiB));
      await s3.send(
        new PutObjectCommand({
          Bucket: "b",
          Key: "stream",
          Body: Readable.from(chunks),
          ContentLength: 12 * MiB,
        }),
      );
      const secs = (performance.now() - t0) / 1000;
      assert.ok(secs > 4, `${secs} s: the uploads were slower than the idle timeout`);
      assert.deepEqual(s3.requestCounts(), { PutObject: 2 }, "no attempt was cut and retried");
    } finally {
      s3.destroy();
      await slow.close();
    }
  },
);

Deno.test(
  "transport: an answer whose body stalls half-way fails with a timeout",
  opts,
  async () => {
    const stall = await server((socket) =>
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "e"\r\nConnection: close\r\n\r\n0123456789',
      )
    );
    const s3 = client(stall.endpoint, 0.5);
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: "b", Key: "k" }));
      const t0 = performance.now();
      await assert.rejects(out.Body!.transformToByteArray(), { name: "TimeoutError" });
      assert.ok(performance.now() - t0 < 3000);
    } finally {
      s3.destroy();
      await stall.close();
    }
  },
);

Deno.test(
  "transport: the caller's abort cuts a request at once; one given up before is not sent",
  opts,
  async () => {
    const silent = await server(() => {});
    const s3 = client(silent.endpoint, 60);
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort("SIGTERM"), 300);
      const t0 = performance.now();
      await assert.rejects(
        s3.send(new HeadObjectCommand({ Bucket: "b", Key: "k" }), {
          abortSignal: controller.signal,
        }),
        { name: "AbortError" },
      );
      assert.ok(performance.now() - t0 < 1500, "cut at once, not retried");
      await assert.rejects(
        s3.send(new HeadObjectCommand({ Bucket: "b", Key: "k" }), {
          abortSignal: controller.signal,
        }),
      );
      assert.equal(silent.requests, 1);
      assert.deepEqual(s3.requestCounts(), { HeadObject: 1 });
    } finally {
      s3.destroy();
      await silent.close();
    }
  },
);

Deno.test("transport: retries after 503 SlowDown are counted one by one", opts, async () => {
  const slowDown = "<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>";
  const throttling = await server((socket, n) =>
    socket.end(
      n < 2
        ? `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n` +
          `Content-Length: ${slowDown.length}\r\nConnection: close\r\n\r\n${slowDown}`
        : ok(),
    )
  );
  const s3 = client(throttling.endpoint, 5);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: "b", Key: "k" }));
    assert.equal(throttling.requests, 3);
    assert.deepEqual(s3.requestCounts(), { HeadObject: 3 });
  } finally {
    s3.destroy();
    await throttling.close();
  }
});

Deno.test(
  "transport: --bwlimit is shared by concurrent bodies; waiting on it is not a stall",
  opts,
  async () => {
    const KiB = 1024;
    const fast = await server((socket) => socket.end(ok()));
    // 256 KiB/s for three 192 KiB bodies at once (bytes, a stream, a small body): ~2 s in all,
    // each piece waiting up to ~0.75 s for its turn, longer than the 0.3 s idle timeout.
    const s3 = client(fast.endpoint, 0.3, 256 * KiB);
    try {
      const sent: number[] = [];
      const t0 = performance.now();
      await Promise.all([
        s3.send(
          new PutObjectCommand({ Bucket: "b", Key: "bytes", Body: new Uint8Array(192 * KiB) }),
          { onBodySent: (n: number) => sent.push(n) } as object,
        ),
        s3.send(
          new PutObjectCommand({
            Bucket: "b",
            Key: "stream",
            Body: Readable.from([new Uint8Array(96 * KiB), new Uint8Array(96 * KiB)]),
            ContentLength: 192 * KiB,
          }),
        ),
        ...[0, 1, 2].map((i) =>
          s3.send(
            new PutObjectCommand({
              Bucket: "b",
              Key: `small-${i}`,
              Body: new Uint8Array(64 * KiB),
            }),
          )
        ),
      ]);
      const secs = (performance.now() - t0) / 1000;
      // (576 KiB - 64 KiB of burst) / 256 KiB/s = 2 s.
      assert.ok(secs > 1.8 && secs < 4, `${secs.toFixed(2)} s for 576 KiB at 256 KiB/s`);
      assert.deepEqual(s3.requestCounts(), { PutObject: 5 }, "no attempt timed out");
      assert.deepEqual(sent, [64 * KiB, 128 * KiB, 192 * KiB], "bytes reported as they went");
    } finally {
      s3.destroy();
      await fast.close();
    }
    // Without a limit the same bodies take a blink.
    const free = await server((socket) => socket.end(ok()));
    const unlimited = client(free.endpoint, 5);
    try {
      const t0 = performance.now();
      await unlimited.send(
        new PutObjectCommand({ Bucket: "b", Key: "bytes", Body: new Uint8Array(576 * KiB) }),
      );
      assert.ok(performance.now() - t0 < 1000);
    } finally {
      unlimited.destroy();
      await free.close();
    }
  },
);

Deno.test("idleTimeoutMs: 60 s, or $S3BACKUP_IDLE_TIMEOUT seconds; nonsense is a config error", () => {
  assert.equal(idleTimeoutMs({}), DEFAULT_IDLE_TIMEOUT_MS);
  assert.equal(DEFAULT_IDLE_TIMEOUT_MS, 60_000);
  assert.equal(idleTimeoutMs({ S3BACKUP_IDLE_TIMEOUT: "" }), 60_000);
  assert.equal(idleTimeoutMs({ S3BACKUP_IDLE_TIMEOUT: "2.5" }), 2500);
  for (const bad of ["0", "-1", "abc", "1e9", "Infinity"]) {
    assert.throws(() => idleTimeoutMs({ S3BACKUP_IDLE_TIMEOUT: bad }), {
      name: "ConfigError",
      message:
        `$S3BACKUP_IDLE_TIMEOUT = '${bad}' must be a number of seconds above 0, at most 3600`,
    });
  }
});
