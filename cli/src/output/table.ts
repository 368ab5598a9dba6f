import { sanitize } from './format.js';

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/**
 * An aligned plain-text table: a header row, then one row per item, columns separated by two
 * spaces, the last column not padded (no trailing blanks). Cells are sanitised and kept on one line.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => columns.map((_, index) => oneLine(row[index] ?? '')));
  const widths = columns.map((column, index) =>
    Math.max(displayWidth(column.header), ...cells.map((row) => displayWidth(row[index] ?? ''))),
  );
  const render = (row: readonly string[]): string =>
    row
      .map((cell, index) => {
        const width = widths[index] ?? 0;
        const isLast = index === row.length - 1;
        if (columns[index]?.align === 'right') return padStart(cell, width);
        return isLast ? cell : padEnd(cell, width);
      })
      .join('  ')
      .trimEnd();
  return [render(columns.map((column) => column.header)), ...cells.map((row) => render(row))].join('\n');
}

/** "key: value" lines with the values aligned, for `show` commands. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...fields.map(([key]) => displayWidth(key) + 1));
  return fields.map(([key, value]) => `${padEnd(`${key}:`, width)}  ${oneLine(value)}`.trimEnd()).join('\n');
}

function oneLine(text: string): string {
  return sanitize(text.replace(/\s*\n\s*/g, ' '));
}

/** Code points, not UTF-16 units, so that "…" or "é" count as one column. */
export function displayWidth(text: string): number {
  return [...text].length;
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

function padStart(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text))) + text;
}

export function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}
