/**
 * Bandwidth rates (`--bwlimit RATE`, config `bwlimit`): bytes per second, with an optional K, M
 * or G suffix in powers of 1024 as rclone's --bwlimit ("4M" = 4 MiB/s); 0 or "off": no limit.
 */
import * as v from "valibot";
import { typeName } from "./schema.ts";

/** The smallest limit: below 1 KiB/s a 64 KiB piece of a body would wait for a minute. */
export const MIN_RATE = 1024;

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** What a valid rate looks like, for messages. */
export const RATE_HELP = 'bytes per second with an optional K, M or G suffix (e.g. "10M"), or 0';

/** The number a rate text says, in bytes per second; undefined when it is not a rate. */
function bytesOf(text: string): number | undefined {
  if (text.trim().toLowerCase() === "off") return 0;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?\s*$/i.exec(text);
  if (m === null) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Bytes per second (0: no limit), or undefined when the text is not a valid rate. Pure. */
export function parseRate(text: string): number | undefined {
  const bytes = bytesOf(text);
  return bytes === undefined || (bytes > 0 && bytes < MIN_RATE) ? undefined : bytes;
}

/** Why a rate text is refused, for the CLI and the config. */
export function rateError(text: string): string {
  return bytesOf(text) === undefined
    ? `'${text}' is not a rate: ${RATE_HELP}`
    : `'${text}' is below the minimum of 1K (1024 bytes per second)`;
}

/** The config's `bwlimit`: a rate string, or an integer of bytes per second. */
export function rate() {
  return v.pipe(
    v.union(
      [v.string(), v.number()],
      (i) => `{key} must be a rate (${RATE_HELP}), got ${typeName(i.input)}`,
    ),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const n = parseRate(String(dataset.value));
      if (n === undefined) {
        addIssue({ message: `{key} = ${rateError(String(dataset.value))}` });
        return NEVER;
      }
      return n;
    }),
  );
}
