/** Test helpers: assertions on node:assert (no JSR here, so no @std/assert), synth in a temp folder. */
import nodeAssert from "node:assert/strict";
import { join } from "node:path";
import { type Config, parseConfigText } from "../lib/config/config.ts";
import { synthesize } from "./synth.ts";

export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

export function assertEquals<T>(actual: unknown, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  nodeAssert.match(actual, re, msg);
}

export function assertThrows(
  fn: () => unknown,
  cls: new (...args: never[]) => Error,
  includes: string,
) {
  nodeAssert.throws(fn, (err: unknown) => {
    nodeAssert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
    nodeAssert.ok(
      (err as Error).message.includes(includes),
      `'${(err as Error).message}' lacks '${includes}'`,
    );
    return true;
  });
}

/** A three-bucket config the infra tests extend with TOML of their own. */
export const BASE_TOML = `
source = "./data"
[aws]
region = "eu-south-1"
[categories.documents]
bucket = "acme-backup-documents"
extensions = [".pdf", ".txt"]
[categories.photos]
bucket = "acme-backup-photos"
extensions = [".jpg", ".png"]
[categories.database]
bucket = "acme-backup-database"
extensions = [".sql"]
`;

// deno-lint-ignore no-explicit-any
export type Json = any;

/** All temp folders of a test module live under one root, removed when the module unloads. */
const TMP = Deno.makeTempDirSync({ prefix: "s3backup-infra-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(TMP, { recursive: true }));
export const tempDir = (prefix: string) => Deno.makeTempDirSync({ dir: TMP, prefix });

/** Synthesizes a config (BASE_TOML plus extra TOML, or a whole document) into a temp folder. */
export function synthToml(
  toml: string,
  opts: { whole?: boolean } = {},
): { tf: Json; outdir: string; config: Config } {
  const outdir = tempDir("synth-");
  const config = parseConfigText(
    opts.whole ? toml : BASE_TOML + toml,
    join(outdir, "s3backup.toml"),
  );
  const { file } = synthesize(config, { outdir, statePath: join(outdir, "state", "tf.tfstate") });
  return { tf: JSON.parse(Deno.readTextFileSync(file)), outdir, config };
}

export function resources(tf: Json, type: string): Record<string, Json> {
  return tf.resource?.[type] ?? {};
}

/** The one resource of a type configuring bucket resource `key` (referenced by its id). */
export function forBucket(tf: Json, type: string, key: string): Json {
  const ref = `\${aws_s3_bucket.${key}.id}`;
  const found = Object.values(resources(tf, type)).filter((r: Json) => r.bucket === ref);
  assertEquals(found.length, 1, `${type} for bucket ${key}: found ${found.length}`);
  return found[0];
}

export const sorted = (xs: Iterable<string>) => [...xs].sort();
