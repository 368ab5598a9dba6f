import type { DataSource } from 'typeorm';
import { sqlRows } from '../infra/db/sql.js';
import type { AuditEventEntity } from './audit-event.entity.js';

/** An event as written: everything but the id the registry gives it. */
export type NewAuditEvent = Omit<AuditEventEntity, 'id'>;

export interface AuditQuery {
  /** Events at or after this time. */
  since?: Date;
  /** A route parameter's value (a domain, a server's name), a task id, or a value of the summary. */
  target?: string;
  limit: number;
}

const COLUMNS = `id::text AS id, at, token_id AS "tokenId", token_name AS "tokenName", role,
  client_id AS "clientId", method, route, path, target, summary, address, status,
  error_code AS "errorCode", task_id AS "taskId", duration_ms AS "durationMs"`;

/**
 * The audit log. Insert and list only, on purpose: a record of who changed what is only worth
 * something if the API that is audited cannot rewrite it, so nothing in the master updates or
 * deletes an event (pruning old ones, when wanted, is the database operator's job, outside Berth).
 */
export class AuditRepository {
  constructor(private readonly db: DataSource) {}

  async insert(event: NewAuditEvent): Promise<void> {
    await sqlRows(
      this.db,
      `INSERT INTO audit_events (at, token_id, token_name, role, client_id, method, route, path, target,
         summary, address, status, error_code, task_id, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14, $15)`,
      [
        event.at,
        event.tokenId,
        event.tokenName,
        event.role,
        event.clientId,
        event.method,
        event.route,
        event.path,
        JSON.stringify(event.target),
        event.summary === null ? null : JSON.stringify(event.summary),
        event.address,
        event.status,
        event.errorCode,
        event.taskId,
        event.durationMs,
      ],
    );
  }

  /**
   * Newest first. A target matches a value of the route's parameters or of the summary (where a
   * list, such as a cluster's servers, matches any of its items: jsonb's @> on a primitive), or the
   * task id. The scan walks idx_audit_events_at backwards and stops at the limit.
   */
  async list(query: AuditQuery): Promise<AuditEventEntity[]> {
    const rows = await sqlRows<AuditEventEntity>(
      this.db,
      `SELECT ${COLUMNS} FROM audit_events
        WHERE ($1::timestamptz IS NULL OR at >= $1::timestamptz)
          AND ($2::text IS NULL
               OR task_id::text = $2::text
               OR EXISTS (SELECT 1 FROM jsonb_each(target) t WHERE t.value = to_jsonb($2::text))
               OR EXISTS (SELECT 1 FROM jsonb_each(COALESCE(summary, '{}'::jsonb)) s
                           WHERE s.value @> to_jsonb($2::text)))
        ORDER BY at DESC, id DESC
        LIMIT $3`,
      [query.since ?? null, query.target ?? null, query.limit],
    );
    return rows.map((row) => ({
      ...row,
      at: new Date(row.at),
      target: parsedJson(row.target) ?? {},
      summary: parsedJson(row.summary),
    }));
  }
}

/** jsonb comes back parsed from node-postgres; this holds whichever way a driver hands it over. */
function parsedJson<T>(value: T | string | null): T | null {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
