/**
 * Shell completion scripts for bash, zsh and fish, generated from a small command spec. main.ts
 * builds the spec from its commander program (specFromCommander), so a new option shows up in
 * the completions without anyone remembering to add it here. Pure: text in, text out.
 */

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = typeof SHELLS[number];

/** What an option's value is: a file, a directory, free text, or one of a list. */
export type ValueKind = "file" | "dir" | "text" | readonly string[];

export interface OptionSpec {
  /** "--config" */
  long: string;
  /** "-c" */
  short?: string;
  description: string;
  /** Absent for a flag that takes no value. */
  value?: ValueKind;
}

export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  /** Choices for the first positional argument (e.g. `completions SHELL`). */
  args?: readonly string[];
}

export interface ProgramSpec {
  name: string;
  /** Options before any command (--help, --version). */
  options: OptionSpec[];
  commands: CommandSpec[];
}

const HELP: OptionSpec = { long: "--help", short: "-h", description: "display help" };

/** The structural slice of a commander Command that specFromCommander reads. */
export interface CommanderLike {
  name(): string;
  description(): string;
  readonly options: readonly {
    flags: string;
    long?: string;
    short?: string;
    description: string;
    required: boolean;
    optional: boolean;
    hidden: boolean;
    argChoices?: string[];
  }[];
  readonly commands: readonly CommanderLike[];
  readonly registeredArguments?: readonly { argChoices?: string[] }[];
}

/** The value kind from the placeholder: <path>/<file> → file, <dir> → dir, choices → list. */
function valueKind(o: CommanderLike["options"][number]): ValueKind | undefined {
  if (!o.required && !o.optional) return undefined;
  if (o.argChoices?.length) return o.argChoices;
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? "";
  if (/^(path|file|config)$/i.test(placeholder)) return "file";
  if (/^(dir|directory|folder)$/i.test(placeholder)) return "dir";
  return "text";
}

function optionsOf(cmd: CommanderLike): OptionSpec[] {
  const out: OptionSpec[] = [];
  for (const o of cmd.options) {
    if (o.hidden || !o.long) continue;
    out.push({ long: o.long, short: o.short, description: o.description, value: valueKind(o) });
  }
  if (!out.some((o) => o.long === HELP.long)) out.push(HELP);
  return out;
}

/** The spec of a commander program: its options, commands, their options and choices. */
export function specFromCommander(program: CommanderLike): ProgramSpec {
  return {
    name: program.name(),
    options: optionsOf(program),
    commands: program.commands.map((c) => ({
      name: c.name(),
      description: c.description(),
      options: optionsOf(c),
      args: c.registeredArguments?.[0]?.argChoices,
    })),
  };
}

/** The script for one shell. */
export function completionScript(shell: Shell, spec: ProgramSpec): string {
  switch (shell) {
    case "bash":
      return bashScript(spec);
    case "zsh":
      return zshScript(spec);
    case "fish":
      return fishScript(spec);
  }
}

/** A shell-safe identifier from the program name (s3backup → _s3backup). */
function fnName(spec: ProgramSpec): string {
  return `_${spec.name.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

function flagsOf(o: OptionSpec): string[] {
  return o.short ? [o.short, o.long] : [o.long];
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}

// ---------------------------------------------------------------- bash

function bashWords(words: readonly string[]): string {
  // Words are option names, command names and choices: no quotes or spaces in them.
  return words.join(" ");
}

function bashValueCase(fn: string, options: OptionSpec[], indent: string): string[] {
  const lines: string[] = [];
  for (const o of options) {
    if (!o.value) continue;
    const pattern = flagsOf(o).join("|");
    let action = ""; // free text: offer nothing
    if (o.value === "file") action = `${fn}_files -f; `;
    else if (o.value === "dir") action = `${fn}_files -d; `;
    else if (o.value !== "text") action = `${fn}_words "${bashWords(o.value)}"; `;
    lines.push(`${indent}${pattern}) ${action}return 0 ;;`);
  }
  return lines;
}

function bashScript(spec: ProgramSpec): string {
  const fn = fnName(spec);
  const names = spec.commands.map((c) => c.name);
  const perCommand: string[] = [];
  for (const c of spec.commands) {
    perCommand.push(`    ${c.name})`);
    const values = bashValueCase(fn, c.options, "        ");
    if (values.length > 0) perCommand.push(`      case "$prev" in`, ...values, `      esac`);
    if (c.args?.length) {
      perCommand.push(
        `      if [[ $cur != -* ]]; then ${fn}_words "${bashWords(c.args)}"; return 0; fi`,
      );
    }
    perCommand.push(`      ${fn}_words "${bashWords(c.options.flatMap(flagsOf))}"`, `      ;;`);
  }
  return `# bash completion for ${spec.name}; generated by \`${spec.name} completions bash\`.
# Install: ${spec.name} completions bash | sudo tee /etc/bash_completion.d/${spec.name}

${fn}_words() {
  local IFS=$'\\n'
  # shellcheck disable=SC2207
  COMPREPLY=($(IFS=' ' compgen -W "$1" -- "$cur"))
}

${fn}_files() {
  local IFS=$'\\n'
  compopt -o filenames 2>/dev/null
  # shellcheck disable=SC2207
  COMPREPLY=($(compgen "$1" -- "$cur"))
}

${fn}() {
  local cur prev cmd="" i
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${names.join("|")}) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$cmd" in
    "")
      if [[ $cur == -* ]]; then
        ${fn}_words "${bashWords(spec.options.flatMap(flagsOf))}"
      else
        ${fn}_words "${bashWords(names)}"
      fi
      ;;
${perCommand.join("\n")}
  esac
  return 0
}

complete -F ${fn} ${spec.name}
`;
}

// ---------------------------------------------------------------- zsh

/** Text inside a single-quoted zsh word. */
function zshQuoted(s: string): string {
  return firstLine(s).replace(/'/g, `'\\''`);
}

/** Text inside a single-quoted zsh word, inside an _arguments [description]. */
function zshDesc(s: string): string {
  return zshQuoted(s.replace(/([[\]:\\])/g, "\\$1"));
}

function zshAction(v: ValueKind): string {
  if (v === "file") return "_files";
  if (v === "dir") return "_files -/";
  if (typeof v === "string") return " ";
  return `(${v.join(" ")})`;
}

function zshOptionSpecs(options: OptionSpec[]): string[] {
  return options.map((o) => {
    const flags = flagsOf(o);
    const exclusive = o.long === "--help" || o.long === "--version"
      ? "(- *)"
      : `(${flags.join(" ")})`;
    const names = flags.length > 1 ? `{${flags.join(",")}}` : flags[0];
    const value = o.value ? `:${o.long.replace(/^--/, "")}:${zshAction(o.value)}` : "";
    return `'${exclusive}'${names}'[${zshDesc(o.description)}]${value}'`;
  });
}

function zshScript(spec: ProgramSpec): string {
  const fn = fnName(spec);
  const cont = " \\\n";
  const commandItems = spec.commands.map(
    (c) => `        '${c.name}:${zshQuoted(c.description).replace(/:/g, "\\:")}'`,
  );
  const perCommand = spec.commands.map((c) => {
    const specs = zshOptionSpecs(c.options);
    if (c.args?.length) specs.push(`'1:${c.name} argument:(${c.args.join(" ")})'`);
    return `        ${c.name})\n          _arguments -s${cont}${
      specs.map((s) => `            ${s}`).join(cont)
    }\n          ;;`;
  });
  return `#compdef ${spec.name}
# zsh completion for ${spec.name}; generated by \`${spec.name} completions zsh\`.
# Install: ${spec.name} completions zsh > "\${fpath[1]}/_${spec.name}"  (then: compinit)

${fn}() {
  local curcontext="$curcontext" state line ret=1
  typeset -A opt_args
  _arguments -C -s${cont}${
    zshOptionSpecs(spec.options).map((s) => `    ${s}`).join(cont)
  }${cont}    '1: :->command'${cont}    '*:: :->args' && ret=0
  case $state in
    command)
      local -a commands
      commands=(
${commandItems.join("\n")}
      )
      _describe -t commands '${spec.name} command' commands && ret=0
      ;;
    args)
      case $words[1] in
${perCommand.join("\n")}
      esac
      ret=0
      ;;
  esac
  return ret
}

if [[ $zsh_eval_context[-1] == loadautoload ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${spec.name}
fi
`;
}

// ---------------------------------------------------------------- fish

function fishQuote(s: string): string {
  return `'${firstLine(s).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function fishOption(prog: string, condition: string, o: OptionSpec): string {
  const parts = [`complete -c ${prog} -n ${fishQuote(condition)}`];
  if (o.short) parts.push(`-s ${o.short.replace(/^-/, "")}`);
  parts.push(`-l ${o.long.replace(/^--/, "")}`);
  if (o.value === "file") parts.push("-r -F");
  else if (o.value === "dir") parts.push(`-r -x -a '(__fish_complete_directories)'`);
  else if (o.value === "text") parts.push("-x");
  else if (o.value) parts.push(`-x -a ${fishQuote(o.value.join(" "))}`);
  parts.push(`-d ${fishQuote(o.description)}`);
  return parts.join(" ");
}

function fishScript(spec: ProgramSpec): string {
  const p = spec.name;
  const lines = [
    `# fish completion for ${p}; generated by \`${p} completions fish\`.`,
    `# Install: ${p} completions fish > ~/.config/fish/completions/${p}.fish`,
    "",
    `complete -c ${p} -f`,
  ];
  for (const o of spec.options) lines.push(fishOption(p, "__fish_use_subcommand", o));
  for (const c of spec.commands) {
    lines.push(
      `complete -c ${p} -n __fish_use_subcommand -a ${c.name} -d ${fishQuote(c.description)}`,
    );
  }
  for (const c of spec.commands) {
    lines.push("");
    const cond = `__fish_seen_subcommand_from ${c.name}`;
    for (const o of c.options) lines.push(fishOption(p, cond, o));
    if (c.args?.length) {
      lines.push(`complete -c ${p} -n ${fishQuote(cond)} -a ${fishQuote(c.args.join(" "))}`);
    }
  }
  return lines.join("\n") + "\n";
}
