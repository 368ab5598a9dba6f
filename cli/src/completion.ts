/**
 * Shell completion generated from the commander command tree, so that it lists exactly the
 * commands and options that exist. Names of sites, platforms, servers and clients are completed by
 * asking the master (`berth completion --names KIND`), quietly and with a short timeout.
 */
import type { Argument, Command, Option } from 'commander';
import { SITE_STATUSES } from '../../shared/src/site-status.js';
import { TASK_STATES, TASK_TYPES } from '../../shared/src/tasks.js';

/** What a value completes to: names from the master, files, directories, fixed words, or nothing. */
export type ValueKind =
  | { kind: 'names'; of: NameKind }
  | { kind: 'file' }
  | { kind: 'dir' }
  | { kind: 'words'; words: string[] }
  | { kind: 'none' };

export const NAME_KINDS = ['site', 'platform', 'server', 'client', 'cluster'] as const;
export type NameKind = (typeof NAME_KINDS)[number];

export interface OptionNode {
  flags: string[];
  description: string;
  value: ValueKind | null;
}

export interface CommandNode {
  /** The words after `berth`, e.g. ["site", "install"]; [] for berth itself. */
  path: string[];
  name: string;
  description: string;
  options: OptionNode[];
  arguments: Array<{ name: string; required: boolean; variadic: boolean; value: ValueKind }>;
  subcommands: CommandNode[];
}

// Options whose values are names of things in the registry, by commander's attribute name.
const OPTION_NAMES: Record<string, NameKind> = {
  platform: 'platform',
  to: 'platform',
  server: 'server',
  dbServer: 'server',
  client: 'client',
  cluster: 'cluster',
};
// Options that check their value themselves (to say what is wrong in their own words) but take
// fixed words, by command path and flag.
const OPTION_WORDS: Record<string, readonly string[]> = {
  'task list --state': TASK_STATES,
  'task list --type': TASK_TYPES,
  'site list --status': SITE_STATUSES,
};
const OPTION_FILES = new Set(['tokenFile', 'nginxConf', 'dbAdminDefaults', 'phpFpmSocket', 'phpFpmConf']);
const OPTION_DIRS = new Set(['dir', 'dataDir', 'root']);

/** The tree of a program as plain data: what the generators below and `completion --json` print. */
export function describeCommandTree(program: Command): CommandNode {
  return describe(program, []);
}

function describe(command: Command, path: string[]): CommandNode {
  const visible = command.commands.filter((sub) => !(sub as Command & { _hidden?: boolean })._hidden);
  return {
    path,
    name: command.name(),
    description: command.description(),
    options: [
      ...command.options.filter((option) => !option.hidden).map((option) => describeOption(option, path)),
      { flags: ['-h', '--help'], description: 'display help for command', value: null },
    ],
    arguments: command.registeredArguments.map((argument) => ({
      name: argument.name(),
      required: argument.required,
      variadic: argument.variadic,
      value: argumentValue(command, path, argument),
    })),
    subcommands: visible.map((sub) => describe(sub, [...path, sub.name()])),
  };
}

function describeOption(option: Option, path: string[]): OptionNode {
  const flags = [option.short, option.long].filter((flag): flag is string => Boolean(flag));
  const takesValue = option.required || option.optional;
  let value: ValueKind | null = null;
  if (takesValue) {
    const attribute = option.attributeName();
    const fixed = OPTION_WORDS[`${path.join(' ')} ${option.long ?? ''}`];
    if (option.argChoices) value = { kind: 'words', words: [...option.argChoices] };
    else if (fixed) value = { kind: 'words', words: [...fixed] };
    // `server drain --to` names a server; every other --to a platform.
    else if (attribute === 'to' && path[0] === 'server') value = { kind: 'names', of: 'server' };
    else if (OPTION_NAMES[attribute]) value = { kind: 'names', of: OPTION_NAMES[attribute] };
    else if (OPTION_FILES.has(attribute)) value = { kind: 'file' };
    else if (OPTION_DIRS.has(attribute)) value = { kind: 'dir' };
    else value = { kind: 'none' };
  }
  return { flags, description: option.description, value };
}

/**
 * What a positional argument completes to. New names (`add`, `install`, a clone's new domain) are
 * never completed; an existing site is `<domain>`, an existing platform or server `<name>` under
 * `platform` or `server`, or `<from>`.
 */
function argumentValue(command: Command, path: string[], argument: Argument): ValueKind {
  if (argument.argChoices) return { kind: 'words', words: [...argument.argChoices] };
  if (command.name() === 'add' || command.name() === 'install') return { kind: 'none' };
  const name = argument.name();
  if (name === 'domain') return { kind: 'names', of: 'site' };
  if (name === 'from') return { kind: 'names', of: 'platform' };
  const group = path[0];
  if (
    name === 'name' &&
    (group === 'platform' || group === 'server' || group === 'client' || group === 'cluster')
  ) {
    return { kind: 'names', of: group };
  }
  if (name === 'cluster') return { kind: 'names', of: 'cluster' };
  if (name === 'server') return { kind: 'names', of: 'server' };
  return { kind: 'none' };
}

function allNodes(node: CommandNode): CommandNode[] {
  return [node, ...node.subcommands.flatMap(allNodes)];
}

/** Words safe to put inside a shell script unquoted: the tree holds only such names and flags. */
function checkWord(word: string): string {
  if (!/^[A-Za-z0-9_.:@=+-]+$/.test(word)) throw new Error(`"${word}" cannot go into a completion script`);
  return word;
}

function words(list: string[]): string {
  return list.map(checkWord).join(' ');
}

const HEADER = (shell: string) =>
  `# berth completion for ${shell}, generated by \`berth completion ${shell}\` from berth's own command tree.\n`;

/**
 * A bash completion function. Data live in `case` statements keyed by the command path (bash 3.2
 * has no associative arrays), the walk over COMP_WORDS skips option values, and names come from
 * `berth completion --names`.
 */
export function bashScript(tree: CommandNode): string {
  const nodes = allNodes(tree);
  const key = (node: CommandNode) => node.path.join(' ');
  // --url and --token work after any subcommand too.
  const globalValueOptions = tree.options.filter((option) => option.value).flatMap((option) => option.flags);
  const lines: string[] = [HEADER('bash').trimEnd()];
  lines.push(
    `_berth_global_options() { echo "${words(globalValueOptions.filter((flag) => flag.startsWith('--')))}"; }`,
  );
  lines.push('_berth_subcommands() {', '  case "$1" in');
  for (const node of nodes) {
    if (node.subcommands.length > 0) {
      lines.push(`    "${key(node)}") echo "${words(node.subcommands.map((sub) => sub.name))}" ;;`);
    }
  }
  lines.push('  esac', '}');
  lines.push('_berth_options() {', '  case "$1" in');
  for (const node of nodes) {
    const flags = node.options.flatMap((option) => option.flags.filter((flag) => flag.startsWith('--')));
    lines.push(`    "${key(node)}") echo "${words(flags)}" ;;`);
  }
  lines.push('  esac', '}');
  // "<path>|<flag>" -> what the flag's value completes to; flags without a value are absent.
  lines.push('_berth_option_value() {', '  case "$1|$2" in');
  for (const node of nodes) {
    for (const option of node.options) {
      if (!option.value) continue;
      for (const flag of option.flags)
        lines.push(`    "${key(node)}|${checkWord(flag)}") ${valueWord(option.value)} ;;`);
    }
  }
  for (const flag of globalValueOptions) lines.push(`    *"|${checkWord(flag)}") echo none ;;`);
  lines.push('    *) return 1 ;;', '  esac', '}');
  // "<path>|<index>" -> what the positional argument at that index completes to.
  lines.push('_berth_argument_value() {', '  case "$1|$2" in');
  for (const node of nodes) {
    node.arguments.forEach((argument, index) => {
      if (argument.value.kind === 'none') return;
      lines.push(`    "${key(node)}|${index}") ${valueWord(argument.value)} ;;`);
    });
  }
  lines.push('    *) echo none ;;', '  esac', '}');
  lines.push(
    // compopt (bash 4) adds the "/" after directories; older shells just go without it.
    '_berth_filenames() { if type compopt >/dev/null 2>&1; then compopt -o filenames 2>/dev/null; fi; }',
    '_berth_complete_value() {',
    '  local what="$1" cur="$2"',
    '  case "$what" in',
    '    names:*) COMPREPLY=($(compgen -W "$(command berth completion --names "${what#names:}" 2>/dev/null)" -- "$cur")) ;;',
    '    words:*) COMPREPLY=($(compgen -W "${what#words:}" -- "$cur")) ;;',
    '    file) _berth_filenames; COMPREPLY=($(compgen -f -- "$cur")) ;;',
    '    dir) _berth_filenames; COMPREPLY=($(compgen -d -- "$cur")) ;;',
    '    *) COMPREPLY=() ;;',
    '  esac',
    '}',
    '_berth() {',
    // Under zsh (bashcompinit) arrays must be 0-based like bash's, for this function only; and no
    // variable may be called "path" (zsh ties it to PATH).
    '  if [[ -n "${ZSH_VERSION-}" ]]; then setopt localoptions ksharrays; fi',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" cmdpath="" word value="" args=0 i subs opts',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    '    if [[ -n "$value" ]]; then value=""; continue; fi',
    '    case "$word" in',
    '      --*=*) ;;',
    '      -*) if _berth_option_value "$cmdpath" "$word" >/dev/null; then value=1; fi ;;',
    '      *)',
    '        subs=" $(_berth_subcommands "$cmdpath") "',
    '        if [[ "$subs" == *" $word "* ]]; then cmdpath="${cmdpath:+$cmdpath }$word"; args=0; else args=$((args + 1)); fi',
    '        ;;',
    '    esac',
    '  done',
    '  if [[ -n "$value" ]]; then',
    '    _berth_complete_value "$(_berth_option_value "$cmdpath" "${COMP_WORDS[COMP_CWORD - 1]}")" "$cur"',
    '    return 0',
    '  fi',
    '  if [[ "$cur" == -* ]]; then',
    '    opts="$(_berth_options "$cmdpath")"',
    '    if [[ -n "$cmdpath" ]]; then opts="$opts $(_berth_global_options)"; fi',
    '    COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
    '    return 0',
    '  fi',
    '  subs="$(_berth_subcommands "$cmdpath")"',
    '  if [[ -n "$subs" ]]; then',
    '    COMPREPLY=($(compgen -W "$subs" -- "$cur"))',
    '    return 0',
    '  fi',
    '  _berth_complete_value "$(_berth_argument_value "$cmdpath" "$args")" "$cur"',
    '}',
    'complete -F _berth berth',
  );
  return lines.join('\n') + '\n';
}

function valueWord(value: ValueKind): string {
  switch (value.kind) {
    case 'names':
      return `echo names:${value.of}`;
    case 'words':
      return `echo "words:${words(value.words)}"`;
    case 'file':
    case 'dir':
    case 'none':
      return `echo ${value.kind}`;
  }
}

/**
 * zsh runs the bash function through bashcompinit, which ships with zsh; the script is sourced from
 * ~/.zshrc after compinit.
 */
export function zshScript(tree: CommandNode): string {
  return [
    HEADER('zsh').trimEnd(),
    'autoload -U +X bashcompinit && bashcompinit',
    bashScript(tree)
      .split('\n')
      .filter((line) => !line.startsWith('# berth completion'))
      .join('\n'),
  ].join('\n');
}

/** Native fish completions: one `complete` line per subcommand, option and argument. */
export function fishScript(tree: CommandNode): string {
  const nodes = allNodes(tree);
  const lines: string[] = [HEADER('fish').trimEnd()];
  // The command path typed so far: the words that are subcommands, in order.
  lines.push(
    'function __berth_path',
    '    set -l path',
    '    for word in (commandline -opc)[2..-1]',
    '        if contains -- $word (__berth_subcommands "$path")',
    '            set path (string trim -- "$path $word")',
    '        end',
    '    end',
    '    printf \'%s\\n\' "$path"',
    'end',
    'function __berth_at',
    // Through a variable: an empty path must compare as "", not as no argument at all.
    '    set -l path (__berth_path)',
    '    test "$path" = "$argv[1]"',
    'end',
    'function __berth_subcommands',
    '    switch "$argv[1]"',
  );
  for (const node of nodes) {
    if (node.subcommands.length === 0) continue;
    lines.push(
      `        case '${node.path.join(' ')}'`,
      `            printf '%s\\n' ${words(node.subcommands.map((sub) => sub.name))}`,
    );
  }
  lines.push('    end', 'end', 'complete -c berth -f');
  for (const node of nodes) {
    const at = `-n '__berth_at "${node.path.join(' ')}"'`;
    for (const sub of node.subcommands) {
      lines.push(`complete -c berth ${at} -a ${checkWord(sub.name)} -d ${fishQuote(sub.description)}`);
    }
    for (const option of node.options) {
      const parts = [`complete -c berth ${at}`];
      for (const flag of option.flags) {
        parts.push(
          flag.startsWith('--') ? `-l ${checkWord(flag.slice(2))}` : `-s ${checkWord(flag.slice(1))}`,
        );
      }
      if (option.value) parts.push(fishValue(option.value));
      parts.push(`-d ${fishQuote(option.description)}`);
      lines.push(parts.join(' '));
    }
    for (const argument of node.arguments) {
      if (argument.value.kind === 'none' || node.subcommands.length > 0) continue;
      lines.push(`complete -c berth ${at} ${fishValue(argument.value)}`);
    }
  }
  return lines.join('\n') + '\n';
}

function fishValue(value: ValueKind): string {
  switch (value.kind) {
    case 'names':
      return `-x -a '(berth completion --names ${value.of} 2>/dev/null)'`;
    case 'words':
      return `-x -a '${words(value.words)}'`;
    case 'file':
      return '-r -F';
    case 'dir':
      return `-x -a '(__fish_complete_directories)'`;
    case 'none':
      return '-x';
  }
}

function fishQuote(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').slice(0, 120);
  return `'${oneLine.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(shell: Shell, tree: CommandNode): string {
  switch (shell) {
    case 'bash':
      return bashScript(tree);
    case 'zsh':
      return zshScript(tree);
    case 'fish':
      return fishScript(tree);
  }
}
