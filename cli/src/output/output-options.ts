/**
 * --format and --fields on every command that has --json, added in one place (addOutputOptions) so
 * that no command can have one without the others; prepareOutput reads them before the action runs.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import {
  checkFields,
  OUTPUT_FORMATS,
  type ListFields,
  type OutputChoice,
  type OutputFormat,
} from './structured.js';

const FORMAT_HELP =
  'json (the same as --json), yaml, or table: a table whose columns are the JSON keys ' +
  "(default: the command's own output)";
const FIELDS_HELP =
  'only these JSON keys, comma-separated (of each item, for a list): the keys of json and yaml, ' +
  'the columns of a table (--fields alone prints a table)';

const declaredLists = new WeakMap<Command, ListFields>();

/** Adds --format and --fields to every command in the tree that has --json. */
export function addOutputOptions(command: Command): void {
  if (command.options.some((option) => option.long === '--json')) {
    command
      .addOption(new Option('--format <format>', FORMAT_HELP).choices(OUTPUT_FORMATS))
      .addOption(new Option('--fields <keys>', FIELDS_HELP).argParser(fieldList));
  }
  for (const sub of command.commands) addOutputOptions(sub);
}

/**
 * Declares the keys of a list's items: --help lists them, --fields is checked against them before
 * any request, and --format table shows `table` of them unless --fields says otherwise.
 */
export function declareListFields(command: Command, list: ListFields): Command {
  declaredLists.set(command, list);
  return command.addHelpText(
    'after',
    `\nFields (each item's JSON keys, for --fields and the columns of --format table):\n` +
      wrap(list.fields.join(', '), '  ') +
      '\n' +
      wrap(`--format table shows ${list.table.join(', ')} unless --fields says.`, ''),
  );
}

/**
 * What the action command's output options ask for. Any of them means structured output: the
 * command's `json` option is set, so that it goes down the path --json always took (stdout holds
 * the data and nothing else), and CliContext.printData renders it.
 */
export function prepareOutput(command: Command): OutputChoice {
  const options = command.opts<{ json?: boolean; format?: OutputFormat; fields?: string[] }>();
  if (options.json && options.format !== undefined && options.format !== 'json') {
    throw usageError(`--json is --format json: give one of --json and --format ${options.format}`);
  }
  const list = declaredLists.get(command);
  if (options.fields && list) checkFields(options.fields, list.fields);
  const format = options.format ?? (options.json ? 'json' : options.fields ? 'table' : undefined);
  if (format !== undefined) command.setOptionValue('json', true);
  return { format, fields: options.fields, ...(list ? { list } : {}) };
}

/**
 * Whether errors are to be reported as JSON: --json, --format json or --format yaml among the
 * options (not after "--"). Read from argv because commander's own errors come before any hook.
 */
export function structuredErrorsWanted(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  return options.some((arg, index) => {
    if (arg === '--json') return true;
    const format = arg === '--format' ? options[index + 1] : /^--format=(.*)$/.exec(arg)?.[1];
    return format === 'json' || format === 'yaml';
  });
}

/** "a,b" (and repeated --fields): the keys, in order, each once. */
function fieldList(value: string, previous: string[] | undefined): string[] {
  const fields = value
    .split(',')
    .map((field) => field.trim())
    .filter(Boolean);
  if (fields.length === 0) throw new InvalidArgumentError('name at least one field, e.g. --fields id,name.');
  return [...new Set([...(previous ?? []), ...fields])];
}

function wrap(text: string, indent: string, width = 96): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width - indent.length) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}
