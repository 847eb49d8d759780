/**
 * Reading the project's Markdown for the documentation tests: which files, their headings as
 * GitHub turns them into anchors, their links, and the code they quote.
 */
import { REPO_ROOT } from "./cli.ts";

/** The user and contributor documentation, relative to the repository root. */
export function docFiles(): string[] {
  const files = ["README.md", "CONTRIBUTING.md", "SECURITY.md", "bench/README.md"];
  for (const e of Deno.readDirSync(`${REPO_ROOT}docs`)) {
    if (e.isFile && e.name.endsWith(".md")) files.push(`docs/${e.name}`);
  }
  return files.sort();
}

/** A line of a file, and whether it sits inside a fenced code block. */
export interface MdLine {
  n: number;
  text: string;
  fenced: boolean;
}

export function mdLines(text: string): MdLine[] {
  let fence: string | undefined;
  return text.split("\n").map((line, i) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m && (fence === undefined || m[1].startsWith(fence))) {
      fence = fence === undefined ? m[1] : undefined;
      return { n: i + 1, text: line, fenced: true };
    }
    return { n: i + 1, text: line, fenced: fence !== undefined };
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a file's headings, duplicates numbered as GitHub does (`x`, `x-1`, …). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const l of mdLines(text)) {
    const m = !l.fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l.text);
    if (!m) continue;
    const base = slug(m[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** A line's text without its inline code spans (links inside code are not links). */
function withoutCode(line: string): string {
  return line.replace(/(`+)[^`]*?\1/g, "");
}

/** Every link target of a file outside code: inline links, images and reference definitions. */
export function links(text: string): { n: number; target: string }[] {
  const out: { n: number; target: string }[] = [];
  for (const l of mdLines(text)) {
    if (l.fenced) continue;
    const line = withoutCode(l.text);
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ n: l.n, target: m[1] });
    }
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/.exec(line);
    if (def) out.push({ n: l.n, target: def[1] });
  }
  return out;
}

/** The code a file quotes: each line of a fenced block and each inline code span. */
export function codeSnippets(text: string): { n: number; code: string }[] {
  const out: { n: number; code: string }[] = [];
  for (const l of mdLines(text)) {
    if (l.fenced) {
      if (!/^\s*(`{3,}|~{3,})/.test(l.text)) out.push({ n: l.n, code: l.text });
      continue;
    }
    for (const m of l.text.matchAll(/(`+)([^`]+?)\1/g)) out.push({ n: l.n, code: m[2] });
  }
  return out;
}
