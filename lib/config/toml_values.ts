/**
 * Typed readers for a parsed TOML table. Each error names the key with its table path
 * (`aws.region`), as the config contract requires.
 */
import { ConfigError } from "../core/errors.ts";

export type Table = Record<string, unknown>;

export function checkKeys(table: Table, allowed: string[], where: string): void {
  for (const key of Object.keys(table)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`unknown key '${where}${key}' (allowed: ${allowed.join(", ")})`);
    }
  }
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "datetime";
  return typeof v === "object" && v !== null ? "table" : typeof v;
}

export function str(t: Table, key: string, where: string): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") {
    throw new ConfigError(`'${where}${key}' must be a string, got ${typeName(v)}`);
  }
  return v;
}

export function nonEmptyStr(t: Table, key: string, where: string): string | undefined {
  const v = str(t, key, where);
  if (v !== undefined && v.trim() === "") {
    throw new ConfigError(`'${where}${key}' must not be empty`);
  }
  return v;
}

export function bool(t: Table, key: string, where: string): boolean | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") {
    throw new ConfigError(`'${where}${key}' must be true or false, got ${typeName(v)}`);
  }
  return v;
}

export function int(
  t: Table,
  key: string,
  where: string,
  min: number,
  max: number,
): number | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new ConfigError(`'${where}${key}' must be an integer, got ${typeName(v)}`);
  }
  if (n < min || n > max) {
    throw new ConfigError(`'${where}${key}' must be between ${min} and ${max}, got ${n}`);
  }
  return n;
}

export function strList(t: Table, key: string, where: string): string[] | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new ConfigError(`'${where}${key}' must be an array of strings`);
  }
  return v as string[];
}

export function table(t: Table, key: string, where: string): Table {
  const v = t[key];
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    throw new ConfigError(`'${where}${key}' must be a table, got ${typeName(v)}`);
  }
  return v as Table;
}
