/**
 * The documentation names only what exists, and names all of the config: every `s3backup <command>
 * --flag` quoted in the Markdown is a command and flag of the real program (cli/program.ts), and
 * every key of the config schema (lib/config/config.ts) is named in docs/configuration.md.
 */
import assert from "node:assert/strict";
import type * as v from "valibot";
import { buildProgram } from "../cli/program.ts";
import { DOCUMENT } from "../lib/config/config.ts";
import { REPO_ROOT } from "./support/cli.ts";
import { codeSnippets, docFiles } from "./support/markdown.ts";

/** Each command's flags, long and short, as the program defines them. */
function programFlags(): Map<string, Set<string>> {
  const flags = new Map<string, Set<string>>();
  for (const c of buildProgram(() => {}).commands) {
    const set = new Set(["--help", "-h"]);
    for (const o of c.options) for (const f of [o.long, o.short]) if (f) set.add(f);
    flags.set(c.name(), set);
  }
  return flags;
}

/**
 * `s3backup <command> …` invocations in a piece of code: at its start, after sudo, env VAR=…, a
 * shell operator or a bin/ path (not `-u s3backup`, the user, nor `s3backup-linux-x64`).
 */
export function invocations(code: string): { command: string; flags: string[] }[] {
  const out: { command: string; flags: string[] }[] = [];
  const start =
    /(?:^|[;&|(]\s*|\bsudo\s+|\benv\s+(?:\w+=\S+\s+)*|\/bin\/)s3backup\s+([a-z][\w-]*)/g;
  for (const m of code.matchAll(start)) {
    // Up to a comment, a pipe, `;`, `&` or a redirection (`<time>` is a placeholder, kept).
    const rest = code.slice(m.index! + m[0].length).split(/\s#|[|;&]|\s\d?>/)[0];
    const flags = [...rest.matchAll(/(?<![\w/.-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w])/g)]
      .map((f) => f[1]);
    out.push({ command: m[1], flags });
  }
  return out;
}

Deno.test("docs: invocations are found where a command starts, not where the user is named", () => {
  assert.deepEqual(invocations("s3backup restore --to /tmp/d --at <t> --dry-run  # a-b -x"), [
    { command: "restore", flags: ["--to", "--at", "--dry-run"] },
  ]);
  assert.deepEqual(
    invocations("sudo -u s3backup env S3BACKUP_CONFIG=/e/s.toml s3backup run --dry-run"),
    [{ command: "run", flags: ["--dry-run"] }],
  );
  assert.deepEqual(invocations("sudo -u s3backup /usr/local/bin/s3backup status --max-age 26h"), [
    { command: "status", flags: ["--max-age"] },
  ]);
  assert.deepEqual(invocations("sudo -u s3backup pg_dump shop | s3backup verfy -c x"), [
    { command: "verfy", flags: ["-c"] },
  ]);
  assert.deepEqual(invocations("install -o s3backup -g s3backup s3backup-linux-x64 /x"), []);
});

Deno.test("docs: every quoted s3backup command and flag exists", () => {
  const flags = programFlags();
  assert.ok(flags.get("run")?.has("--dry-run"), "the program's flags were read");
  const wrong: string[] = [];
  let seen = 0;
  for (const file of docFiles()) {
    for (const { n, code } of codeSnippets(Deno.readTextFileSync(`${REPO_ROOT}${file}`))) {
      for (const { command, flags: used } of invocations(code)) {
        seen++;
        const known = flags.get(command);
        if (known === undefined) wrong.push(`${file}:${n}: no command '${command}'`);
        else {
          for (const f of used) {
            if (!known.has(f)) wrong.push(`${file}:${n}: '${command}' has no flag ${f}`);
          }
        }
      }
    }
  }
  assert.ok(seen > 50, `only ${seen} invocations found`);
  assert.deepEqual(wrong, []);
});

/** The keys of a valibot schema as dotted paths (tables and arrays of tables descended into). */
function schemaKeys(schema: v.GenericSchema, prefix = ""): string[] {
  // deno-lint-ignore no-explicit-any
  const s = schema as any;
  if (s.type === "optional") return schemaKeys(s.wrapped, prefix);
  if (s.pipe && s.pipe[0] !== s) return schemaKeys(s.pipe[0], prefix);
  if (s.type === "array") return schemaKeys(s.item, prefix);
  if (s.type === "record") return schemaKeys(s.value, `${prefix}<name>.`);
  if (s.entries === undefined) return [];
  return Object.entries(s.entries).flatMap(([key, inner]) => [
    `${prefix}${key}`,
    ...schemaKeys(inner as v.GenericSchema, `${prefix}${key}.`),
  ]);
}

Deno.test("docs: every config key is named in docs/configuration.md", () => {
  const keys = schemaKeys(DOCUMENT as unknown as v.GenericSchema);
  for (const k of ["source", "aws.region", "categories.<name>.bucket", "infra.deny_sse_c"]) {
    assert.ok(keys.includes(k), `the schema walk found ${k}: ${keys}`);
  }
  const doc = Deno.readTextFileSync(`${REPO_ROOT}docs/configuration.md`);
  const named = (k: string) => {
    const last = k.split(".").at(-1)!;
    return doc.includes(`\`${last}\``) || doc.includes(`[${last}]`) || doc.includes(`[${last}.`);
  };
  const missing = keys.filter((k) => !named(k));
  assert.deepEqual(missing, [], "each key is written `like_this` (a table: `[name]`) on the page");
});

Deno.test("docs: every quoted deno task exists in deno.json", () => {
  const tasks = Object.keys(JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}deno.json`)).tasks);
  const wrong: string[] = [];
  for (const file of docFiles()) {
    for (const { n, code } of codeSnippets(Deno.readTextFileSync(`${REPO_ROOT}${file}`))) {
      for (const m of code.matchAll(/\bdeno task ([\w:-]+)/g)) {
        if (!tasks.includes(m[1])) wrong.push(`${file}:${n}: no task '${m[1]}'`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});
