import assert from "node:assert/strict";
import { measure } from "./tools.ts";

Deno.test("measure counts every marked line of a long log, not only the end it keeps", async () => {
  const scratch = Deno.makeTempDirSync();
  try {
    // 60,000 lines, ~1.7 MB: more than the 1 MiB of stderr kept (rclone -v logs a line a file).
    const script = 'for i in $(seq 1 60000); do echo "INFO  : dir/f$i: Copied (new)" >&2; done';
    const m = await measure(
      ["bash", "-c", `${script}; echo done`],
      { PATH: "/usr/bin:/bin" },
      scratch,
      ": Copied (",
    );
    assert.equal(m.code, 0);
    assert.equal(m.stdout.trim(), "done");
    assert.equal(m.marked, 60_000);
    assert.ok(m.stderr.length < 1.1 * 2 ** 20, "only the end of stderr (~1 MiB) is kept");
    assert.ok(m.stderr.trimEnd().endsWith("dir/f60000: Copied (new)"));
  } finally {
    Deno.removeSync(scratch, { recursive: true });
  }
});
