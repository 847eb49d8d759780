/**
 * How s3backup lays out objects, in one place: a file's key (key_prefix + its path relative to
 * the source), the reverse (a key's path under restore's --to, refusing keys that would escape
 * it), the run manifest's reserved key, and the names of the metadata each object carries.
 */

/** S3's limit on a key's length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** User metadata carrying the content's SHA-256 (x-amz-meta-sha256). */
export const SHA256_METADATA = "sha256";
/** User metadata carrying the file's mtime, ISO 8601 (x-amz-meta-mtime), restored with it. */
export const MTIME_METADATA = "mtime";
/** User metadata naming the [[dumps]] entry an object holds (x-amz-meta-dump). */
export const DUMP_METADATA = "dump";
/** Reserved key (under key_prefix) of the run manifest in every bucket. */
export const MANIFEST_NAME = ".s3backup/manifest.txt.gz";

/** What every key of this host starts with: "" or "<key_prefix>/". */
export function keyPrefixPath(keyPrefix: string): string {
  return keyPrefix === "" ? "" : `${keyPrefix}/`;
}

/** The object key of a file: key_prefix + relative path. */
export function objectKey(keyPrefix: string, relPath: string): string {
  // Joined, not a template literal: a flat string (see childPath in backup/scan.ts).
  return keyPrefix === "" ? relPath : [keyPrefix, relPath].join("/");
}

export function manifestKey(keyPrefix: string): string {
  return objectKey(keyPrefix, MANIFEST_NAME);
}

/** Whether a key is longer than S3 allows (a UTF-16 unit is at most 3 UTF-8 bytes). */
export function keyTooLong(key: string, encoder = new TextEncoder()): boolean {
  return key.length * 3 > MAX_KEY_BYTES && encoder.encode(key).length > MAX_KEY_BYTES;
}

/**
 * The path a key restores to under --to: the key without key_prefix, or an error when it would
 * escape or alias the target folder (`..`, `.`, empty segments, an absolute path, NUL).
 */
export function relativePathOf(key: string, keyPrefix: string): string | Error {
  const prefix = keyPrefixPath(keyPrefix);
  if (!key.startsWith(prefix)) return new Error("key is outside key_prefix");
  const rel = key.slice(prefix.length);
  if (rel === "" || rel.startsWith("/") || rel.includes("\0")) {
    return new Error("unsafe key: absolute or empty path");
  }
  for (const seg of rel.split("/")) {
    if (seg === "" || seg === "." || seg === "..") {
      return new Error(`unsafe key: path segment '${seg}' would escape or alias the target folder`);
    }
  }
  return rel;
}
