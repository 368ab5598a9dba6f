import { expect } from 'vitest';
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

/**
 * What a walk through a list's pages must have shown while rows were added between pages: each row
 * once, in the list's order (`ordered`: every row's id in that order, read after the walk), every
 * row in `expected` (there before, or added behind the cursor) and none of `notExpected` (added in
 * front of it).
 */
export function expectWalked(
  seenIds: readonly string[],
  ordered: readonly string[],
  expected: readonly string[],
  notExpected: readonly string[],
): void {
  expect(new Set(seenIds).size).toBe(seenIds.length);
  const position = new Map(ordered.map((id, index) => [id, index]));
  const positions = seenIds.map((id) => position.get(id)!);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
  expect(seenIds).toEqual(expect.arrayContaining([...expected]));
  for (const id of notExpected) expect(seenIds).not.toContain(id);
  expect(seenIds).toHaveLength(expected.length);
}
