/** Extension → category: case-insensitive, the longest matching suffix wins. Pure. */
import type { Category } from "../core/types.ts";

export interface Router {
  /** The category for a relative path, or undefined when it is to be skipped as unmatched. */
  route(relPath: string): Category | undefined;
}

export function createRouter(categories: Category[], unmatched: string): Router {
  const rules = categories
    .flatMap((c) => c.extensions.map((ext) => ({ ext, category: c })))
    .sort((a, b) => b.ext.length - a.ext.length);
  const fallback = unmatched === "skip" ? undefined : categories.find((c) => c.name === unmatched);
  const match = (relPath: string): Category | undefined => {
    const slash = relPath.lastIndexOf("/");
    const name = relPath.slice(slash + 1).toLowerCase();
    for (const { ext, category } of rules) {
      // A name that is only the suffix (".bak") still counts: users name dumps that way.
      if (name.endsWith(ext)) return category;
    }
    return undefined;
  };
  return { route: (relPath) => match(relPath) ?? fallback };
}

const CONTENT_TYPES: Record<string, string> = {
  ".pdf": "application/pdf",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".json": "application/json",
  ".xml": "application/xml",
  ".html": "text/html; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".doc": "application/msword",
  ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  ".xls": "application/vnd.ms-excel",
  ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  ".odt": "application/vnd.oasis.opendocument.text",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".gif": "image/gif",
  ".heic": "image/heic",
  ".webp": "image/webp",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".svg": "image/svg+xml",
  ".sql": "application/sql",
  ".gz": "application/gzip",
  ".zip": "application/zip",
  ".tar": "application/x-tar",
  ".zst": "application/zstd",
  ".db": "application/vnd.sqlite3",
  ".sqlite": "application/vnd.sqlite3",
};

/** Content-Type from the last extension; application/octet-stream when unknown. */
export function contentTypeFor(relPath: string): string {
  const name = relPath.slice(relPath.lastIndexOf("/") + 1).toLowerCase();
  const dot = name.lastIndexOf(".");
  if (dot < 0) return "application/octet-stream";
  return CONTENT_TYPES[name.slice(dot)] ?? "application/octet-stream";
}
