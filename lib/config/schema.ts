/**
 * The schema of s3backup.toml (valibot): one place that says every key, its type, its range and
 * its default, and turns what is wrong into one line naming the key (`'aws.region' must be a
 * string, got integer`; `unknown key 'aws.regoin' (allowed: …)`). Rules that relate keys to each
 * other live in config.ts and infra.ts.
 */
import * as v from "valibot";

/** A type name for messages, in TOML's words. */
export function typeName(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "datetime";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "float";
  if (typeof value === "bigint") return "integer";
  return typeof value === "object" && value !== null ? "table" : typeof value;
}

/** Messages name the key as `{key}`; formatIssue puts the quoted dotted path there. */
type Message = (issue: v.BaseIssue<unknown>) => string;

export function str() {
  return v.string((i) => `{key} must be a string, got ${typeName(i.input)}`);
}

export function text() {
  return v.pipe(str(), v.check((s) => s.trim() !== "", "{key} must not be empty"));
}

export function int(min: number, max: number) {
  const range: Message = (i) => `{key} must be between ${min} and ${max}, got ${i.input}`;
  return v.pipe(
    v.number((i) => `{key} must be an integer, got ${typeName(i.input)}`),
    v.integer((i) => `{key} must be an integer, got ${i.input}`),
    v.minValue(min, range),
    v.maxValue(max, range),
  );
}

export function bool() {
  return v.boolean((i) => `{key} must be true or false, got ${typeName(i.input)}`);
}

export function strList() {
  return v.array(str(), (i) => `{key} must be an array of strings, got ${typeName(i.input)}`);
}

export function oneOf<const T extends string>(values: readonly T[]) {
  const choices = `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
  return v.picklist(values, (i) => `{key} must be ${choices}, got '${i.input}'`);
}

export function httpUrl() {
  return v.pipe(
    text(),
    v.check(isHttpUrl, (i) => `{key} = '${i.input}' must be an http:// or https:// URL`),
  );
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "" &&
      !/\s/.test(value);
  } catch {
    return false;
  }
}

/** A TOML table with exactly these keys: an unknown one is named with the allowed ones. */
export function table<const E extends v.ObjectEntries>(entries: E) {
  const allowed = Object.keys(entries).join(", ");
  return v.strictObject(entries, (i) => {
    if (i.expected === "never") return `unknown key {key} (allowed: ${allowed})`;
    if (i.input === undefined && i.expected?.startsWith('"')) return "{key} is missing";
    return `{key} must be a table, got ${typeName(i.input)}`;
  });
}

/** An optional table: absent reads as empty, so its keys take their defaults. */
export function optionalTable<const E extends v.ObjectEntries>(entries: E) {
  // `as never`: the default is an input the table parses, and the output is never undefined.
  return v.optional(table(entries), {} as never);
}

/** The dotted path of an issue (`categories.documents.bucket`, `exclude[1]`). */
export function issuePath(issue: v.BaseIssue<unknown>): string {
  let out = "";
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** One line for an issue: its message with the key named, quoted. */
export function formatIssue(issue: v.BaseIssue<unknown>): string {
  const path = issuePath(issue);
  return issue.message.replaceAll("{key}", `'${path}'`);
}
