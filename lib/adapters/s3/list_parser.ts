/**
 * A ListObjectsV2 response body parsed straight from its bytes. The SDK's generic XML
 * deserializer builds a tree and a typed object per key: ~30 % of the CPU of a no-change run
 * over 100,000 files (bench/profile.ts). This reads only the fields a listing needs, in one
 * pass over the bytes, and copies each value out (no string keeps a whole page alive).
 *
 * Anything it does not expect (CDATA, a different root, an unbalanced document) makes it
 * return undefined, and the caller lets the SDK parse the page instead.
 */
import type { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { Buffer } from "node:buffer";
import type { RemoteObject } from "../../core/types.ts";

export interface ListPage {
  objects: RemoteObject[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

const LT = 0x3c; // <
const GT = 0x3e; // >
const SLASH = 0x2f; // /
const BANG = 0x21; // !
const QUESTION = 0x3f; // ?

const bytesOf = (s: string) => new TextEncoder().encode(s);
const ROOT = bytesOf("ListBucketResult");
const CONTENTS = bytesOf("Contents");
const IS_TRUNCATED = bytesOf("IsTruncated");
const NEXT_TOKEN = bytesOf("NextContinuationToken");
const KEY = bytesOf("Key");
const SIZE = bytesOf("Size");
const ETAG = bytesOf("ETag");
const LAST_MODIFIED = bytesOf("LastModified");
const STORAGE_CLASS = bytesOf("StorageClass");

// ignoreBOM: a key that starts with U+FEFF keeps it (the default strips it from every value).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;

function nameIs(body: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (body[start + i] !== name[i]) return false;
  return true;
}

function resolveReferences(s: string): string {
  return s.replace(ENTITY, (_m, hex: string, dec: string, named: string) => {
    if (named) return NAMED[named];
    return String.fromCodePoint(hex ? parseInt(hex, 16) : parseInt(dec, 10));
  });
}

const QUOT = bytesOf("&quot;");

/**
 * Reads text content out of one page's bytes. Each value becomes a small string of its own:
 * decoding the whole page first made a ~300 KB string per page, which V8 puts straight into
 * old space, where the pages' garbage waited for a full collection (100,000 keys: peak RSS
 * 303 → 283 MiB). Most values are ASCII without references: those skip the decoder call.
 */
class PageText {
  constructor(readonly body: Uint8Array) {}

  /** Text [start, end) with references resolved. */
  get(start: number, end: number): string {
    const body = this.body;
    let plain = end - start <= 1024;
    for (let i = start; plain && i < end; i++) {
      const c = body[i];
      if (c >= 0x80 || c === 0x26) plain = false;
    }
    if (plain) {
      return String.fromCharCode.apply(null, body.subarray(start, end) as unknown as number[]);
    }
    const s = decoder.decode(body.subarray(start, end));
    return s.includes("&") ? resolveReferences(s) : s;
  }

  /** An ETag without its quotes (usually written &quot;<hex>&quot;). */
  etag(start: number, end: number): string {
    const body = this.body;
    if (
      end - start >= 12 && this.#at(start, QUOT) && this.#at(end - 6, QUOT) &&
      body.subarray(start + 6, end - 6).indexOf(0x26) < 0
    ) {
      return this.get(start + 6, end - 6);
    }
    return this.get(start, end).replaceAll('"', "");
  }

  #at(pos: number, what: Uint8Array): boolean {
    for (let i = 0; i < what.length; i++) if (this.body[pos + i] !== what[i]) return false;
    return true;
  }
}

interface Entry {
  key?: string;
  size?: number;
  etag?: string;
  lastModified?: string;
  storageClass?: string;
}

function toObject(e: Entry): RemoteObject | undefined {
  if (e.key === undefined) return undefined;
  return {
    key: e.key,
    size: e.size ?? 0,
    etag: e.etag || undefined,
    lastModified: e.lastModified ? new Date(e.lastModified) : new Date(0),
    storageClass: e.storageClass ?? "STANDARD",
  };
}

/** Parses one page; undefined when the body is not the plain document S3 sends. */
export function parseListObjectsV2(bytes: Uint8Array): ListPage | undefined {
  try {
    return parsePage(bytes);
  } catch {
    return undefined; // e.g. a reference to no character (&#xFFFFFFFF;): the SDK decides
  }
}

function parsePage(bytes: Uint8Array): ListPage | undefined {
  // A plain view: a Node Buffer's indexOf is a slower, JS-level method.
  const body = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new PageText(body);
  const page: ListPage = { objects: [], isTruncated: false };
  let depth = 0;
  let entry: Entry | undefined;
  let sawRoot = false;
  let pos = body.indexOf(LT);
  while (pos >= 0 && pos < body.length) {
    const next = body[pos + 1];
    const close = body.indexOf(GT, pos);
    if (close < 0) return undefined;
    if (next === BANG) return undefined; // CDATA, a comment, a DOCTYPE: S3 sends none
    if (next === QUESTION) { // <?xml ...?>
      pos = body.indexOf(LT, close);
      continue;
    }
    if (next === SLASH) {
      depth--;
      if (depth === 1 && entry) {
        const obj = toObject(entry);
        if (!obj) return undefined;
        page.objects.push(obj);
        entry = undefined;
      }
      if (depth < 0) return undefined;
      pos = body.indexOf(LT, close);
      continue;
    }
    // An opening tag: its name ends at a space, "/" or ">".
    let nameEnd = pos + 1;
    while (
      nameEnd < close && body[nameEnd] !== 0x20 && body[nameEnd] !== SLASH &&
      body[nameEnd] !== 0x09 && body[nameEnd] !== 0x0a && body[nameEnd] !== 0x0d
    ) nameEnd++;
    const selfClosing = body[close - 1] === SLASH;
    const textEnd = body.indexOf(LT, close);
    if (depth === 0) {
      if (!nameIs(body, pos + 1, nameEnd, ROOT)) return undefined;
      sawRoot = true;
    } else if (depth === 1) {
      if (nameIs(body, pos + 1, nameEnd, CONTENTS)) entry = {};
      else if (!selfClosing && nameIs(body, pos + 1, nameEnd, IS_TRUNCATED)) {
        page.isTruncated = text.get(close + 1, textEnd).trim() === "true";
      } else if (!selfClosing && nameIs(body, pos + 1, nameEnd, NEXT_TOKEN)) {
        page.nextContinuationToken = text.get(close + 1, textEnd);
      }
    } else if (depth === 2 && entry && !selfClosing) {
      const s = pos + 1;
      if (nameIs(body, s, nameEnd, KEY)) entry.key = text.get(close + 1, textEnd);
      else if (nameIs(body, s, nameEnd, SIZE)) {
        entry.size = Number(text.get(close + 1, textEnd));
        if (!Number.isSafeInteger(entry.size)) return undefined;
      } else if (nameIs(body, s, nameEnd, ETAG)) entry.etag = text.etag(close + 1, textEnd);
      else if (nameIs(body, s, nameEnd, LAST_MODIFIED)) {
        entry.lastModified = text.get(close + 1, textEnd);
      } else if (nameIs(body, s, nameEnd, STORAGE_CLASS)) {
        entry.storageClass = text.get(close + 1, textEnd);
      }
    }
    if (!selfClosing) depth++;
    else if (depth === 1 && entry) {
      return undefined; // <Contents/>: no key
    }
    pos = textEnd;
  }
  if (!sawRoot || depth !== 0) return undefined;
  if (page.isTruncated && !page.nextContinuationToken) return undefined;
  return page;
}

/** Collects a response body (a Node stream in practice; bytes after some SDK middleware). */
async function readBody(body: unknown): Promise<Uint8Array | undefined> {
  if (body instanceof Uint8Array) return body;
  if (!body || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] !== "function") {
    return undefined;
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

const EMPTY_LISTING = new TextEncoder().encode("<ListBucketResult></ListBucketResult>");

/**
 * Lets the command's successful response be parsed by parseListObjectsV2 instead of the SDK's
 * generic deserializer: a middleware next to the HTTP handler reads the body,
 * keeps the parsed page and hands the SDK an empty listing. Errors, retries, signing and
 * endpoints stay the SDK's. When the fast parser declines, the SDK gets the body unchanged.
 */
export function parseListPagesOf(command: ListObjectsV2Command): { page?: ListPage } {
  const holder: { page?: ListPage } = {};
  command.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const response = out.response as { statusCode?: number; body?: unknown };
      holder.page = undefined;
      if (response?.statusCode !== 200) return out;
      const body = await readBody(response.body);
      if (!body) return out;
      holder.page = parseListObjectsV2(body);
      response.body = holder.page ? EMPTY_LISTING : body;
      return out;
    },
    { step: "deserialize", priority: "low", name: "s3backupListParser" },
  );
  return holder;
}
