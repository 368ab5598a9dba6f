/**
 * Paged lists (the API's PageQuery, `?limit=&cursor=`, answered with `{ items, next }`): the options
 * every `list` takes, reading one page or, with --all, every page, and the line on stderr that says
 * how to get the next one.
 */
import type { Command } from 'commander';
import type { PageQuery } from '../../shared/src/api.js';
import { CliError, ExitCode } from './errors.js';
import { sanitize } from './output/format.js';
import { MAX_PAGE_LIMIT, pageLimit } from './parsers.js';

export const DEFAULT_PAGE_LIMIT = 100;

export interface PageOptions {
  limit?: number;
  all?: boolean;
  cursor?: string;
}

/** What a list holds, for its help and its hint: { one: 'site', many: 'sites' }. */
export interface ListNoun {
  one: string;
  many: string;
}

/** --limit (checked before any request), --all and --cursor. */
export function addPageOptions(command: Command, noun: ListNoun): Command {
  return command
    .option(
      '--limit <n>',
      `${noun.many} per page, 1-${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT}; with --all ${MAX_PAGE_LIMIT})`,
      pageLimit,
    )
    .option('--all', `every ${noun.one}, page after page`)
    .option('--cursor <cursor>', 'start at this page (the cursor a previous list printed)');
}

/** A page as the master sends it; a master from before paging sends no `next`: the only page. */
interface AnswerPage<T> {
  items: T[];
  next?: string | null;
}

export interface PagesRead<T, P> {
  items: T[];
  /** The cursor of the page after the last one read; null when there is none. */
  next: string | null;
  /** The first page as it came (a backup list's totals). */
  first: P;
}

/** One page (from --cursor, or the first), or with --all that page and every one after it. */
export async function readPages<P extends AnswerPage<unknown>>(
  options: PageOptions,
  fetchPage: (page: PageQuery) => Promise<P>,
): Promise<PagesRead<P['items'][number], P>> {
  const limit = options.limit ?? (options.all ? MAX_PAGE_LIMIT : DEFAULT_PAGE_LIMIT);
  const asked = new Set<string>();
  let cursor = options.cursor;
  const items: P['items'][number][] = [];
  let first: P | undefined;
  for (;;) {
    if (cursor !== undefined) asked.add(cursor);
    const page = await fetchPage(cursor === undefined ? { limit } : { limit, cursor });
    first ??= page;
    items.push(...page.items);
    const next = page.next ?? null;
    if (!options.all || next === null) return { items, next, first };
    // A cursor given twice would page forever; that is the master's bug, not a reason to hang.
    if (asked.has(next)) {
      throw new CliError(
        `the master gave the cursor ${sanitize(next)} a second time; stopped after ${items.length} items`,
        ExitCode.Failed,
      );
    }
    cursor = next;
  }
}

/**
 * On stderr, so that stdout stays the list: there is more, and how to get it. (`ctx` is the command's
 * CliContext; only its stderr is used, so that this file needs nothing of the context's.)
 */
export function hintNextPage(
  ctx: { err(text: string): void },
  noun: ListNoun,
  next: string | null,
  more = '',
): void {
  if (next === null) return;
  ctx.err(
    `More ${noun.many} after these${more}: --all lists every one, or --cursor ${sanitize(next)} the next page.`,
  );
}

/** Whether a list query has a filter (not only paging): "No site matches." rather than "No sites yet". */
export function isFiltered(query: object): boolean {
  return Object.entries(query).some(
    ([key, value]) => key !== 'limit' && key !== 'cursor' && value !== undefined && value !== '',
  );
}

/** Where a list command writes: the command's CliContext (only these of it). */
export interface ListOutput {
  out(text?: string): void;
  err(text: string): void;
  printData(value: unknown): void;
}

/** What a list says when it has no rows: without a filter, and with one (default "No <one> matches."). */
export interface EmptyList {
  none: string;
  matches?: string;
}

/**
 * A list command's rows: one page (or with --all every page), the next page's hint on stderr, then
 * the rows printed as data (--json, --format, --fields) or, when there are none, a line that says
 * so. Returns the rows for the command's own table, or undefined when all is printed.
 */
export async function listRows<T>(
  ctx: ListOutput,
  options: PageOptions & { json?: boolean },
  noun: ListNoun,
  filters: object,
  empty: EmptyList,
  fetchPage: (page: PageQuery) => Promise<AnswerPage<T>>,
): Promise<T[] | undefined> {
  const { items, next } = await readPages(options, fetchPage);
  hintNextPage(ctx, noun, next);
  if (options.json) {
    ctx.printData(items);
    return undefined;
  }
  if (items.length === 0) {
    ctx.out(isFiltered(filters) ? (empty.matches ?? `No ${noun.one} matches.`) : empty.none);
    return undefined;
  }
  return items;
}
