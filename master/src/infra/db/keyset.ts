/**
 * SQL pieces of keyset paging (a page starts after the last row of the previous one, in a stable
 * order, never at an offset): the lists of the REST API share them.
 */

/** Where a newest-first page ended: its last row's creation time, to the microsecond, and its id. */
export interface CreatedKey {
  /** ISO 8601 in UTC with six decimals, as exactTimestamp writes it. */
  at: string;
  id: string;
}

/**
 * A timestamptz column as ISO 8601 text in UTC to the microsecond. PostgreSQL keeps microseconds and
 * a JS Date only milliseconds: a cursor read through a Date would sit up to a millisecond off the row,
 * and the rows created within that millisecond would be skipped or shown twice. The text goes back
 * into SQL unchanged (`CAST(:at AS timestamptz)`).
 */
export function exactTimestamp(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/**
 * An ILIKE pattern for "contains `text`", the text taken literally: its %, _ and \ are escaped, not
 * wildcards. Use with `ESCAPE '\'`.
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/** The rows of a page read with one row more than the limit: that row only says a next page exists. */
export function splitPage<T>(rows: readonly T[], limit: number): { rows: T[]; more: boolean } {
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}
