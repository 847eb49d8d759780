/**
 * Damages chosen pages of a SQLite file the way a bad disk or a stray write does, for tests of
 * how the state store copes. Reads the b-tree layout from the file itself (the format is
 * documented at https://www.sqlite.org/fileformat2.html), so tests do not depend on which page
 * a table happens to start on.
 */
import { DatabaseSync } from "node:sqlite";

/** Folds the WAL into the main file and removes it, so the file alone holds every page. */
export function checkpoint(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;");
  } finally {
    db.close();
  }
}

/** The root page number of a table (1-based, as SQLite numbers pages). */
export function rootPage(path: string, table: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = ?").get(table);
    if (!row) throw new Error(`no table ${table} in ${path}`);
    return Number(row.rootpage);
  } finally {
    db.close();
  }
}

function pageSize(file: Uint8Array): number {
  const size = (file[16] << 8) | file[17];
  return size === 1 ? 65536 : size;
}

/** A page's bytes (never page 1, whose b-tree header starts after the file header). */
function page(file: Uint8Array, n: number): Uint8Array {
  const size = pageSize(file);
  return file.subarray((n - 1) * size, n * size);
}

/** The leaf pages of the b-tree rooted at `root`, in key order. */
export function leafPages(path: string, root: number): number[] {
  const file = Deno.readFileSync(path);
  const out: number[] = [];
  const visit = (n: number) => {
    const p = page(file, n);
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const type = p[0];
    if (type === 10 || type === 13) {
      out.push(n);
      return;
    }
    if (type !== 2 && type !== 5) throw new Error(`page ${n}: not a b-tree page (type ${type})`);
    const cells = view.getUint16(3);
    for (let i = 0; i < cells; i++) visit(view.getUint32(view.getUint16(12 + 2 * i)));
    visit(view.getUint32(8)); // the right-most child
  };
  visit(root);
  return out;
}

/**
 * Overwrites the rows stored on a page (its cell content area) with 0xFF bytes and points its
 * free-block list past the page, leaving the page type, cell count and cell pointers intact:
 * SQLite opens the file and counts rows without noticing, and fails with "database disk image
 * is malformed" only when a row on that page is read, or the page is written.
 */
export function smashCells(path: string, n: number): void {
  const file = Deno.readFileSync(path);
  const p = page(file, n);
  const contentStart = new DataView(p.buffer, p.byteOffset).getUint16(5) || 65536;
  p.fill(0xff, contentStart);
  p[1] = p[2] = 0xff; // the first free block
  Deno.writeFileSync(path, file);
}
