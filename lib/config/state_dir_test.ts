import assert from "node:assert/strict";
import { defaultStateDir, isSystemConfig } from "./state_dir.ts";
import { ConfigError } from "../core/errors.ts";

Deno.test("defaultStateDir: /var/lib for a config under /etc, else the XDG state folder", () => {
  const cases: Array<[string | undefined, Record<string, string>, string]> = [
    ["/etc/s3backup/s3backup.toml", { HOME: "/root" }, "/var/lib/s3backup"],
    ["/etc/s3backup.toml", {}, "/var/lib/s3backup"],
    ["/etc/../srv/s3backup.toml", { HOME: "/h" }, "/h/.local/state/s3backup"],
    ["/etcetera/s3backup.toml", { HOME: "/h" }, "/h/.local/state/s3backup"],
    ["/srv/s3backup.toml", { HOME: "/h", XDG_STATE_HOME: "/x/state" }, "/x/state/s3backup"],
    ["/srv/s3backup.toml", { HOME: "/h", XDG_STATE_HOME: "rel/state" }, "/h/.local/state/s3backup"],
    ["/srv/s3backup.toml", { HOME: "/h", XDG_STATE_HOME: "" }, "/h/.local/state/s3backup"],
    [undefined, { HOME: "/h" }, "/h/.local/state/s3backup"],
  ];
  for (const [path, env, want] of cases) {
    assert.equal(defaultStateDir(path, env), want, `${path} ${JSON.stringify(env)}`);
  }
});

Deno.test("defaultStateDir: no HOME and no XDG_STATE_HOME is a config error naming state_dir", () => {
  assert.throws(
    () => defaultStateDir("/srv/s3backup.toml", {}),
    (e: unknown) => e instanceof ConfigError && /'state_dir' is not set/.test(e.message),
  );
  assert.equal(isSystemConfig(undefined), false);
});

// Versions before 2026-11-30 kept a config's state in `.s3backup/` beside it when state_dir was
// not set; the new default would have left it behind (history empty, every file hashed again).
Deno.test("defaultStateDir: the state an earlier version kept beside the config is kept", () => {
  const old = new Set(["/srv/app/.s3backup/state.db", "/etc/s3backup/.s3backup/state.db"]);
  const env = { HOME: "/h", exists: (p: string) => old.has(p) };
  assert.equal(defaultStateDir("/srv/app/s3backup.toml", env), "/srv/app/.s3backup");
  assert.equal(defaultStateDir("/etc/s3backup/s3backup.toml", env), "/etc/s3backup/.s3backup");
  assert.equal(defaultStateDir("/srv/other/s3backup.toml", env), "/h/.local/state/s3backup");
  assert.equal(defaultStateDir(undefined, env), "/h/.local/state/s3backup");
});
