import assert from "node:assert/strict";
import { Argument, Command } from "@commander-js/extra-typings";
import {
  completionScript,
  type ProgramSpec,
  type Shell,
  SHELLS,
  specFromCommander,
} from "./completions.ts";

/** The commands and options of SPEC.md, built the way main.ts builds them (plus completions). */
function specProgram() {
  const program = new Command()
    .name("s3backup")
    .description("Incremental, versioned backups of a server's files to Amazon S3.")
    .version("0.0.0", "-V, --version");
  program.command("run")
    .description("back up new and changed files, then report (stdout and SNS)")
    .option("-c, --config <path>", "config file")
    .option("--dry-run", "decide and report what would be uploaded; change nothing")
    .option("--json", "print the report as one JSON object")
    .option("--no-notify", "do not publish the report to SNS")
    .option("--concurrency <n>", "files uploaded in parallel")
    .option("--checksum", "hash every file instead of trusting size and timestamps");
  program.command("verify")
    .description("list what is stored per category (like `aws s3 ls`), or compare with the disk")
    .option("-c, --config <path>", "config file")
    .option("--category <name>", "only this category")
    .option("--compare", "list missing, changed and extra objects; exit 1 on missing or changed")
    .option("--deep", "with --compare: check content (SHA-256 recorded at upload, ETag)")
    .option("--json", "print JSON");
  program.command("restore")
    .description("restore files as they were at a point in time, from the buckets' versions")
    .option("-c, --config <path>", "config file")
    .requiredOption("--to <dir>", "folder to restore into")
    .option("--at <time>", "ISO 8601 time (default: now)")
    .option("--category <name>", "only this category")
    .option("--prefix <p>", "only paths starting with this")
    .option("--overwrite", "replace files that exist under --to")
    .option("--dry-run", "list what would be restored; write nothing")
    .option("--json", "print JSON");
  program.command("init")
    .description("write a commented starter s3backup.toml (never overwrites)")
    .option("-c, --config <path>", "where to write it (default: ./s3backup.toml)")
    .requiredOption("--bucket-prefix <name>", "buckets become <name>-documents, -photos, ...")
    .option("--source <dir>", "the folder to back up (default: .)");
  program.command("completions")
    .description("print a shell completion script")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS));
  return program;
}

const SPEC_COMMANDS: Record<string, string[]> = {
  run: ["--config", "-c", "--dry-run", "--json", "--no-notify", "--concurrency", "--checksum"],
  verify: ["--config", "-c", "--category", "--compare", "--deep", "--json"],
  restore: [
    "--config",
    "-c",
    "--to",
    "--at",
    "--category",
    "--prefix",
    "--overwrite",
    "--dry-run",
    "--json",
  ],
  init: ["--config", "-c", "--bucket-prefix", "--source"],
  completions: [],
};

const spec: ProgramSpec = specFromCommander(specProgram());

Deno.test("specFromCommander reads commands, options, value kinds and choices", () => {
  assert.equal(spec.name, "s3backup");
  assert.deepEqual(spec.options.map((o) => o.long), ["--version", "--help"]);
  assert.deepEqual(spec.commands.map((c) => c.name), Object.keys(SPEC_COMMANDS));
  const opt = (cmd: string, long: string) =>
    spec.commands.find((c) => c.name === cmd)!.options.find((o) => o.long === long);
  assert.equal(opt("run", "--config")?.value, "file");
  assert.equal(opt("run", "--config")?.short, "-c");
  assert.equal(opt("run", "--dry-run")?.value, undefined);
  assert.equal(opt("run", "--no-notify")?.long, "--no-notify");
  assert.equal(opt("restore", "--to")?.value, "dir");
  assert.equal(opt("init", "--source")?.value, "dir");
  assert.equal(opt("restore", "--at")?.value, "text");
  assert.ok(opt("verify", "--help"), "every command gets --help");
  assert.deepEqual(spec.commands.find((c) => c.name === "completions")?.args, SHELLS);
});

for (const shell of SHELLS) {
  Deno.test(`${shell}: the script names every command and option`, () => {
    const script = completionScript(shell, spec);
    for (const [cmd, opts] of Object.entries(SPEC_COMMANDS)) {
      assert.ok(new RegExp(`\\b${cmd}\\b`).test(script), `${shell} mentions command ${cmd}`);
      for (const o of [...opts, "--help"]) {
        // fish writes `-l dry-run` / `-s c`; bash and zsh write the flag itself.
        const needle = shell === "fish"
          ? o.startsWith("--") ? `-l ${o.slice(2)}` : `-s ${o.slice(1)}`
          : o;
        assert.ok(script.includes(needle), `${shell}: ${cmd} ${o}`);
      }
    }
    for (const s of SHELLS) assert.ok(script.includes(s), `${shell} offers shell ${s}`);
    assert.ok(script.includes(shell === "fish" ? "-l version" : "--version"));
  });
}

async function has(bin: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(bin, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

const available: Record<Shell, boolean> = {
  bash: await has("bash"),
  zsh: await has("zsh"),
  fish: await has("fish"),
};
for (const shell of SHELLS) {
  if (!available[shell]) console.warn(`SKIPPED: ${shell} is not installed; its syntax check`);
}

async function sh(bin: string, args: string[], stdin?: string) {
  const child = new Deno.Command(bin, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { HOME: Deno.makeTempDirSync(), PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function tempScript(shell: Shell): string {
  const path = Deno.makeTempFileSync({ prefix: "s3backup-completion-", suffix: `.${shell}` });
  Deno.writeTextFileSync(path, completionScript(shell, spec));
  return path;
}

Deno.test({
  name: "bash -n accepts the script, and completing works",
  ignore: !available.bash,
  fn: async () => {
    const path = tempScript("bash");
    try {
      const syntax = await sh("bash", ["-n", path]);
      assert.equal(syntax.code, 0, syntax.stderr);
      const complete = (words: string[]) =>
        `source ${path}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); ` +
        `COMP_CWORD=${words.length - 1}; _s3backup; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const cases: [string[], string[]][] = [
        [["s3backup", "re"], ["restore"]],
        [["s3backup", "run", "--d"], ["--dry-run"]],
        [["s3backup", "run", "--no"], ["--no-notify"]],
        [["s3backup", "completions", ""], ["bash", "zsh", "fish"]],
        [["s3backup", "--v"], ["--version"]],
        [["s3backup", "init", "--bucket-prefix", ""], []],
      ];
      for (const [words, want] of cases) {
        const r = await sh("bash", ["--norc", "-c", complete(words)]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.stdout.split("\n").filter((l) => l !== ""), want, words.join(" "));
      }
      // -c completes file names.
      const dir = Deno.makeTempDirSync();
      Deno.writeTextFileSync(`${dir}/s3backup.toml`, "");
      const r = await sh("bash", [
        "--norc",
        "-c",
        complete(["s3backup", "run", "-c", `${dir}/s3b`]),
      ]);
      assert.equal(r.stdout.trim(), `${dir}/s3backup.toml`);
      Deno.removeSync(dir, { recursive: true });
    } finally {
      Deno.removeSync(path);
    }
  },
});

Deno.test({
  name: "zsh -n accepts the script",
  ignore: !available.zsh,
  fn: async () => {
    const path = tempScript("zsh");
    try {
      const r = await sh("zsh", ["-n", path]);
      assert.equal(r.code, 0, r.stderr);
      // Loads under compinit without errors (compdef registers the function).
      const load = await sh("zsh", [
        "-f",
        "-c",
        `autoload -Uz compinit && compinit -u -D && source ${path} && print -r -- $_comps[s3backup]`,
      ]);
      assert.equal(load.code, 0, load.stderr);
      assert.equal(load.stdout.trim(), "_s3backup");
    } finally {
      Deno.removeSync(path);
    }
  },
});

Deno.test({
  name: "fish -n accepts the script, and completing works",
  ignore: !available.fish,
  fn: async () => {
    const path = tempScript("fish");
    try {
      const r = await sh("fish", ["--no-execute", path]);
      assert.equal(r.code, 0, r.stderr);
      const complete = async (line: string) => {
        const out = await sh("fish", [
          "--no-config",
          "-c",
          `source ${path}; complete -C '${line}'`,
        ]);
        assert.equal(out.code, 0, out.stderr);
        return out.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]);
      };
      assert.deepEqual(await complete("s3backup re"), ["restore"]);
      assert.deepEqual((await complete("s3backup completions ")).sort(), ["bash", "fish", "zsh"]);
      assert.ok((await complete("s3backup run --")).includes("--no-notify"));
      assert.ok(!(await complete("s3backup run --")).includes("--to"), "options are per command");
    } finally {
      Deno.removeSync(path);
    }
  },
});
