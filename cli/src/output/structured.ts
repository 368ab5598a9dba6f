/**
 * Machine-readable output, one implementation for every command: the value a command prints with
 * --json, as JSON, YAML or a table, cut to the keys --fields names. A table's columns are the JSON
 * keys themselves, so what a table shows is what --fields takes. Pure functions; the commander side
 * is output-options.ts.
 */
import { stringify } from 'yaml';
import { usageError } from '../errors.js';
import { renderTable } from './table.js';

export const OUTPUT_FORMATS = ['json', 'yaml', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The keys of a list's items, as a command declares them (listFields), and a table's default columns. */
export interface ListFields {
  /** Every key an item has, in the API's order: what --fields takes. */
  fields: readonly string[];
  /** The columns of --format table without --fields. */
  table: readonly string[];
}

/** What --format, --json and --fields asked for. */
export interface OutputChoice {
  /** undefined: the command's own output (text, or its own table). */
  format: OutputFormat | undefined;
  fields: readonly string[] | undefined;
  /** The command prints a list whose items have these keys. */
  list?: ListFields;
}

/**
 * The keys of `T`, all of them, as the compiler checks: a key the API contract gains must be added
 * here too, so that a list's --help never leaves one out. Written as an object so that the compiler
 * says which key is missing.
 */
export function listFields<T>(
  keys: { [K in keyof T]-?: true },
  table: ReadonlyArray<keyof T & string>,
): ListFields {
  return { fields: Object.keys(keys), table };
}

/** Refuses keys that are not among `available`, listing the ones there are (a usage error, exit 2). */
export function checkFields(fields: readonly string[], available: readonly string[]): void {
  const unknown = fields.filter((field) => !available.includes(field));
  if (unknown.length === 0) return;
  const named = unknown.map((field) => `"${printable(field)}"`).join(', ');
  throw usageError(`--fields: ${unknown.length === 1 ? 'no field' : 'no fields'} ${named} here`, [
    available.length > 0
      ? `The fields are: ${available.join(', ')}`
      : 'This command prints no fields to choose from.',
  ]);
}

/**
 * The value with only `fields`: each item of a list (an item without one of them gets null, so that
 * every item has the same keys), or the one object. `declared` are the keys the command declared
 * for its list items; the keys the items really have count too.
 */
export function pickFields(value: unknown, fields: readonly string[], declared?: readonly string[]): unknown {
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    checkFields(fields, unique([...(declared ?? []), ...items.flatMap(keysOf)]));
    return items.map((item) => (isRecord(item) ? pick(item, fields) : item));
  }
  if (isRecord(value)) {
    checkFields(fields, Object.keys(value));
    return pick(value, fields);
  }
  return checkFields(fields, []);
}

/** The text of structured output: JSON (as --json always printed it), YAML, or a table. */
export function renderOutput(value: unknown, choice: OutputChoice): string {
  const picked = choice.fields ? pickFields(toJsonValue(value), choice.fields, choice.list?.fields) : value;
  const format = choice.format ?? 'json';
  switch (format) {
    case 'json':
      return JSON.stringify(picked, null, 2) + '\n';
    case 'yaml':
      return renderYaml(picked);
    case 'table':
      return renderValueTable(picked, choice.fields ?? choice.list?.table) + '\n';
  }
}

/**
 * One record of a stream (a task's log lines): JSON on one line (NDJSON), or a YAML document of its
 * own. A table needs every row before it can align its columns, so a stream has none.
 */
export function renderRecord(value: unknown, choice: OutputChoice & { format: 'json' | 'yaml' }): string {
  const picked = choice.fields ? pickFields(toJsonValue(value), choice.fields, choice.list?.fields) : value;
  return choice.format === 'json' ? JSON.stringify(picked) + '\n' : '---\n' + renderYaml(picked);
}

/**
 * YAML that every parser reads back as the JSON it came from: strings double-quoted (no "yes",
 * "on", "012" or a date read as something else, in YAML 1.1 or 1.2), keys quoted where either
 * version would misread them, and no line folded.
 */
export function renderYaml(value: unknown): string {
  return stringify(toJsonValue(value), {
    version: '1.1',
    defaultStringType: 'QUOTE_DOUBLE',
    defaultKeyType: 'PLAIN',
    lineWidth: 0,
  });
}

/**
 * A table of the value: a list as a row per item under the given columns (default: every key the
 * items have), one object as FIELD and VALUE rows. The headers are the JSON keys as they are.
 */
export function renderValueTable(value: unknown, columns?: readonly string[]): string {
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    if (!items.every(isRecord))
      return renderTable(
        [{ header: 'VALUE' }],
        items.map((item) => [cellText(item)]),
      );
    const keys = columns ?? unique(items.flatMap(keysOf));
    return renderTable(
      keys.map((key) => ({ header: key })),
      items.map((item) => keys.map((key) => cellText(item[key]))),
    );
  }
  if (isRecord(value)) {
    const keys = columns?.filter((key) => key in value) ?? Object.keys(value);
    return renderTable(
      [{ header: 'FIELD' }, { header: 'VALUE' }],
      keys.map((key) => [key, cellText(value[key])]),
    );
  }
  return cellText(value);
}

/** A JSON value in one table cell: "-" for nothing, a list of words joined by ",", else compact JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) {
    return value.length === 0 ? '-' : value.join(',');
  }
  return JSON.stringify(value);
}

/** What JSON.stringify would print, as a value: what YAML and --fields work on. */
function toJsonValue(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

function pick(item: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((field) => [field, item[field] ?? null]));
}

function keysOf(item: unknown): string[] {
  return isRecord(item) ? Object.keys(item) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, '?');
}
