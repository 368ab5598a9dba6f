import type { SiteAction } from '../../../shared/src/site-actions.js';
import type { TaskState } from '../../../shared/src/tasks.js';

/** The shapes of the REST API's answers that the UI reads (see /api/docs). */

export interface WhoAmI {
  name: string;
  role: 'admin' | 'client';
  client: string | null;
}

export interface Server {
  id: string;
  name: string;
  slots: number;
  slotsBusy: number;
  connected: boolean;
  services: Array<{ kind: string; name?: string; version?: string }>;
  agentVersion: string | null;
  lastSeenAt: string | null;
}

export interface Platform {
  id: string;
  name: string;
  serverName: string;
  path: string;
  coreVersion: string | null;
  status: string;
  locked: boolean;
  verifiedAt: string | null;
}

export interface Package {
  name: string;
  type: string;
  version: string | null;
  schemaVersion: number;
  title?: string | null;
}

export interface Site {
  id: string;
  domain: string;
  status: string;
  platform: string;
  client: string | null;
  dbServer: string;
  profile: string;
  url: string;
  verifiedAt: string | null;
  createdAt: string;
  actions: SiteAction[];
}

export interface Backup {
  id: string;
  domain: string;
  reason: string;
  createdAt: string;
  /** What the archive holds (shared/src/steps.ts SiteArchiveManifest) and where it came from. */
  manifest: {
    archive?: { bytes: number; sha256: string };
    platform?: { name: string; coreVersion: string | null };
  };
}

export interface TaskPhase {
  name: string;
  startedAt: string;
  endedAt: string | null;
}

export interface TaskProgress {
  stepName: string;
  phase: string;
  done: number;
  total: number;
  unit: string;
}

export interface Task {
  id: string;
  type: string;
  state: TaskState;
  targetKind: string;
  targetName: string;
  result: Record<string, unknown> | null;
  error: string | null;
  phases: TaskPhase[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: TaskProgress | null;
  steps?: Array<{ id: string; seq: number; name: string; serverName: string; state: string }>;
}

export interface LogLine {
  id: string;
  at: string;
  stream: string;
  text: string;
  stepId: string | null;
}

export interface CompatibilityRow {
  name: string;
  type: string;
  siteVersion: string | null;
  targetVersion: string | null;
  siteSchema: number;
  targetSchema: number | null;
  status: string;
  severity: 'ok' | 'warning' | 'error';
  message: string;
}

export interface CompatibilityReport {
  platform: string;
  rows: CompatibilityRow[];
  errors: number;
  warnings: number;
  upgrades: number;
}

const TOKEN_KEY = 'berth.token';

/** The token lives in this tab's sessionStorage only: closing the tab signs out. */
export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
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

/** One REST call with the session's token; an error answer becomes an ApiError with its message. */
export async function api<T>(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      ...authHeaders(token),
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
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

export const encode = encodeURIComponent;
