import assert from "node:assert/strict";
import { parseConfigText } from "./config.ts";
import { ConfigError } from "../core/errors.ts";
import { starterConfig } from "./starter.ts";
import { dumpRelPath, parseDuration, prefixesOverlap } from "./commands.ts";

const CATEGORIES = `
[categories.documents]
bucket = "acme-docs"
extensions = [".pdf"]

[categories.database]
bucket = "acme-db"
extensions = [".sql"]
`;

const PATH = "/etc/acme/s3backup.toml";

/** SPEC's example of "Several trees, dumps and hooks", as written there. */
const SPEC_SECTION = `
[[sources]]                       # instead of \`source\`, for several trees
path = "/srv/www"
prefix = "www"                    # keys: <key_prefix>/www/<path relative to /srv/www>
exclude = ["**/cache/**"]         # added to the global excludes

[[dumps]]                         # a command's stdout streamed into one object per run
name = "prod"
command = ["pg_dump", "--format=custom", "prod"]   # argv, no shell
category = "database"             # default
extension = ".dump"               # default ".sql"; key: <key_prefix>/dumps/<name><extension>
timeout = "2h"

before = [["/usr/local/sbin/snapshot-up"]]   # argv lists; a failure aborts the run (FAILED)
after = [["/usr/local/sbin/snapshot-down"]]  # run whenever \`before\` succeeded
`;

Deno.test("SPEC's [[sources]], [[dumps]], before and after, as written there", () => {
  // Top-level keys come before the first table in TOML: the hooks first, then the tables.
  const hooks = SPEC_SECTION.split("\n").filter((l) => /^(before|after) =/.test(l)).join("\n");
  const tables = SPEC_SECTION.split("\n").filter((l) => !/^(before|after) =/.test(l)).join("\n");
  const c = parseConfigText(`${hooks}\n${tables}\n${CATEGORIES}`, PATH);
  assert.deepEqual(c.sources, [{ path: "/srv/www", prefix: "www", exclude: ["**/cache/**"] }]);
  assert.equal(c.source, "/srv/www");
  assert.deepEqual(c.dumps, [{
    name: "prod",
    command: ["pg_dump", "--format=custom", "prod"],
    category: "database",
    extension: ".dump",
    timeout: "2h",
    timeoutMs: 7_200_000,
  }]);
  assert.equal(dumpRelPath(c.dumps[0]), "dumps/prod.dump");
  assert.deepEqual(c.hooks, {
    before: [["/usr/local/sbin/snapshot-up"]],
    after: [["/usr/local/sbin/snapshot-down"]],
    timeout: "15m",
    timeoutMs: 900_000,
  });
});

Deno.test("[[dumps]] defaults: category database, extension .sql, timeout 6h", () => {
  const c = parseConfigText(
    `source = "/srv"\n[[dumps]]\nname = "app"\ncommand = ["mysqldump", "app"]\n${CATEGORIES}`,
    PATH,
  );
  assert.deepEqual(c.dumps[0], {
    name: "app",
    command: ["mysqldump", "app"],
    category: "database",
    extension: ".sql",
    timeout: "6h",
    timeoutMs: 21_600_000,
  });
});

Deno.test("several [[sources]]: relative paths from the config's folder, prefixes cleaned", () => {
  const c = parseConfigText(
    `[[sources]]\npath = "www"\nprefix = "/www/"\n[[sources]]\npath = "/etc"\nprefix = "etc/main"\n${CATEGORIES}`,
    PATH,
  );
  assert.deepEqual(c.sources, [
    { path: "/etc/acme/www", prefix: "www", exclude: [] },
    { path: "/etc", prefix: "etc/main", exclude: [] },
  ]);
  assert.equal(c.source, "/etc/acme/www, /etc");
});

Deno.test("config errors of the new keys name the key", async (t) => {
  const src = `source = "/srv"\n`;
  const cases: Array<{ name: string; text: string; want: RegExp }> = [
    { name: "neither source nor [[sources]]", text: CATEGORIES, want: /'source' is missing/ },
    {
      name: "both source and [[sources]]",
      text: `${src}[[sources]]\npath = "/a"\nprefix = "a"\n${CATEGORIES}`,
      want: /'source' and '\[\[sources\]\]' cannot both be set/,
    },
    {
      name: "same prefix twice",
      text:
        `[[sources]]\npath = "/a"\nprefix = "x"\n[[sources]]\npath = "/b"\nprefix = "x/"\n${CATEGORIES}`,
      want: /'sources\[1\]\.prefix' = 'x' overlaps 'sources\[0\]\.prefix' = 'x'/,
    },
    {
      name: "nested prefixes",
      text:
        `[[sources]]\npath = "/a"\nprefix = "srv"\n[[sources]]\npath = "/b"\nprefix = "srv/www"\n${CATEGORIES}`,
      want: /'sources\[1\]\.prefix' = 'srv\/www' overlaps 'sources\[0\]\.prefix' = 'srv'/,
    },
    {
      name: "a prefix missing",
      text: `[[sources]]\npath = "/a"\n${CATEGORIES}`,
      want: /'sources\[0\]\.prefix'/,
    },
    {
      name: "a prefix with ..",
      text: `[[sources]]\npath = "/a"\nprefix = "a/../b"\n${CATEGORIES}`,
      want: /'sources\[0\]\.prefix' = 'a\/\.\.\/b' must be a relative path/,
    },
    {
      name: "a prefix in s3backup's own folder",
      text: `[[sources]]\npath = "/a"\nprefix = ".s3backup"\n${CATEGORIES}`,
      want: /'sources\[0\]\.prefix' = '\.s3backup': '\.s3backup\/' is s3backup's own folder/,
    },
    {
      name: "a prefix over the dumps' folder",
      text:
        `[[sources]]\npath = "/a"\nprefix = "dumps"\n[[dumps]]\nname = "x"\ncommand = ["true"]\n${CATEGORIES}`,
      want: /'sources\[0\]\.prefix' = 'dumps' overlaps 'dumps\/'/,
    },
    {
      name: "an unknown key in [[sources]]",
      text: `[[sources]]\npath = "/a"\nprefix = "a"\nexcludes = []\n${CATEGORIES}`,
      want: /unknown key 'sources\[0\]\.excludes' \(allowed: path, prefix, exclude\)/,
    },
    {
      name: "a dump without command",
      text: `${src}[[dumps]]\nname = "x"\n${CATEGORIES}`,
      want: /'dumps\[0\]\.command'/,
    },
    {
      name: "a dump command as a string (no shell)",
      text: `${src}[[dumps]]\nname = "x"\ncommand = "pg_dump prod"\n${CATEGORIES}`,
      want: /'dumps\[0\]\.command' must be an array of strings \(argv\), got string/,
    },
    {
      name: "an empty dump command",
      text: `${src}[[dumps]]\nname = "x"\ncommand = []\n${CATEGORIES}`,
      want: /'dumps\[0\]\.command' must not be empty/,
    },
    {
      name: "a dump into a category that does not exist",
      text: `${src}[[dumps]]\nname = "x"\ncommand = ["true"]\ncategory = "photos"\n${CATEGORIES}`,
      want:
        /'dumps\[0\]\.category' = 'photos' names no category \(use one of: documents, database\)/,
    },
    {
      name: "two dumps of one name",
      text:
        `${src}[[dumps]]\nname = "x"\ncommand = ["true"]\n[[dumps]]\nname = "x"\ncommand = ["true"]\n${CATEGORIES}`,
      want: /'dumps\[1\]\.name' = 'x' is used twice/,
    },
    {
      name: "a dump name with a slash",
      text: `${src}[[dumps]]\nname = "a/b"\ncommand = ["true"]\n${CATEGORIES}`,
      want: /'dumps\[0\]\.name' = 'a\/b' may use only letters/,
    },
    {
      name: "an extension without its dot",
      text: `${src}[[dumps]]\nname = "x"\ncommand = ["true"]\nextension = "sql"\n${CATEGORIES}`,
      want: /'dumps\[0\]\.extension' = 'sql' must start with '\.'/,
    },
    {
      name: "a timeout that is not a duration",
      text: `${src}[[dumps]]\nname = "x"\ncommand = ["true"]\ntimeout = "2 hours"\n${CATEGORIES}`,
      want: /'dumps\[0\]\.timeout' = '2 hours' is not a duration/,
    },
    {
      name: "a hook as a string",
      text: `before = "snapshot-up"\n${src}${CATEGORIES}`,
      want: /'before' must be an array of commands, each an array of strings/,
    },
    {
      name: "a hook as a flat list",
      text: `after = ["umount", "/mnt/snap"]\n${src}${CATEGORIES}`,
      want: /'after\[0\]' must be an array of strings \(argv\), got string/,
    },
    {
      name: "an empty hook",
      text: `before = [[]]\n${src}${CATEGORIES}`,
      want: /'before\[0\]' must not be empty/,
    },
    {
      name: "a bad hook_timeout",
      text: `hook_timeout = 10\n${src}${CATEGORIES}`,
      want: /'hook_timeout' must be a string, got integer/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(
        () => parseConfigText(c.text, PATH),
        (e: Error) => e instanceof ConfigError && c.want.test(e.message) || assert.fail(e.message),
      );
    });
  }
});

Deno.test("parseDuration and prefixesOverlap", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1d"), 86_400_000);
  for (const bad of ["", "2", "h", "2 h", "-1s", "0s", "2hours"]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
  assert.ok(prefixesOverlap("a", "a"));
  assert.ok(prefixesOverlap("a", "a/b"));
  assert.ok(prefixesOverlap("a/b", "a"));
  assert.ok(!prefixesOverlap("a", "ab"));
  assert.ok(!prefixesOverlap("a-b", "a"));
});

Deno.test("init's starter config: its commented hooks and dump parse once uncommented", () => {
  const text = starterConfig("acme-backup", "/srv/data", "/var/lib/s3backup")
    .replace(/^# (before|after) = /gm, "$1 = ")
    .replace(/^# (\[\[dumps\]\]|name = |command = |extension = )/gm, "$1");
  const c = parseConfigText(text, PATH);
  assert.deepEqual(c.hooks.before, [["/usr/local/sbin/snapshot-up"]]);
  assert.deepEqual(c.hooks.after, [["/usr/local/sbin/snapshot-down"]]);
  assert.deepEqual(c.dumps.map((d) => [d.name, d.command, dumpRelPath(d), d.category]), [
    ["prod", ["pg_dump", "--format=custom", "prod"], "dumps/prod.dump", "database"],
  ]);
});
