import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { isUuid } from '../../../shared/src/validation.js';
import type { AuthenticatedRequest } from '../auth/auth.guard.js';
import type { NewAuditEvent } from './audit.repository.js';

/** Where events go; the registry's AuditRepository, or a stand-in in tests. */
export interface AuditSink {
  insert(event: NewAuditEvent): Promise<void>;
}

/**
 * The fields of a query or body that go into an event's summary: names of things and switches that
 * say what was asked for. Anything else is left out — a body may hold a password, a key or a
 * webhook secret, and a field added to a route later is not recorded until someone adds it here.
 */
const SUMMARY_FIELDS: ReadonlySet<string> = new Set([
  'domain',
  'name',
  'platform',
  'server',
  'servers',
  'cluster',
  'client',
  'dbServer',
  'to',
  'profile',
  'type',
  'backupId',
  'withoutHeads',
  'path',
  'slots',
  'force',
  'redirect',
  'concurrency',
  'schedule',
  'keepLast',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'everyMinutes',
]);
const MAX_TEXT = 255;
const MAX_LIST = 20;
const MAX_PATH = 2048;

/** Only changes are audited; reads (GET, HEAD, OPTIONS) are not. */
export function isAudited(method: string, path: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method) && (path === '/api' || path.startsWith('/api/'));
}

/** The allow-listed fields of the query and the body (the body wins); null when there are none. */
export function requestSummary(query: unknown, body: unknown): Record<string, unknown> | null {
  const summary: Record<string, unknown> = {};
  for (const source of [query, body]) {
    if (!isRecord(source)) continue;
    for (const [key, value] of Object.entries(source)) {
      if (!SUMMARY_FIELDS.has(key)) continue;
      const kept = summaryValue(value);
      if (kept !== undefined) summary[key] = kept;
    }
  }
  return Object.keys(summary).length > 0 ? summary : null;
}

function summaryValue(value: unknown): unknown {
  if (typeof value === 'string') return value.slice(0, MAX_TEXT);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return value.slice(0, MAX_LIST).map((item: string) => item.slice(0, MAX_TEXT));
  }
  return undefined;
}

/** What an event keeps of an answer: the id of the task it created, the code of its error. */
export interface AnswerFacts {
  taskId: string | null;
  errorCode: string | null;
}

/**
 * The task an answer is (a task has `id` and `type`) or holds as `task` (a site install's
 * { site, task }), and the `code` of an error answer. Nothing else of the answer is kept: a token
 * issue's answer is the token.
 */
export function answerFacts(status: number, body: unknown): AnswerFacts {
  if (status >= 400) {
    const code = isRecord(body) && typeof body.code === 'string' ? body.code.slice(0, 64) : null;
    return { taskId: null, errorCode: code };
  }
  const task = asTask(body) ?? (isRecord(body) ? asTask(body.task) : null);
  return { taskId: task, errorCode: null };
}

function asTask(value: unknown): string | null {
  return isRecord(value) && isUuid(value.id) && typeof value.type === 'string' ? value.id : null;
}

/** The socket's peer, with IPv4 shown as such rather than as an IPv4-mapped IPv6 address. */
export function peerAddress(remoteAddress: string | undefined): string | null {
  if (!remoteAddress) return null;
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.')
    ? remoteAddress.slice('::ffff:'.length)
    : remoteAddress;
}

/**
 * Records every change asked of the REST API, as an Express middleware in front of Nest's routes:
 * it sees what a Nest interceptor would not — requests the auth guard refused (401, 403) and paths
 * no route matched. The event is written once the answer is sent (or the caller went away), without
 * the request waiting for it; a failed write is logged, never turned into a failed request.
 *
 * The address is the socket's peer. X-Forwarded-For is not read: anyone can send it, and behind a
 * reverse proxy the peer is the proxy (which should log the client's address itself).
 */
export class AuditTrail {
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly sink: AuditSink,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  middleware(): RequestHandler {
    return (request: Request, response: Response, next: NextFunction) => {
      const path = request.originalUrl.split('?')[0] ?? '/';
      if (!isAudited(request.method, path)) return next();
      const startedAt = this.clock();
      let answer: AnswerFacts = { taskId: null, errorCode: null };
      // Nest sends every JSON answer (and the exception filter every error) through res.json: read
      // the two facts there and keep no reference to the body.
      const json = response.json.bind(response);
      response.json = ((body: unknown) => {
        answer = answerFacts(response.statusCode, body);
        return json(body);
      }) as Response['json'];
      response.once('close', () => {
        const principal = (request as Partial<AuthenticatedRequest>).principal;
        const route = (request.route as { path?: unknown } | undefined)?.path;
        this.record({
          at: new Date(startedAt),
          tokenId: principal?.tokenId ?? null,
          tokenName: principal?.name ?? null,
          role: principal?.role ?? null,
          clientId: principal?.clientId ?? null,
          method: request.method.slice(0, 8),
          route: typeof route === 'string' ? route.slice(0, MAX_TEXT) : null,
          path: path.slice(0, MAX_PATH),
          target: routeParams(request.params),
          summary: requestSummary(request.query, request.body),
          address: peerAddress(request.socket.remoteAddress),
          status: response.writableFinished ? response.statusCode : null,
          errorCode: answer.errorCode,
          taskId: answer.taskId,
          durationMs: Math.max(0, Math.round(this.clock() - startedAt)),
        });
      });
      next();
    };
  }

  /** Writes the event in the background; the master's stop waits for the writes (flush). */
  record(event: NewAuditEvent): void {
    const write = this.sink
      .insert(event)
      .catch((error: unknown) =>
        this.logger.error(
          { err: error, method: event.method, path: event.path, status: event.status },
          'writing an audit event failed; the request it records was not affected',
        ),
      )
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  /** Waits for the events still being written. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes]);
  }
}

function routeParams(params: unknown): Record<string, string> {
  const target: Record<string, string> = {};
  if (!isRecord(params)) return target;
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string') target[key.slice(0, 64)] = value.slice(0, MAX_TEXT);
  }
  return target;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
