/**
 * File names that are not valid UTF-8. Deno decodes a directory entry's name lossily (each
 * invalid sequence becomes U+FFFD), so the name it hands back belongs to no file (lstat says
 * NotFound) and no Deno API can open the real one; S3 could not store it as a key anyway (keys
 * are UTF-8). Such names are reported with their real bytes escaped, read back with
 * `find -print0` (one process per folder that holds one; never for an ordinary tree).
 */

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a name may start with U+FEFF
const lossy = new TextDecoder("utf-8", { ignoreBOM: true });

/** Length of the UTF-8 sequence a lead byte announces (1 for a byte that starts none). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

/** `bad\xff.txt`: valid UTF-8 kept as text, each byte of an invalid sequence as \xNN. */
export function escapeBytes(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const n = sequenceLength(bytes[i]);
    try {
      out += fatal.decode(bytes.subarray(i, i + n));
      i += n;
    } catch {
      out += `\\x${bytes[i].toString(16).padStart(2, "0")}`;
      i += 1;
    }
  }
  return out;
}

/** A name from readDir that stands for bytes that are not UTF-8: it holds U+FFFD and is no file. */
export function isUndecodable(dirAbs: string, name: string): boolean {
  if (!name.includes("\uFFFD")) return false;
  try {
    Deno.lstatSync(`${dirAbs}/${name}`);
    return false; // a valid name that contains U+FFFD itself
  } catch (err) {
    return err instanceof Deno.errors.NotFound;
  }
}

/**
 * The names in dir that are not valid UTF-8, escaped, under the name Deno hands back for them
 * (two names can share one: `a\xfe` and `a\xff` are both "a\uFFFD"). Empty when `find` cannot
 * tell (missing, not permitted): the caller then shows Deno's name.
 */
export function undecodableNames(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  // An absolute path, or ./ first: never read as an option.
  const arg = dir === "/" ? dir : (dir.startsWith("/") ? dir : `./${dir}`).replace(/\/+$/, "");
  let stdout: Uint8Array;
  try {
    const r = new Deno.Command("find", {
      args: [arg, "-mindepth", "1", "-maxdepth", "1", "-print0"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!r.success) return out;
    stdout = r.stdout;
  } catch {
    return out;
  }
  const prefix = new TextEncoder().encode(arg === "/" ? arg : `${arg}/`).length;
  let start = 0;
  for (let i = 0; i < stdout.length; i++) {
    if (stdout[i] !== 0) continue;
    const name = stdout.subarray(start + prefix, i);
    start = i + 1;
    try {
      fatal.decode(name);
    } catch {
      const seen = lossy.decode(name);
      out.set(seen, [...out.get(seen) ?? [], escapeBytes(name)]);
    }
  }
  return out;
}

/** Deno's name with U+FFFD written out, when the real bytes could not be read back. */
export function shownLossy(name: string): string {
  return name.replaceAll("\uFFFD", "\\ufffd");
}
