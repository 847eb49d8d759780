/**
 * File names that are not valid UTF-8 (issue 13, item 6), through the CLI against fauxqs. S3
 * keys are UTF-8, and Deno hands such a name back with U+FFFD in place of the bad bytes (a name
 * no file has), so they cannot be backed up: the report must say what they are, shown with
 * their real bytes escaped, and count them — not call them "vanished during the scan".
 */
import assert from "node:assert/strict";
import { writeConfig } from "../support/config.ts";
import { startLocalAws } from "../support/local_aws.ts";
import { runCli } from "../support/cli.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Creates files and folders whose names hold raw bytes (printf octal escapes), via sh. */
function makeRaw(dir: string, script: string): void {
  const out = new Deno.Command("sh", { args: ["-c", script, "sh", dir] }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test(
  "run: names that are not valid UTF-8 are reported as such, escaped and counted",
  opts,
  async () => {
    const buckets = { documents: "names-docs", photos: "names-photos", database: "names-db" };
    const aws = await startLocalAws(Object.values(buckets));
    const dir = Deno.makeTempDirSync({ prefix: "s3backup-names-" });
    try {
      const src = `${dir}/src`;
      Deno.mkdirSync(src);
      Deno.writeTextFileSync(`${src}/ok.txt`, "fine");
      // A valid name that contains U+FFFD itself is an ordinary file.
      Deno.writeTextFileSync(`${src}/replacement-\uFFFD-char.txt`, "also fine");
      makeRaw(
        src,
        [
          `printf 'latin-1' > "$1/$(printf 'bad\\377.txt')"`, // 0xFF: never valid in UTF-8
          `mkdir "$1/$(printf 'caf\\351')"`, // "café" in Latin-1: 0xE9 then nothing
          `printf 'inside' > "$1/$(printf 'caf\\351')/inside.txt"`,
          `printf 'x' > "$1/$(printf 'mixed-\\303\\251-\\300.txt')"`, // é (valid) then 0xC0
        ].join(" && "),
      );
      const cfg = writeConfig(dir, {
        source: src,
        stateDir: `${dir}/state`,
        endpoint: aws.endpoint,
        buckets,
      });
      const r = await runCli(["run", "-c", cfg, "--json"], { env: aws.env });
      const json = JSON.parse(r.stdout);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(json.uploaded, 2, "ok.txt and the valid name with U+FFFD");
      assert.equal(json.invalid_names, 3);
      assert.equal(json.errors, 3);
      const failures = (json.failures as Array<{ path: string; error: string }>)
        .sort((a, b) => a.path.localeCompare(b.path));
      assert.deepEqual(failures.map((f) => f.path), [
        "bad\\xff.txt",
        "caf\\xe9/",
        "mixed-\u00e9-\\xc0.txt",
      ]);
      for (const f of failures) {
        assert.match(f.error, /name is not valid UTF-8: S3 cannot store it as a key/, f.path);
      }
      assert.match(failures[1].error, /^folder name .*nothing under it is backed up/);
      assert.doesNotMatch(r.stdout + r.stderr, /vanished/);

      const text = await runCli(["run", "-c", cfg], { env: aws.env });
      assert.match(text.stdout, /^Names not valid UTF-8 \(not backed up\): 3$/m);
      assert.match(text.stdout, /^ {2}bad\\xff\.txt: name is not valid UTF-8/m);
    } finally {
      await aws.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
