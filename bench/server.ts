/**
 * The benchmark's S3 server: fauxqs in its own process, so the tools under test never share an
 * event loop with it. Usage: `deno run -A --config deno.json bench/server.ts [bucket...]`.
 * Prints one JSON line `{"port": N, "pid": N}` on stdout once listening, then serves until
 * SIGTERM/SIGINT or until stdin closes (so it never outlives the bench that started it).
 * Objects are kept in memory (fauxqs assembles a multipart object in memory either way, so its
 * file storage would not lower the peak; the bench starts a fresh server per initial upload).
 */
import { startFauxqs } from "fauxqs";

/**
 * fauxqs 2.4.1 decodes only named XML entities in a CompleteMultipartUpload body; rclone (Go's
 * encoding/xml) writes the quotes around part ETags as `&#34;`, so every rclone multipart upload
 * fails with InvalidPart. Decode numeric entities before fauxqs compares the ETags. Same module
 * instance as the one startFauxqs uses (Deno loads npm packages from file URLs in its cache).
 */
async function patchNumericEntities(): Promise<void> {
  const url = new URL("./s3/s3Store.js", import.meta.resolve("fauxqs")).href;
  const mod = await import(url);
  const proto = mod.S3Store.prototype;
  const original = proto.completeMultipartUpload;
  const decode = (s: string) =>
    s.replace(
      /&#(x[0-9a-fA-F]+|[0-9]+);/g,
      (_m, n: string) =>
        String.fromCodePoint(n[0] === "x" ? parseInt(n.slice(1), 16) : parseInt(n, 10)),
    );
  proto.completeMultipartUpload = function (
    uploadId: string,
    specs: Array<{ partNumber: number; etag: string }>,
  ) {
    return original.call(this, uploadId, specs.map((p) => ({ ...p, etag: decode(p.etag) })));
  };
}
await patchNumericEntities();

/**
 * BENCH_LATENCY_MS=N delays every request by N ms before fauxqs sees it: loopback answers in
 * microseconds, real S3 in tens of milliseconds, which is what makes per-file HEADs expensive.
 */
const latencyMs = Number(Deno.env.get("BENCH_LATENCY_MS") ?? "0");
if (latencyMs > 0) {
  const http = await import("node:http");
  // deno-lint-ignore no-explicit-any
  const proto = http.Server.prototype as any;
  const emit = proto.emit;
  proto.emit = function (this: unknown, event: string, ...args: unknown[]) {
    if (event !== "request") return emit.call(this, event, ...args);
    setTimeout(() => emit.call(this, event, ...args), latencyMs);
    return true;
  };
}

const server = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false });
for (const bucket of Deno.args) server.createBucket(bucket);
console.log(JSON.stringify({ port: server.port, pid: Deno.pid }));

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.stop();
  Deno.exit(0);
}
for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => void stop());
// stdin closing (the bench exited or crashed) also stops the server.
(async () => {
  const buf = new Uint8Array(64);
  while ((await Deno.stdin.read(buf)) !== null) { /* ignore input */ }
  await stop();
})();
