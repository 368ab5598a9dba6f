import type { Page } from '../../shared/src/api.js';

/**
 * Every page of a list, following `next` as a client does: `fetch` asks for a page at a cursor
 * (none for the first); `between` runs after each page but the last (rows added or removed there
 * must move no other row across a page boundary). Fails when pages never end.
 */
export async function walkPages<T>(
  fetch: (cursor: string | undefined) => Promise<Page<T>>,
  between: (page: number, last: T) => Promise<void> = async () => {},
  maxPages = 500,
): Promise<T[]> {
  const seen: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const { items, next } = await fetch(cursor);
    seen.push(...items);
    if (next === null) return seen;
    if (items.length === 0) throw new Error(`page ${page} is empty but has a next`);
    cursor = next;
    await between(page, items.at(-1)!);
  }
  throw new Error(`no last page after ${maxPages} pages`);
}

/** What a refused call threw: its code, HTTP status and message (null when it was not refused). */
export function refusalOf(
  promise: Promise<unknown>,
): Promise<{ code?: string; status?: number; message?: string } | null> {
  return promise.then(
    () => null,
    (error: { code?: string; status?: number; message?: string }) => ({
      code: error.code,
      status: error.status,
      message: error.message,
    }),
  );
}
