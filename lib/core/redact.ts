/**
 * Credentials written into a URL (`http://KEY:SECRET@host`, as some S3-compatible setups are
 * documented) never reach a message: every log line, error and report passes through here.
 */

/** scheme://user:password@ (the password may hold '/', as AWS secret keys do). */
const USER_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s'"<>@/:]*:[^\s'"<>@]*@/gi;
/** http(s)://token@ (a token alone is a secret too); no '/' before the '@', so a path is not. */
const HTTP_USERINFO = /\b(https?:\/\/)[^\s'"<>@/]+@/gi;

/** `text` with the userinfo of every URL in it replaced by `***`. */
export function redactUserinfo(text: string): string {
  if (!text.includes("@")) return text; // the common case, at the cost of one scan
  return text.replace(USER_PASSWORD, "$1***@").replace(HTTP_USERINFO, "$1***@");
}
