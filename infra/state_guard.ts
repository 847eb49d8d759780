/**
 * prevent_destroy protects only resources still in the configuration: a bucket whose category
 * was removed (or whose name changed) would be destroyed without it, its versioning suspended
 * and its policy deleted. This finds such resources before `deploy-infra apply` runs. Pure.
 */
import { PROTECTED_TYPES } from "./backup_bucket.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * Protected resources in the state (`terraform state list` lines) that the synthesized
 * configuration neither declares, nor moves (`moved`), nor forgets on purpose (`removed`).
 */
export function unprotectedRemovals(stateAddresses: string[], tf: Json): string[] {
  const kept = new Set<string>();
  for (const [type, byName] of Object.entries(tf.resource ?? {})) {
    for (const name of Object.keys(byName as object)) kept.add(`${type}.${name}`);
  }
  for (const m of tf.moved ?? []) kept.add(m.from);
  for (const r of tf.removed ?? []) kept.add(r.from);
  return stateAddresses
    .map((a) => a.trim())
    .filter((a) => PROTECTED_TYPES.some((t) => a.startsWith(`${t}.`)) && !kept.has(a));
}
