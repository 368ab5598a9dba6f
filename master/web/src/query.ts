import {
  keepPreviousData,
  MutationCache,
  QueryCache,
  QueryClient,
  useQuery,
  type QueryKey,
} from '@tanstack/react-query';
import type { Page } from '../../../shared/src/api.js';
import { ApiError, get, session, withQuery } from './api.js';

declare module '@tanstack/react-query' {
  interface Register {
    /** What a change makes stale: every query whose key starts with one of these is refetched. */
    mutationMeta: { invalidates?: readonly QueryKey[] };
  }
}

/**
 * How often a page reads again while it is shown (never while the tab is hidden). Tasks and sites
 * that are changing are read every 3 s; lists that change only when someone changes them, slower.
 */
export const POLL = {
  /** Tasks, a site or a platform in flux, the dashboard. */
  busy: 3_000,
  /** A site's page and lists of sites while nothing in them moves. */
  calm: 10_000,
  /** Platforms, servers, clusters, backups policies: changed by a person, seldom. */
  slow: 15_000,
  /** Clients, projects, the lists behind filter selects. */
  rare: 60_000,
} as const;

/**
 * Query keys, by what they read: a change invalidates a prefix (['sites'] reaches the lists, every
 * site's page and its backups), so that keys are built only here.
 */
export const keys = {
  me: (token: string) => ['me', token] as const,
  overview: ['overview'] as const,
  sites: ['sites'] as const,
  site: (domain: string) => ['sites', 'one', domain] as const,
  tasks: ['tasks'] as const,
  task: (id: string) => ['tasks', 'one', id] as const,
  platforms: ['platforms'] as const,
  servers: ['servers'] as const,
  clusters: ['clusters'] as const,
  clients: ['clients'] as const,
  projects: ['projects'] as const,
  store: ['store'] as const,
  policies: ['backup-policies'] as const,
  audit: ['audit'] as const,
};

/** What a site task (install, backup, migrate, restore, …) makes stale. */
export const SITE_CHANGE: readonly QueryKey[] = [keys.sites, keys.tasks, keys.overview, keys.store];

/** Not worth a retry: the server answered and meant it (bad input, not found, not allowed). */
function final(error: Error): boolean {
  return error instanceof ApiError && error.status < 500;
}

/**
 * The app's one QueryClient. Polling comes from each query's refetchInterval; a refetch that is
 * due while the previous one is still out waits for it (TanStack Query does not start a second
 * fetch of the same query), and nothing polls in a hidden tab. A 401 on anything signs out: the
 * token was revoked or the master forgot it. Every mutation names what it makes stale.
 */
export function createQueryClient(): QueryClient {
  const unauthorized = (error: Error) => {
    if (error instanceof ApiError && error.status === 401) session.signOut();
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError: unauthorized }),
    mutationCache: new MutationCache({
      onError: unauthorized,
      onSuccess: (_data, _variables, _result, mutation, context) =>
        Promise.all(
          (mutation.meta?.invalidates ?? []).map((queryKey) =>
            context.client.invalidateQueries({ queryKey }),
          ),
        ),
    }),
    defaultOptions: {
      queries: {
        refetchIntervalInBackground: false,
        refetchOnWindowFocus: true,
        retry: (failures, error) => !final(error) && failures < 2,
      },
      mutations: { retry: false },
    },
  });
}

/**
 * One page of a list (`{ items, next }`): the previous page stays on screen while the next loads,
 * so that paging and filtering do not flash an empty table.
 */
export function usePage<
  T,
  P extends Record<string, string | number | undefined>,
  Answer extends Page<T> = Page<T>,
>(
  key: QueryKey,
  path: string,
  params: P,
  interval: number | ((page: Answer | undefined) => number | false),
  options: {
    enabled?: boolean;
    /** The query as sent, when it differs from the key's (a relative time made absolute at each read). */
    request?: (params: P) => Record<string, string | number | undefined>;
  } = {},
) {
  return useQuery({
    queryKey: [...key, 'page', path, params],
    queryFn: ({ signal }) => get<Answer>(withQuery(path, options.request?.(params) ?? params), signal),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (typeof interval === 'function' ? interval(query.state.data) : interval),
    enabled: options.enabled ?? true,
  });
}

/** The message of an error for a person (an ApiError carries the API's own). */
export function errorMessage(error: unknown): string | undefined {
  if (error === null || error === undefined) return undefined;
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'something went wrong';
}
