/** `--category NAME`: the categories a command works on (verify, restore, snapshots). */
import type { Config } from "./config.ts";
import { UsageError } from "../core/errors.ts";

export function selectCategories(config: Config, only?: string) {
  if (only === undefined) return config.categories;
  const found = config.categories.filter((c) => c.name === only);
  if (found.length === 0) {
    throw new UsageError(
      `--category ${only}: no such category (have: ${
        config.categories.map((c) => c.name).join(", ")
      })`,
    );
  }
  return found;
}
