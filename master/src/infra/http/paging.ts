import { isUuid } from '../../../../shared/src/validation.js';
import type { CreatedKey } from '../db/keyset.js';

/**
 * The paging and the filters of the REST lists (PageQuery, Page in shared/src/api.ts), checked one
 * way for all of them. Each check takes the calling feature's InvalidInput error as `invalid`: a bad
 * parameter is that feature's 400, and this file imports no feature.
 */
export type InvalidInput = (message: string) => Error;

/** The most rows a page holds, whatever the list. */
export const MAX_PAGE_LIMIT = 500;

/** `limit`: a whole number from 1 to 500; the list's default when it is not given. */
export function pageLimit(input: unknown, defaultLimit: number, invalid: InvalidInput): number {
  if (input === undefined || input === '') return defaultLimit;
  // Query strings arrive as strings (an array when repeated, which is refused like any other word).
  const limit = typeof input === 'number' ? input : typeof input === 'string' ? Number(input) : Number.NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT)
    throw invalid(`limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`);
  return limit;
}

/**
 * Whether a list's query asks for a page or a filter at all (any of `parameters`, the list's own:
 * another word in the query string asks for nothing). Without any, a list that answered whole before
 * it had pages still does (next: null): its older callers read every row from one answer.
 */
export function asksForPage<Query extends object>(
  query: Query | undefined,
  parameters: ReadonlyArray<keyof Query & string>,
): boolean {
  return parameters.some((name) => {
    const value = query?.[name];
    return value !== undefined && value !== '';
  });
}

/** A text filter: undefined when not given or empty; given twice, or longer than `maxLength`, a 400 naming it. */
export function queryText(
  name: string,
  input: unknown,
  invalid: InvalidInput,
  maxLength = 253,
): string | undefined {
  if (input === undefined || input === '') return undefined;
  if (typeof input !== 'string') throw invalid(`${name} must be given once, as text`);
  if (input.length > maxLength) throw invalid(`${name} is at most ${maxLength} characters`);
  return input;
}

/** A filter that takes one of a few words: undefined when not given or empty, else one of them. */
export function queryChoice<T extends string>(
  name: string,
  input: unknown,
  choices: readonly T[],
  invalid: InvalidInput,
): T | undefined {
  if (input === undefined || input === '') return undefined;
  if (typeof input !== 'string' || !(choices as readonly string[]).includes(input))
    throw invalid(`${name} must be one of ${choices.join(', ')}`);
  return input as T;
}

/** How a list's cursor carries the key of a page's last row, in the list's order, as text. */
export interface CursorKey<Key> {
  parts(key: Key): string[];
  /** The key, or undefined when the parts are not one. */
  key(parts: readonly string[]): Key | undefined;
}

/** A list in name order (sites by domain; platforms, servers, clients by name): the last name. */
export const byName: CursorKey<string> = {
  parts: (name) => [name],
  key: (parts) =>
    parts.length === 1 && parts[0]!.length > 0 && parts[0]!.length <= 253 ? parts[0] : undefined,
};

const EXACT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A newest-first list (tasks, backups): the last row's creation time to the microsecond, and its id. */
export const byCreated: CursorKey<CreatedKey> = {
  parts: (key) => [key.at, key.id],
  key: (parts) => {
    const [at, id] = parts;
    return parts.length === 2 && EXACT_TIMESTAMP.test(at!) && isUuid(id) ? { at: at!, id } : undefined;
  },
};

const BIGINT_MAX = 9223372036854775807n;

/**
 * A newest-first list whose ids are a bigint sequence (the audit log): the last row's time to the
 * microsecond, and its id as decimal text. An id beyond bigint's range is no key (the SQL cast
 * would fail with a 500, not a 400).
 */
export const bySerial: CursorKey<CreatedKey> = {
  parts: (key) => [key.at, key.id],
  key: (parts) => {
    const [at, id] = parts;
    return parts.length === 2 &&
      EXACT_TIMESTAMP.test(at!) &&
      /^[1-9]\d{0,18}$/.test(id!) &&
      BigInt(id!) <= BIGINT_MAX
      ? { at: at!, id: id! }
      : undefined;
  },
};

/**
 * The cursors of one list: base64url of JSON naming the list and the key of the page's last row.
 * Opaque to callers; only the list that gave a cursor takes it back (another list's cursor, or a
 * string this API did not make, is a 400).
 */
export class ListCursor<Key> {
  constructor(
    private readonly list: string,
    private readonly format: CursorKey<Key>,
  ) {}

  encode(key: Key): string {
    return Buffer.from(JSON.stringify([this.list, ...this.format.parts(key)]), 'utf8').toString('base64url');
  }

  /** The key a `cursor` parameter carries; undefined when none was given. */
  decode(input: unknown, invalid: InvalidInput): Key | undefined {
    if (input === undefined || input === '') return undefined;
    const key = typeof input === 'string' ? this.keyOf(input) : undefined;
    if (key === undefined)
      throw invalid('cursor is not one this API gave for this list (the next of a page)');
    return key;
  }

  private keyOf(cursor: string): Key | undefined {
    // Buffer skips characters outside the alphabet: checked first, so that only what encode made decodes.
    if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (!Array.isArray(parsed) || parsed[0] !== this.list) return undefined;
    const parts: unknown[] = parsed.slice(1);
    return parts.every((part): part is string => typeof part === 'string')
      ? this.format.key(parts)
      : undefined;
  }
}
