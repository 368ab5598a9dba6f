import { useEffect, useMemo, useSyncExternalStore } from 'react';

/**
 * Routes live in the hash (the master serves one index.html): `#/sites/<domain>`, and a list's
 * search, filters and cursor in the hash's query (`#/sites?q=foo&status=enabled&cursor=…`), so that
 * Back and Forward restore them and a link can be shared. Every change of them is a history entry.
 *
 * A list's earlier cursors (what Previous goes back to) are in the history entry's state, not the
 * URL: cursors are opaque and grow a URL page by page. A shared link to a later page has none, so
 * its Previous goes to the first page.
 */
export interface Route {
  /** The path's segments, decoded: ['sites', 'www.example.org']. */
  path: string[];
  query: URLSearchParams;
}

/** What a history entry carries: each list's earlier cursors, by the name of its cursor parameter. */
interface HistoryState {
  berthPages?: Record<string, string[]>;
}

const ROUTE_CHANGED = 'berth:route';

function parse(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const mark = text.indexOf('?');
  const pathText = mark === -1 ? text : text.slice(0, mark);
  return {
    path: pathText
      .split('/')
      .filter(Boolean)
      .map((part) => decodeURIComponent(part)),
    query: new URLSearchParams(mark === -1 ? '' : text.slice(mark + 1)),
  };
}

function subscribe(listener: () => void): () => void {
  // pushState fires nothing: navigate() announces its own changes.
  for (const event of ['hashchange', 'popstate', ROUTE_CHANGED]) window.addEventListener(event, listener);
  return () => {
    for (const event of ['hashchange', 'popstate', ROUTE_CHANGED])
      window.removeEventListener(event, listener);
  };
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return useMemo(() => parse(hash), [hash]);
}

/** `#/sites/www.example.org?q=x`: segments encoded, empty parameters left out. */
export function href(path: readonly string[], query: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) search.set(name, value);
  const text = search.toString();
  return `#/${path.map((part) => encodeURIComponent(part)).join('/')}${text ? `?${text}` : ''}`;
}

function historyState(): HistoryState {
  const state: unknown = window.history.state;
  return state && typeof state === 'object' ? state : {};
}

/** Goes to a hash route: a new history entry (Back returns), or in place with `replace`. */
export function navigate(to: string, options: { replace?: boolean; state?: HistoryState } = {}): void {
  const url = to.startsWith('#') ? to : `#${to}`;
  if (options.replace) window.history.replaceState(options.state ?? null, '', url);
  else window.history.pushState(options.state ?? null, '', url);
  window.dispatchEvent(new Event(ROUTE_CHANGED));
}

/**
 * Changes some of the current route's query parameters (undefined removes one) in a new history
 * entry; `pages` replaces the earlier cursors of the lists it names.
 */
function updateQuery(
  changes: Record<string, string | undefined>,
  pages: Record<string, string[]> = {},
): void {
  const { path, query } = parse(window.location.hash);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined || value === '') query.delete(name);
    else query.set(name, value);
  }
  const previous = historyState().berthPages ?? {};
  navigate(href(path, Object.fromEntries(query)), { state: { berthPages: { ...previous, ...pages } } });
}

/**
 * A list's search and filters, as the hash's query holds them. Setting them starts the list again
 * at its first page (its cursor parameter is `cursorParam`).
 */
export function useFilters<Name extends string>(
  names: readonly Name[],
  cursorParam = 'cursor',
): { values: Record<Name, string>; set: (changes: Partial<Record<Name, string>>) => void } {
  const { query } = useRoute();
  const values = Object.fromEntries(names.map((name) => [name, query.get(name) ?? ''])) as Record<
    Name,
    string
  >;
  return {
    values,
    set: (changes) =>
      updateQuery(
        { ...(changes as Record<string, string | undefined>), [cursorParam]: undefined },
        {
          [cursorParam]: [],
        },
      ),
  };
}

export interface Pager {
  /** The cursor of the page shown; undefined for the first page. */
  cursor: string | undefined;
  /** 1 for the first page; null when unknown (a shared link to a later page). */
  number: number | null;
  hasPrevious: boolean;
  next: (cursor: string) => void;
  previous: () => void;
}

/**
 * Next and Previous of a paged list whose cursor is the query parameter `param`. Next pushes the
 * shown page's cursor on the entry's stack, Previous pops it.
 */
export function usePager(param = 'cursor'): Pager {
  const { query } = useRoute();
  const cursor = query.get(param) || undefined;
  const stack = historyState().berthPages?.[param] ?? [];
  return {
    cursor,
    number: cursor === undefined ? 1 : stack.length > 0 ? stack.length + 1 : null,
    hasPrevious: cursor !== undefined,
    next: (next) => updateQuery({ [param]: next }, { [param]: [...stack, cursor ?? ''] }),
    previous: () => updateQuery({ [param]: stack.at(-1) || undefined }, { [param]: stack.slice(0, -1) }),
  };
}

/** The tab's title: the page's own words first, "— Berth" last ("example.com — Sites — Berth"). */
export function useTitle(...parts: Array<string | undefined>): void {
  const title = [...parts.filter((part): part is string => Boolean(part)), 'Berth'].join(' — ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}
