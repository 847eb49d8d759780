/**
 * The release binary's permission set, proven on main.ts: `deno run` with exactly the flags
 * scripts/release.ts compiles in (and --no-prompt), against the embedded S3/SNS server. Two
 * runs, a verify and a held lock must work with no permission denied. Removing a flag that is
 * needed (e.g. --allow-sys, which the SDK's user agent needs) fails this test.
 */
import assert from "node:assert/strict";
import { denoRunCommand, smoke } from "../../scripts/smoke_binary.ts";

Deno.test({
  name: "main.ts works under the release binary's permission flags (no prompt, no denial)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const lines: string[] = [];
    const failures = await smoke(denoRunCommand(), { log: (l) => lines.push(l) });
    assert.deepEqual(failures, [], lines.join("\n"));
  },
});
