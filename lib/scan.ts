/**
 * Walks the source tree. Synchronous readDirSync/lstatSync: measured 4–5× faster than async
 * walkers on 100k files. Excluded folders are not descended into; symlinks are not followed.
 */
import picomatch from "picomatch";
import type { LocalFile, PathFailure } from "./types.ts";
import { SourceError } from "./errors.ts";

export interface ScanResult {
  files: LocalFile[];
  excluded: string[];
  symlinks: string[];
  special: string[];
  failed: PathFailure[];
}

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
}

/**
 * A file the walk found. The absolute path is derived when asked: held for every file of a
 * 100,000-file tree it was ~4 MiB of strings, and V8 sizes the heap from what is live early on,
 * so that cost several times over in peak RSS.
 */
class ScannedFile implements LocalFile {
  constructor(
    readonly root: string,
    readonly relPath: string,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
    readonly ino: number,
  ) {}

  get absPath(): string {
    return `${this.root}/${this.relPath}`;
  }
}

/**
 * Walks source. `ownDirs` are absolute folders of the tool's own (state_dir): never backed up,
 * never counted, since the state changes while the run writes it.
 */
export function scanTree(source: string, exclude: string[], ownDirs: string[] = []): ScanResult {
  const walk = walkTree(source, exclude, ownDirs);
  let step = walk.next();
  while (!step.done) step = walk.next();
  return step.value;
}

/** The walk of a slice of the tree lasts at most this long before other work may run. */
const SLICE_MS = 4;

/**
 * scanTree, giving the event loop a turn every few milliseconds, so that requests started
 * before it (the bucket listings) go out and come back while the tree is walked.
 */
export async function scanTreeAsync(
  source: string,
  exclude: string[],
  ownDirs: string[] = [],
): Promise<ScanResult> {
  const walk = walkTree(source, exclude, ownDirs);
  let sliceStart = performance.now();
  let step = walk.next();
  while (!step.done) {
    if (performance.now() - sliceStart >= SLICE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      sliceStart = performance.now();
    }
    step = walk.next();
  }
  return step.value;
}

/** The walk itself, pausing (yield) after each folder. */
function* walkTree(
  source: string,
  exclude: string[],
  ownDirs: string[],
): Generator<void, ScanResult> {
  checkSource(source);
  const own = new Set(ownDirs.map((d) => d.replace(/\/+$/, "")));
  const isExcluded = createExcluder(exclude);
  const out: ScanResult = { files: [], excluded: [], symlinks: [], special: [], failed: [] };
  const root = source.replace(/\/+$/, "") || "/";
  const stack: string[] = [""];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const dirAbs = rel === "" ? root : `${root}/${rel}`;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dirAbs)];
    } catch (err) {
      out.failed.push({
        path: rel === "" ? "." : `${rel}/`,
        error: `cannot read folder: ${errorText(err)}`,
      });
      continue;
    }
    for (const entry of entries) {
      const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const abs = `${dirAbs}/${entry.name}`;
      if (entry.isSymlink) {
        out.symlinks.push(relPath);
        continue;
      }
      if (entry.isDirectory) {
        if (own.has(abs)) continue;
        if (isExcluded(relPath, true)) out.excluded.push(`${relPath}/`);
        else stack.push(relPath);
        continue;
      }
      if (isExcluded(relPath, false)) {
        out.excluded.push(relPath);
        continue;
      }
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(abs);
      } catch (err) {
        out.failed.push({ path: relPath, error: errorText(err) });
        continue;
      }
      if (!st.isFile) {
        out.special.push(relPath);
        continue;
      }
      out.files.push(
        new ScannedFile(
          root,
          relPath,
          st.size,
          st.mtime?.getTime() ?? 0,
          st.ctime?.getTime() ?? 0,
          st.ino ?? 0,
        ),
      );
    }
    yield;
  }
  out.files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  return out;
}
