/**
 * Every relative link of the documentation (README, CONTRIBUTING, SECURITY, docs/, bench/README)
 * leads to a file that exists, and every `#anchor` to a heading of that file: a page moved or a
 * heading renamed breaks the build, not the reader.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { REPO_ROOT } from "./support/cli.ts";
import { anchors, docFiles, links } from "./support/markdown.ts";

/** Broken relative links of the files, as `file:line: target (why)`. */
export function brokenLinks(root: string, files: string[]): string[] {
  const broken: string[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  const headingsOf = (file: string) => {
    if (!anchorsOf.has(file)) anchorsOf.set(file, anchors(Deno.readTextFileSync(join(root, file))));
    return anchorsOf.get(file)!;
  };
  for (const file of files) {
    for (const { n, target } of links(Deno.readTextFileSync(join(root, file)))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
      const [path, anchor] = target.split("#", 2);
      const to = path === "" ? file : normalize(join(dirname(file), decodeURIComponent(path)));
      const where = `${file}:${n}: ${target}`;
      if (to.startsWith("..") || to.startsWith("/")) {
        broken.push(`${where} (outside the repository)`);
        continue;
      }
      let stat: Deno.FileInfo;
      try {
        stat = Deno.statSync(join(root, to));
      } catch {
        broken.push(`${where} (no such file: ${to})`);
        continue;
      }
      if (anchor !== undefined && anchor !== "") {
        if (!stat.isFile || !to.endsWith(".md")) broken.push(`${where} (an anchor into ${to})`);
        else if (!headingsOf(to).has(anchor)) broken.push(`${where} (no heading #${anchor})`);
      }
    }
  }
  return broken;
}

Deno.test("docs: every relative link and anchor resolves", () => {
  const files = docFiles();
  assert.ok(files.includes("README.md") && files.includes("docs/configuration.md"), `${files}`);
  assert.deepEqual(brokenLinks(REPO_ROOT, files), []);
});

Deno.test("docs: the link check finds a missing file, a missing anchor and an escape", () => {
  const root = Deno.makeTempDirSync({ prefix: "s3backup-links-" });
  try {
    Deno.mkdirSync(`${root}/docs`);
    Deno.writeTextFileSync(`${root}/docs/a.md`, "# A page\n\n## `run`: what it prints\n");
    Deno.writeTextFileSync(
      `${root}/README.md`,
      [
        "# Top",
        "[ok](docs/a.md) [ok](docs/a.md#run-what-it-prints) [ok](#top) [web](https://x.y/z)",
        "[gone](docs/b.md) [bad anchor](docs/a.md#nope) [up](../x.md)",
        "`[in code](docs/c.md)`",
        "[ref]: docs/d.md",
        "```",
        "[in a block](docs/e.md)",
        "```",
      ].join("\n"),
    );
    assert.deepEqual(brokenLinks(root, ["README.md", "docs/a.md"]), [
      "README.md:3: docs/b.md (no such file: docs/b.md)",
      "README.md:3: docs/a.md#nope (no heading #nope)",
      "README.md:3: ../x.md (outside the repository)",
      "README.md:5: docs/d.md (no such file: docs/d.md)",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
