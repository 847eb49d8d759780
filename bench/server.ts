/**
 * The benchmark's S3 server: fauxqs in its own process, so the tools under test never share an
 * event loop with it. Usage: `deno run -A --config deno.json bench/server.ts [bucket...]`.
 * Prints one JSON line `{"port": N, "pid": N}` on stdout once listening, then serves until
 * SIGTERM/SIGINT or until stdin closes (so it never outlives the bench that started it).
 * Objects are kept in memory (fauxqs assembles a multipart object in memory either way, so its
 * file storage would not lower the peak; the bench starts a fresh server per initial upload).
 */
import { startFauxqs } from "fauxqs";
import { SortedKeys } from "./sorted_keys.ts";

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
 * fauxqs 2.4.1 answers every ListObjects by copying, filtering and sorting (localeCompare) all
 * the bucket's keys: at 1,000,000 keys a page costs seconds of server CPU, so a full listing of
 * the huge set took over an hour for any tool and measured the emulator, not the tools. Real S3
 * answers a page in time that does not grow with the bucket. This keeps each bucket's keys sorted
 * (code units: S3's UTF-8 order for these ASCII names) in blocks of at most 2,048, updated as keys
 * come and go (a tool that lists a folder after each folder's uploads, as rclone does, must not
 * re-sort the bucket per listing), and answers a page by binary search, with fauxqs's own result
 * shape.
 */
async function patchListing(): Promise<void> {
  const url = new URL("./s3/s3Store.js", import.meta.resolve("fauxqs")).href;
  const mod = await import(url);
  const { S3Error } = await import(
    new URL("./common/errors.js", import.meta.resolve("fauxqs")).href
  );
  type Obj = { key: string };
  const sorted = new WeakMap<Map<string, Obj>, SortedKeys>();
  const keysOf = (m: Map<string, Obj>): SortedKeys => {
    let keys = sorted.get(m);
    if (!keys) {
      const k = new SortedKeys(m.keys());
      keys = k;
      const set = m.set.bind(m);
      const del = m.delete.bind(m);
      m.set = (key: string, v: Obj) => {
        if (!m.has(key)) k.add(key);
        return set(key, v);
      };
      m.delete = (key: string) => {
        k.delete(key);
        return del(key);
      };
      sorted.set(m, k);
    }
    return keys;
  };
  mod.S3Store.prototype.listObjects = function (
    this: { buckets: Map<string, Map<string, Obj>> },
    bucket: string,
    options?: {
      prefix?: string;
      delimiter?: string;
      maxKeys?: number;
      startAfter?: string;
      marker?: string;
    },
  ) {
    const objectsMap = this.buckets.get(bucket);
    if (!objectsMap) {
      throw new S3Error(
        "NoSuchBucket",
        `The specified bucket does not exist: ${bucket}`,
        404,
      );
    }
    const prefix = options?.prefix ?? "";
    const delimiter = options?.delimiter;
    const maxKeys = options?.maxKeys ?? 1000;
    // ListObjects V1 (rclone) pages by `marker`, V2 by `startAfter` (continuation token).
    const startAfter = options?.startAfter || options?.marker || undefined;
    const keys = keysOf(objectsMap);
    const objects: Obj[] = [];
    const commonPrefixes: string[] = [];
    let isTruncated = false;
    let walk = keys.from(prefix, startAfter);
    for (let next = walk.next(); !next.done && next.value.startsWith(prefix);) {
      const key = next.value;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (objects.length + commonPrefixes.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      if (cut >= 0) {
        const cp = key.slice(0, cut + delimiter!.length);
        if (startAfter === undefined || cp > startAfter) commonPrefixes.push(cp);
        // Past every key under this common prefix.
        walk = keys.from(cp.slice(0, -1) + String.fromCharCode(cp.charCodeAt(cp.length - 1) + 1));
        next = walk.next();
        continue;
      }
      objects.push(objectsMap.get(key)!);
      next = walk.next();
    }
    return { objects, commonPrefixes, isTruncated };
  };
}
await patchListing();

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
