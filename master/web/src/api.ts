/**
 * The UI's session and REST calls. The answers' shapes are in shared/src/api.ts, the contract the
 * master is compiled against; the pages import them from there.
 */

const TOKEN_KEY = 'berth.token';
const sessionListeners = new Set<() => void>();

/**
 * The token lives in this tab's sessionStorage only: closing the tab signs out. The app subscribes
 * to it, so that a sign-out from anywhere (a 401 on any request) shows the sign-in form.
 */
export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string): void => {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionListeners.forEach((listener) => listener());
  },
  signOut: (): void => {
    if (sessionStorage.getItem(TOKEN_KEY) === null) return;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionListeners.forEach((listener) => listener());
  },
  subscribe: (listener: () => void): (() => void) => {
    sessionListeners.add(listener);
    return () => sessionListeners.delete(listener);
  },
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function authHeaders(token = session.token()): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** One REST call with the session's token (or `token`); an error answer becomes an ApiError with its message. */
export async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: { body?: unknown; token?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const { body, token, signal } = options;
  const response = await fetch(path, {
    method,
    headers: {
      ...authHeaders(token),
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const message =
      parsed && typeof parsed === 'object' && 'message' in parsed
        ? String(parsed.message)
        : response.statusText;
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}

/** A GET; queries pass their AbortSignal so that a cancelled refetch stops its request. */
export function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  return request<T>('GET', path, { signal });
}

/** A change: POST, PUT or DELETE with a JSON body. */
export function send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return request<T>(method, path, { body: body ?? (method === 'DELETE' ? undefined : {}) });
}

/**
 * A path with a query: parameters that are undefined or empty are left out, so that a list's URL is
 * the same whether a filter is unset or cleared.
 */
export function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const encode = encodeURIComponent;
