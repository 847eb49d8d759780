/**
 * The walk of the source trees, in S3's key order: each folder's entries sorted by UTF-8 bytes
 * (a folder as its name and "/", so `a-b` comes before `a/x`, as their keys do), trees in the
 * order of their prefixes. A run can then merge the walk with the buckets' listings page by
 * page and hold neither whole. Synchronous readDirSync/lstatSync: measured 4–5× faster than
 * async walkers on 100k files. Excluded folders are not descended into; symlinks are not
 * followed; what is not a regular file is counted, not read.
 */
import picomatch from "picomatch";
import type { LocalFile, PathFailure } from "../core/types.ts";
import { SourceError } from "../core/errors.ts";
import { compareKeys } from "../core/key_order.ts";
import { isUndecodable, shownLossy, undecodableNames } from "./raw_names.ts";

/** A tree to walk and the prefix its paths get ("" for `source`). */
export interface ScanRoot {
  path: string;
  prefix: string;
  /** This tree's own excludes, added to the global ones. */
  exclude?: string[];
}

/** What a walk met besides regular files (all small in a healthy tree). */
export interface WalkSide {
  excluded: string[];
  symlinks: string[];
  special: string[];
  /** Names that are not valid UTF-8, escaped (`bad\xff.txt`, a folder `caf\xe9/`); also in failed. */
  invalidNames: string[];
  failed: PathFailure[];
  /**
   * Paths whose content the walk could not see (a folder that could not be read ends in `/`):
   * their files are not gone, so the run manifest keeps what it listed for them.
   */
  unseen: string[];
  /** Regular files found so far. */
  files: number;
}

export function emptySide(): WalkSide {
  return {
    excluded: [],
    symlinks: [],
    special: [],
    invalidNames: [],
    failed: [],
    unseen: [],
    files: 0,
  };
}

/** Why a name that is not valid UTF-8 is not backed up (see raw_names.ts). */
const INVALID_NAME = "name is not valid UTF-8: S3 cannot store it as a key";

/** A matcher for the exclude globs on paths relative to the source (dotfiles included). */
export function createExcluder(globs: string[]): (relPath: string, isDir: boolean) => boolean {
  if (globs.length === 0) return () => false;
  const isMatch = picomatch(globs, { dot: true });
  // "**/.git/**" must stop the walk at ".git" itself, so a folder is also tested as "dir/".
  return (relPath, isDir) => isMatch(relPath) || (isDir && isMatch(`${relPath}/`));
}

export function errorText(err: unknown): string {
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.NotFound) return "vanished during the scan";
  return err instanceof Error ? err.message : String(err);
}

/** Throws SourceError when the source is missing, not a folder, or cannot be listed. */
export function checkSource(source: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(source);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new SourceError(`source directory does not exist: ${source}`);
    }
    throw new SourceError(`source directory is not readable: ${source}: ${errorText(err)}`);
  }
  if (!info.isDirectory) throw new SourceError(`source is not a directory: ${source}`);
  try {
    // A source that cannot be listed would back up nothing and write an empty manifest.
    Deno.readDirSync(source)[Symbol.iterator]().next();
  } catch (err) {
    throw unlistable(source, err);
  }
}

function unlistable(source: string, err: unknown): SourceError {
  return new SourceError(`source directory cannot be listed: ${source}: ${errorText(err)}`);
}

/**
 * A path below a folder as one flat string. A template literal makes a tree of string pieces
 * (a V8 cons string) that a later comparison flattens into a copy while keeping the pieces.
 */
function childPath(parent: string, name: string): string {
  return parent === "" ? name : [parent, name].join("/");
}

/** A walked file; the absolute path is derived when asked, not held. */
class WalkedFile implements LocalFile {
  constructor(
    readonly root: string,
    /** Its path in the scan: "<prefix>/<path in the tree>" or the path in `source`. */
    readonly relPath: string,
    readonly local: string,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
    readonly ino: number,
    readonly dev: number,
  ) {}

  get absPath(): string {
    return `${this.root}/${this.local}`;
  }
}

interface Entry {
  name: string;
  isDir: boolean;
  isSymlink: boolean;
  /** The name as its key sorts: a folder's followed by "/". */
  sortKey: string;
}

/** A folder's entries in key order. */
function sortedEntries(dirAbs: string): Entry[] {
  const out: Entry[] = [];
  for (const e of Deno.readDirSync(dirAbs)) {
    out.push({
      name: e.name,
      isDir: e.isDirectory,
      isSymlink: e.isSymlink,
      sortKey: e.isDirectory ? `${e.name}/` : e.name,
    });
  }
  return out.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
}

/**
 * The files of every tree, in key order; everything else into `side`. `ownDirs` are folders of
 * the tool's own (state_dir): never backed up, never counted. A tree that cannot be walked is a
 * failure of its own when `tolerateMissing` (several trees), else it throws SourceError.
 */
export function* walkTrees(
  roots: ScanRoot[],
  exclude: string[],
  ownDirs: string[],
  side: WalkSide,
  tolerateMissing = false,
): Generator<LocalFile, void> {
  const own = new Set(ownDirs.map((d) => d.replace(/\/+$/, "")));
  const ordered = [...roots].sort((a, b) =>
    compareKeys(a.prefix === "" ? "" : `${a.prefix}/`, b.prefix === "" ? "" : `${b.prefix}/`)
  );
  for (const r of ordered) {
    try {
      yield* walkTree(r, [...exclude, ...(r.exclude ?? [])], own, side);
    } catch (err) {
      if (!tolerateMissing || !(err instanceof SourceError)) throw err;
      // Its files are not gone: the manifest keeps what it listed under the prefix.
      side.failed.push({ path: `${r.prefix}/`, error: err.message });
      side.unseen.push(`${r.prefix}/`);
    }
  }
}

/** One tree, depth first with each folder's entries in key order. */
function* walkTree(
  r: ScanRoot,
  exclude: string[],
  own: Set<string>,
  side: WalkSide,
): Generator<LocalFile, void> {
  const root = r.path.replace(/\/+$/, "") || "/";
  checkSource(root);
  const isExcluded = createExcluder(exclude);
  const shown = (rel: string) => r.prefix === "" ? rel : [r.prefix, rel].join("/");
  const stack: Array<
    { rel: string; dirAbs: string; entries: Entry[]; next: number; raw?: Map<string, string[]> }
  > = [];
  const open = (rel: string): boolean => {
    const dirAbs = rel === "" ? root : `${root}/${rel}`;
    try {
      stack.push({ rel, dirAbs, entries: sortedEntries(dirAbs), next: 0 });
      return true;
    } catch (err) {
      if (rel === "") throw unlistable(root, err);
      side.failed.push({ path: `${shown(rel)}/`, error: `cannot read folder: ${errorText(err)}` });
      side.unseen.push(`${shown(rel)}/`);
      return false;
    }
  };
  open("");
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.next >= frame.entries.length) {
      stack.pop();
      continue;
    }
    const entry = frame.entries[frame.next++];
    const { rel, dirAbs } = frame;
    const relPath = childPath(rel, entry.name);
    const abs = `${dirAbs}/${entry.name}`;
    const invalid = (isDir: boolean) => {
      // This folder's names that are not UTF-8, read back when the first one is met.
      frame.raw ??= undecodableNames(dirAbs);
      const path = shown(
        childPath(rel, frame.raw.get(entry.name)?.shift() ?? shownLossy(entry.name)),
      );
      side.invalidNames.push(isDir ? `${path}/` : path);
      side.failed.push({
        path: isDir ? `${path}/` : path,
        error: isDir
          ? `folder ${INVALID_NAME}; nothing under it is backed up (rename the folder)`
          : `${INVALID_NAME}; not backed up (rename the file)`,
      });
    };
    if (entry.isSymlink) {
      side.symlinks.push(shown(relPath));
      continue;
    }
    if (entry.isDir) {
      if (own.has(abs)) continue;
      if (isExcluded(relPath, true)) side.excluded.push(`${shown(relPath)}/`);
      else if (isUndecodable(dirAbs, entry.name)) invalid(true);
      else open(relPath);
      continue;
    }
    if (isExcluded(relPath, false)) {
      side.excluded.push(shown(relPath));
      continue;
    }
    if (isUndecodable(dirAbs, entry.name)) {
      invalid(false);
      continue;
    }
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(abs);
    } catch (err) {
      side.failed.push({ path: shown(relPath), error: errorText(err) });
      if (!(err instanceof Deno.errors.NotFound)) side.unseen.push(shown(relPath));
      continue;
    }
    if (!st.isFile) {
      side.special.push(shown(relPath));
      continue;
    }
    side.files++;
    yield new WalkedFile(
      root,
      shown(relPath),
      relPath,
      st.size,
      st.mtime?.getTime() ?? 0,
      st.ctime?.getTime() ?? 0,
      st.ino ?? 0,
      st.dev,
    );
  }
}
