/**
 * The folder a restore writes into (--to), kept closed: no path component below it is followed
 * if it is a symlink (`--to/sub -> /elsewhere` would otherwise put `sub/x` in /elsewhere).
 * Folders are made one component at a time, a symlink in the way is refused (or, with
 * --overwrite, the link itself is replaced by a folder), and before a file is opened and again
 * before it is renamed into place its folder must still resolve to the same place under --to.
 */
import { join } from "node:path";

/** The folders of a relative path, outermost first: "a/b/c.txt" → ["a", "a/b"]. */
export function parentFolders(relPath: string): string[] {
  const parts = relPath.split("/").slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
}

type Kind = "absent" | "folder" | "symlink" | "other";

function kindOf(path: string): Kind {
  try {
    const st = Deno.lstatSync(path);
    return st.isSymlink ? "symlink" : st.isDirectory ? "folder" : "other";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "absent";
    throw err;
  }
}

export class RestoreTarget {
  /** What each folder below --to was when first looked at (relative path → kind). */
  readonly #seen = new Map<string, Kind>();
  #real: string | undefined;

  constructor(readonly to: string) {}

  /** The first folder of relPath below --to that is a symlink, as it is now; undefined if none. */
  symlinkIn(relPath: string): string | undefined {
    for (const folder of parentFolders(relPath)) {
      let kind = this.#seen.get(folder);
      if (kind === undefined) {
        kind = kindOf(join(this.to, folder));
        this.#seen.set(folder, kind);
      }
      if (kind === "symlink") return folder;
      if (kind !== "folder") return undefined;
    }
    return undefined;
  }

  /**
   * Makes relPath's folders below --to, each a real folder. Synchronous on purpose: concurrent
   * restores then never interleave between a check and a mkdir in this process.
   */
  ensureFolders(relPath: string, overwrite: boolean): void {
    if (!this.#seen.has("")) {
      Deno.mkdirSync(this.to, { recursive: true }); // --to itself, as the user named it
      this.#seen.set("", "folder");
    }
    for (const folder of parentFolders(relPath)) {
      if (this.#seen.get(folder) === "folder") continue;
      const path = join(this.to, folder);
      let kind = kindOf(path);
      if (kind === "symlink") {
        if (!overwrite) {
          throw new Error(
            `'${folder}' under --to is a symlink; restore never follows one ` +
              `(use --overwrite to replace the link with a folder)`,
          );
        }
        Deno.removeSync(path); // the link itself, never what it points to
        kind = "absent";
      }
      if (kind === "absent") {
        Deno.mkdirSync(path);
        kind = "folder";
      }
      if (kind !== "folder") throw new Error(`'${folder}' under --to exists and is not a folder`);
      this.#seen.set(folder, kind);
    }
  }

  /** Throws unless relPath's folder still resolves to its own place under --to. */
  assertInside(relPath: string): void {
    this.#real ??= Deno.realPathSync(this.to);
    const folders = parentFolders(relPath);
    const folder = folders.length === 0 ? "" : folders[folders.length - 1];
    const want = folder === "" ? this.#real : join(this.#real, folder);
    const got = Deno.realPathSync(join(this.to, folder));
    if (got !== want) {
      throw new Error(
        `a folder of '${relPath}' under --to was replaced by a symlink during the restore ` +
          `(it leads to ${got}); nothing is left there`,
      );
    }
  }
}
