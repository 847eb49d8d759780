/**
 * Where the local state lives when the config does not say (state_dir): the systemd unit's
 * StateDirectory for a config under /etc, else the user's XDG state folder. Pure.
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { ConfigError } from "../core/errors.ts";

/** The environment variables the default depends on. */
export interface StateEnv {
  HOME?: string;
  XDG_STATE_HOME?: string;
  /** Whether a file exists (the state an earlier version kept beside the config). */
  exists?: (path: string) => boolean;
}

/** Where versions before 2026-11-30 kept the state of a config without state_dir. */
export const LEGACY_STATE_DIR = ".s3backup";

/** The state folder of a system-wide config: the unit's StateDirectory=s3backup. */
export const SYSTEM_STATE_DIR = "/var/lib/s3backup";

/** Whether a config file is a system one (/etc/…): `/etc` under ProtectSystem=strict is read-only. */
export function isSystemConfig(configPath: string | undefined): boolean {
  return configPath !== undefined && resolve(configPath).startsWith("/etc/");
}

/**
 * The default state_dir: /var/lib/s3backup for a config under /etc; else $XDG_STATE_HOME/s3backup
 * (an absolute path; the XDG spec says to ignore a relative one), else ~/.local/state/s3backup.
 */
export function defaultStateDir(configPath: string | undefined, env: StateEnv): string {
  // An upgrade keeps the state (history, lock, what was hashed) an earlier version made.
  if (configPath !== undefined) {
    const legacy = join(dirname(resolve(configPath)), LEGACY_STATE_DIR);
    if (env.exists?.(join(legacy, "state.db"))) return legacy;
  }
  if (isSystemConfig(configPath)) return SYSTEM_STATE_DIR;
  const xdg = env.XDG_STATE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "s3backup");
  if (env.HOME && isAbsolute(env.HOME)) return join(env.HOME, ".local", "state", "s3backup");
  throw new ConfigError(
    "'state_dir' is not set and neither $XDG_STATE_HOME nor $HOME is, so there is no default: " +
      "set state_dir",
  );
}

/** The variables of this process (empty without --allow-env). */
export function processStateEnv(): StateEnv {
  try {
    return {
      HOME: Deno.env.get("HOME"),
      XDG_STATE_HOME: Deno.env.get("XDG_STATE_HOME"),
      exists: (path) => {
        try {
          return Deno.statSync(path).isFile;
        } catch {
          return false;
        }
      },
    };
  } catch {
    return {};
  }
}
