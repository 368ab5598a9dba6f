import type * as api from '../../../shared/src/api.js';
import type { AuditEventEntity } from './audit-event.entity.js';
import { AuditError, AuditErrorCode } from './audit.errors.js';
import type { AuditRepository } from './audit.repository.js';

export interface AuditListFilter {
  since?: string;
  target?: string;
  limit?: string;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** A date, optionally with a time: what `date -Iseconds` and `new Date().toISOString()` print. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Reading the audit log (the AuditTrail middleware writes it). */
export class AuditService {
  constructor(private readonly events: Pick<AuditRepository, 'list'>) {}

  async list(filter: AuditListFilter): Promise<api.AuditEvent[]> {
    const limit = filter.limit === undefined || filter.limit === '' ? DEFAULT_LIMIT : Number(filter.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new AuditError(
        AuditErrorCode.InvalidQuery,
        `limit must be a whole number from 1 to ${MAX_LIMIT}`,
      );
    }
    let since: Date | undefined;
    if (filter.since !== undefined && filter.since !== '') {
      since =
        typeof filter.since === 'string' && ISO_DATE.test(filter.since) ? new Date(filter.since) : undefined;
      if (!since || Number.isNaN(since.getTime())) {
        throw new AuditError(
          AuditErrorCode.InvalidQuery,
          'since must be a date and time in ISO 8601, e.g. 2025-01-31T12:00:00Z',
        );
      }
    }
    if (filter.target !== undefined && typeof filter.target !== 'string') {
      throw new AuditError(AuditErrorCode.InvalidQuery, 'target must be given once');
    }
    const target = filter.target?.trim() || undefined;
    return (await this.events.list({ since, target, limit })).map(view);
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
