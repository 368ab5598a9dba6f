import type * as api from '../../../shared/src/api.js';
import { bySerial, ListCursor, pageLimit, queryText } from '../infra/http/paging.js';
import type { AuditEventEntity } from './audit-event.entity.js';
import { AuditError, AuditErrorCode } from './audit.errors.js';
import type { AuditRepository } from './audit.repository.js';

/** The query of the audit log as it comes over HTTP (strings, checked in AuditService.list). */
export type AuditListFilter = { [K in keyof api.AuditListQuery]?: string };

/** Events per page unless asked otherwise (what the log answered with before it had pages). */
const DEFAULT_PAGE = 100;
/** The audit log's cursors: the time (to the microsecond) and id of a page's last event. */
const AUDIT_CURSOR = new ListCursor('audit', bySerial);
const invalidQuery = (message: string) => new AuditError(AuditErrorCode.InvalidQuery, message);
/** A date, optionally with a time: what `date -Iseconds` and `new Date().toISOString()` print. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;
/** The longest value an event keeps (a route parameter's, a summary's): a longer target matches none. */
const MAX_TARGET = 255;

/** Reading the audit log (the AuditTrail middleware writes it). */
export class AuditService {
  constructor(private readonly events: Pick<AuditRepository, 'list'>) {}

  /**
   * A page of the audit log, newest first (`GET /api/audit?limit=&cursor=&since=&target=`). Without
   * a limit, 100 events, as before it had pages (now with `next`). Bad input is a 400 naming it.
   */
  async list(filter: AuditListFilter): Promise<api.Page<api.AuditEvent>> {
    const limit = pageLimit(filter.limit, DEFAULT_PAGE, invalidQuery);
    const after = AUDIT_CURSOR.decode(filter.cursor, invalidQuery);
    let since: Date | undefined;
    if (filter.since !== undefined && filter.since !== '') {
      since =
        typeof filter.since === 'string' && ISO_DATE.test(filter.since) ? new Date(filter.since) : undefined;
      if (!since || Number.isNaN(since.getTime())) {
        throw invalidQuery('since must be a date and time in ISO 8601, e.g. 2025-01-31T12:00:00Z');
      }
    }
    const target = queryText('target', filter.target, invalidQuery, MAX_TARGET)?.trim() || undefined;
    const { events, next } = await this.events.list({ since, target, limit, after });
    return { items: events.map(view), next: next ? AUDIT_CURSOR.encode(next) : null };
  }
}

function view(event: AuditEventEntity): api.AuditEvent {
  return {
    id: event.id,
    at: event.at.toISOString(),
    tokenId: event.tokenId,
    tokenName: event.tokenName,
    role: event.role,
    clientId: event.clientId,
    method: event.method,
    route: event.route,
    path: event.path,
    target: event.target,
    summary: event.summary,
    address: event.address,
    status: event.status,
    errorCode: event.errorCode,
    taskId: event.taskId,
    durationMs: event.durationMs,
  };
}
