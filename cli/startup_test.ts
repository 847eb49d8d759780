/**
 * Start-up (bench/README.md, Start-up): what `s3backup --version`, `--help` and `run` load
 * before they do anything, read from the module graph `deno info --json` resolves. A static
 * import of the AWS SDK, node:sqlite or infra/ code in the wrong place costs every invocation
 * tens of milliseconds; only dynamic `import()` inside a command's action may lead there.
 */
import assert from "node:assert/strict";
import { CommanderError } from "@commander-js/extra-typings";
import { fileURLToPath } from "node:url";
import { isVersionOnly } from "../main.ts";
import { buildProgram } from "./program.ts";
import { exitCodeOf, outcomeOfError } from "./exit_code.ts";
import { VERSION_LINE } from "../lib/core/version.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface GraphJson {
  modules: { specifier: string; dependencies?: Dependency[] }[];
  redirects: Record<string, string>;
}

/** An edge `from → to` of the code graph (type-only imports are erased, so not followed). */
interface Edge {
  from: string;
  to: string;
  dynamic: boolean;
}

function graphOf(entry: string): Edge[] {
  const out = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as GraphJson;
  const edges: Edge[] = [];
  for (const m of graph.modules) {
    for (const d of m.dependencies ?? []) {
      if (!d.code) continue;
      const to = graph.redirects[d.code.specifier] ?? d.code.specifier;
      edges.push({ from: short(m.specifier), to: short(to), dynamic: d.isDynamic ?? false });
    }
  }
  return edges;
}

/** Repository files relative to the root; npm packages without their version. */
function short(specifier: string): string {
  const root = new URL("../", import.meta.url).href;
  if (specifier.startsWith(root)) return specifier.slice(root.length);
  const npm = /^npm:\/?(@?[^@]+)@/.exec(specifier);
  return npm ? `npm:${npm[1]}` : specifier;
}

/** Every module reached from `entry`, through static imports only unless `dynamic`. */
function reached(edges: Edge[], entry: string, dynamic = false): Set<string> {
  const seen = new Set([entry]);
  const todo = [entry];
  while (todo.length > 0) {
    const from = todo.pop()!;
    for (const e of edges) {
      if (e.from !== from || (e.dynamic && !dynamic) || seen.has(e.to)) continue;
      seen.add(e.to);
      todo.push(e.to);
    }
  }
  return seen;
}

const isSdk = (m: string) => m.startsWith("npm:@aws-sdk/") || m.startsWith("npm:@smithy/");
const isInfra = (m: string) => m.startsWith("infra/");

Deno.test("--version loads neither commander nor the SDK nor infra/: main.ts imports almost nothing", () => {
  const loaded = [...reached(graphOf("main.ts"), "main.ts")];
  assert.deepEqual(loaded.filter((m) => m.startsWith("npm:")), [], "no npm package at all");
  assert.deepEqual(loaded.filter((m) => m === "node:sqlite" || isInfra(m)), []);
});

Deno.test("--help and every command's start: the program's static graph has no SDK, SQLite or infra/", () => {
  const loaded = [...reached(graphOf("cli/program.ts"), "cli/program.ts")];
  assert.deepEqual(loaded.filter(isSdk), [], "the AWS SDK only through import() in an action");
  assert.deepEqual(loaded.filter((m) => m === "node:sqlite"), []);
  assert.deepEqual(loaded.filter(isInfra), []);
  assert.ok(loaded.includes("npm:@commander-js/extra-typings"), "the graph was read");
});

Deno.test("run: no infra/ code in its graph, dynamic imports included; SNS only imported when used", () => {
  const edges = graphOf("main.ts");
  // What `s3backup run` loads: main.ts and the program as they start, then the run's imports.
  const run = new Set([
    ...reached(edges, "main.ts"),
    ...reached(edges, "cli/program.ts"),
    ...reached(edges, "cli/run.ts", true),
  ]);
  assert.ok(run.has("npm:@aws-sdk/client-s3"), "the graph was read with its dynamic imports");
  assert.deepEqual([...run].filter(isInfra), []);
  const intoSns = edges.filter((e) => e.to === "lib/adapters/sns.ts" && run.has(e.from));
  assert.ok(intoSns.length > 0);
  assert.deepEqual(intoSns.filter((e) => !e.dynamic), [], "sns.ts (and its SDK client) lazily");
  const snsClient = edges.filter((e) => e.to === "npm:@aws-sdk/client-sns" && run.has(e.from));
  assert.deepEqual(snsClient.map((e) => e.from), ["lib/adapters/sns.ts"]);
});

Deno.test("policy: its infra/ code is imported by its action, not by the program", () => {
  const edges = graphOf("cli/program.ts");
  const intoInfra = edges.filter((e) => isInfra(e.to) && !isInfra(e.from));
  assert.deepEqual(intoInfra.map((e) => `${e.from} ${e.dynamic}`), ["cli/policy.ts true"]);
});

Deno.test("isVersionOnly: --version or -V alone, nothing else", () => {
  const table: [string[], boolean][] = [
    [["--version"], true],
    [["-V"], true],
    [["-V", "-q"], false],
    [["run", "--version"], false],
    [["--versions"], false],
    [[], false],
  ];
  for (const [args, want] of table) assert.equal(isVersionOnly(args), want, args.join(" "));
});

Deno.test("the --version fast path prints what commander prints for it, and exits the same", async () => {
  let commanderOut = "";
  let code: number | undefined;
  const program = buildProgram(() => {});
  program.configureOutput({ writeOut: (s) => (commanderOut += s) });
  try {
    await program.parseAsync(["--version"], { from: "user" });
  } catch (err) {
    assert.ok(err instanceof CommanderError);
    code = exitCodeOf(outcomeOfError(err));
  }
  assert.equal(commanderOut, `${VERSION_LINE}\n`);
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "main.ts", "--version"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(child.stdout), commanderOut);
  assert.equal(new TextDecoder().decode(child.stderr), "");
  assert.equal(child.code, code);
});
