/**
 * The whole walk collected at once (verify --compare, tests): every file in a compact FileList,
 * in key order, with what else the walk met. A run does not collect it: it streams the walk
 * (walk.ts) into its plan.
 */
import { FileList } from "./file_list.ts";
import { emptySide, type ScanRoot, type WalkSide, walkTrees } from "./walk.ts";

export { checkSource, createExcluder, type ScanRoot } from "./walk.ts";
export { FileList };

export interface ScanResult extends Omit<WalkSide, "files"> {
  /** In S3's key order (the walk's). */
  files: FileList;
}

/**
 * Walks source. `ownDirs` are absolute folders of the tool's own (state_dir): never backed up,
 * never counted, since the state changes while the run writes it.
 */
export function scanTree(source: string, exclude: string[], ownDirs: string[] = []): ScanResult {
  return scanTrees([{ path: source, prefix: "" }], exclude, ownDirs);
}

function newList(roots: ScanRoot[]): FileList {
  const path = (r: ScanRoot) => r.path.replace(/\/+$/, "") || "/";
  const files = new FileList(path(roots[0]), roots[0].prefix);
  for (const r of roots.slice(1)) files.addRoot(path(r), r.prefix);
  return files;
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
  const side = emptySide();
  const files = newList(roots);
  for (const f of walkTrees(roots, exclude, ownDirs, side, tolerateMissing)) {
    files.add(f.relPath, f.size, f.mtimeMs, f.ctimeMs, f.ino, f.dev);
  }
  const { files: _count, ...rest } = side;
  return { files, ...rest };
}
