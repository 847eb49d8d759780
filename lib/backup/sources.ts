/**
 * The trees a run backs up, checked before the walk: `source` alone, or each `[[sources]]`
 * table a scan root whose paths (and so keys) carry its prefix. A tree that is missing is a
 * failure of its own while the others are backed up; only when every tree is missing (or the
 * single `source` is) is the run fatal (exit 2), as it always was for `source`.
 */
import type { SourceTree } from "../config/config.ts";
import type { PathFailure } from "../core/types.ts";
import { SourceError } from "../core/errors.ts";
import { checkSource } from "./walk.ts";

export interface SourceCheck {
  /** The trees that can be walked. */
  present: SourceTree[];
  /** One failure per missing tree, named by its prefix (`www/`). */
  failures: PathFailure[];
  /** The prefixes of the missing trees: the run manifest keeps what it listed under them. */
  unseen: string[];
  /** Several trees: one that vanishes during the walk is a failure too, not fatal. */
  several: boolean;
}

/** Checks each tree; throws SourceError when none can be backed up. */
export function checkSources(trees: SourceTree[]): SourceCheck {
  if (trees.length === 1 && trees[0].prefix === "") {
    checkSource(trees[0].path);
    return { present: trees, failures: [], unseen: [], several: false };
  }
  const check: SourceCheck = { present: [], failures: [], unseen: [], several: true };
  for (const t of trees) {
    try {
      checkSource(t.path);
      check.present.push(t);
    } catch (err) {
      if (!(err instanceof SourceError)) throw err;
      check.failures.push({ path: `${t.prefix}/`, error: err.message });
      check.unseen.push(`${t.prefix}/`);
    }
  }
  if (check.present.length === 0) {
    throw new SourceError(
      `no source tree can be backed up: ${check.failures.map((f) => f.error).join("; ")}`,
    );
  }
  return check;
}
