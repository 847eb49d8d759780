/**
 * Walks the source tree. Synchronous readDirSync/lstatSync: measured 4–5× faster than async
 * walkers on 100k files. Excluded folders are not descended into; symlinks are not followed.
 */
import picomatch from "picomatch";
import type { PathFailure } from "../core/types.ts";
import { SourceError } from "../core/errors.ts";
import { isUndecodable, shownLossy, undecodableNames } from "./raw_names.ts";
import { FileList } from "./file_list.ts";

export { FileList };

export interface ScanResult {
  /** Sorted by relPath (UTF-16 code units, as Array.prototype.sort). */
  files: FileList;
  excluded: string[];
  symlinks: string[];
  special: string[];
  /** Names that are not valid UTF-8, escaped (`bad\xff.txt`, a folder `caf\xe9/`); also in failed. */
  invalidNames: string[];
  failed: PathFailure[];
  /**
   * Paths whose content this scan could not see (a folder that could not be read ends in `/`):
   * their files are not gone, so the run manifest keeps what it listed for them.
   */
  unseen: string[];
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

function errorText(err: unknown): string {
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.NotFound) return "vanished during the scan";
  return err instanceof Error ? err.message : String(err);
}

/** Throws SourceError when the source is missing or not a folder. */
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
 * (a V8 cons string) that a later comparison flattens into a copy while keeping the pieces:
 * on 100,000 files that was ~15 MiB more heap than joining.
 */
function childPath(parent: string, name: string): string {
  return parent === "" ? name : [parent, name].join("/");
}

/** A tree to walk and the prefix its paths get in the scan ("" for `source`). */
export interface ScanRoot {
  path: string;
  prefix: string;
  /** This tree's own excludes, added to the global ones. */
  exclude?: string[];
}

/**
 * Walks source. `ownDirs` are absolute folders of the tool's own (state_dir): never backed up,
 * never counted, since the state changes while the run writes it.
 */
export function scanTree(source: string, exclude: string[], ownDirs: string[] = []): ScanResult {
  return scanTrees([{ path: source, prefix: "" }], exclude, ownDirs);
}

/**
 * Walks several trees into one scan, each tree's paths under its prefix. A tree that is missing
 * is a failure of its own when there are several (`tolerateMissing`): the others are scanned.
 */
export function scanTrees(
  roots: ScanRoot[],
  exclude: string[],
  ownDirs: string[] = [],
  tolerateMissing = false,
): ScanResult {
  const walk = walkTrees(roots, exclude, ownDirs, tolerateMissing);
  let step = walk.next();
  while (!step.done) step = walk.next();
  return step.value;
}

/** The walk of a slice of the tree lasts at most this long before other work may run. */
const SLICE_MS = 4;

/**
 * scanTrees, giving the event loop a turn every few milliseconds, so that requests started
 * before it (the bucket listings) go out and come back while the tree is walked. `onSeen`
 * hears the number of files found so far at each turn (the progress line).
 */
export async function scanTreesAsync(
  roots: ScanRoot[],
  exclude: string[],
  ownDirs: string[] = [],
  tolerateMissing = false,
  onSeen?: (files: number) => void,
): Promise<ScanResult> {
  const walk = walkTrees(roots, exclude, ownDirs, tolerateMissing);
  let sliceStart = performance.now();
  let step = walk.next();
  while (!step.done) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      onSeen?.(step.value);
      await new Promise((resolve) => setTimeout(resolve, 0));
      sliceStart = performance.now();
    }
    step = walk.next();
  }
  return step.value;
}

/** scanTreesAsync of the single `source`. */
export function scanTreeAsync(
  source: string,
  exclude: string[],
  ownDirs: string[] = [],
  onSeen?: (files: number) => void,
): Promise<ScanResult> {
  return scanTreesAsync([{ path: source, prefix: "" }], exclude, ownDirs, false, onSeen);
}

function emptyScan(files: FileList): ScanResult {
  return {
    files,
    excluded: [],
    symlinks: [],
    special: [],
    invalidNames: [],
    failed: [],
    unseen: [],
  };
}

/** Each tree in turn, into one result; the files sorted by their (prefixed) paths at the end. */
function* walkTrees(
  roots: ScanRoot[],
  exclude: string[],
  ownDirs: string[],
  tolerateMissing: boolean,
): Generator<number, ScanResult> {
  const own = new Set(ownDirs.map((d) => d.replace(/\/+$/, "")));
  const rootPath = (r: ScanRoot) => r.path.replace(/\/+$/, "") || "/";
  const files = new FileList(rootPath(roots[0]), roots[0].prefix);
  for (const r of roots.slice(1)) files.addRoot(rootPath(r), r.prefix);
  const out = emptyScan(files);
  for (const r of roots) {
    try {
      yield* walkTree(rootPath(r), r.prefix, [...exclude, ...(r.exclude ?? [])], own, out);
    } catch (err) {
      if (!tolerateMissing || !(err instanceof SourceError)) throw err;
      // Its files are not gone: the manifest keeps what it listed under the prefix.
      out.failed.push({ path: `${r.prefix}/`, error: err.message });
      out.unseen.push(`${r.prefix}/`);
    }
  }
  out.files.sort();
  return out;
}

/** One tree's walk into `out`, pausing after each folder (yield: the files found so far). */
function* walkTree(
  root: string,
  prefix: string,
  exclude: string[],
  own: Set<string>,
  out: ScanResult,
): Generator<number, void> {
  checkSource(root);
  const isExcluded = createExcluder(exclude);
  /** The path a tree-relative path has in the scan: under the tree's prefix. */
  const shown = (rel: string) => prefix === "" ? rel : [prefix, rel].join("/");
  const stack: string[] = [""];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const dirAbs = rel === "" ? root : `${root}/${rel}`;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dirAbs)];
    } catch (err) {
      if (rel === "") throw unlistable(root, err);
      out.failed.push({ path: `${shown(rel)}/`, error: `cannot read folder: ${errorText(err)}` });
      out.unseen.push(`${shown(rel)}/`);
      continue;
    }
    /** This folder's names that are not UTF-8, read back when the first one is met. */
    let raw: Map<string, string[]> | undefined;
    const invalid = (name: string, isDir: boolean) => {
      raw ??= undecodableNames(dirAbs);
      const path = shown(childPath(rel, raw.get(name)?.shift() ?? shownLossy(name)));
      out.invalidNames.push(isDir ? `${path}/` : path);
      out.failed.push({
        path: isDir ? `${path}/` : path,
        error: isDir
          ? `folder ${INVALID_NAME}; nothing under it is backed up (rename the folder)`
          : `${INVALID_NAME}; not backed up (rename the file)`,
      });
    };
    for (const entry of entries) {
      const relPath = childPath(rel, entry.name);
      const abs = `${dirAbs}/${entry.name}`;
      if (entry.isSymlink) {
        out.symlinks.push(shown(relPath));
        continue;
      }
      if (entry.isDirectory) {
        if (own.has(abs)) continue;
        if (isExcluded(relPath, true)) out.excluded.push(`${shown(relPath)}/`);
        else if (isUndecodable(dirAbs, entry.name)) invalid(entry.name, true);
        else stack.push(relPath);
        continue;
      }
      if (isExcluded(relPath, false)) {
        out.excluded.push(shown(relPath));
        continue;
      }
      if (isUndecodable(dirAbs, entry.name)) {
        invalid(entry.name, false);
        continue;
      }
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(abs);
      } catch (err) {
        out.failed.push({ path: shown(relPath), error: errorText(err) });
        if (!(err instanceof Deno.errors.NotFound)) out.unseen.push(shown(relPath));
        continue;
      }
      if (!st.isFile) {
        out.special.push(shown(relPath));
        continue;
      }
      out.files.add(
        shown(relPath),
        st.size,
        st.mtime?.getTime() ?? 0,
        st.ctime?.getTime() ?? 0,
        st.ino ?? 0,
        st.dev,
      );
    }
    yield out.files.length;
  }
}
