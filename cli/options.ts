/** Option texts and value parsers shared by several commands. */
import { InvalidArgumentError } from "@commander-js/extra-typings";

export const CONFIG_HELP =
  "config file (default: $S3BACKUP_CONFIG, ./s3backup.toml, /etc/s3backup/s3backup.toml)";

/** An ISO 8601 time (a date alone is its midnight UTC). */
export function isoTime(value: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) {
    throw new InvalidArgumentError(
      "must be an ISO 8601 time, e.g. 2026-02-11T02:00:00Z or 2026-02-11",
    );
  }
  return d;
}
