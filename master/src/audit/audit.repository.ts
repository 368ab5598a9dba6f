import type { DataSource } from 'typeorm';
import { exactTimestamp, splitPage, type CreatedKey } from '../infra/db/keyset.js';
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
  /** The key of the previous page's last event: the events after it (older, or older ids of its time). */
  after?: CreatedKey;
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
   * A page of events, newest first by (at, id), and the key of its last event when more follow. A
   * target matches a value of the route's parameters or of the summary (where a list, such as a
   * cluster's servers, matches any of its items: jsonb's @> on a primitive), or the task id. The scan
   * walks idx_audit_events_at (at, id) backwards from the cursor and stops one row after the limit.
   */
  async list(query: AuditQuery): Promise<{ events: AuditEventEntity[]; next: CreatedKey | null }> {
    const where = [
      `($1::timestamptz IS NULL OR at >= $1::timestamptz)`,
      `($2::text IS NULL
        OR task_id::text = $2::text
        OR EXISTS (SELECT 1 FROM jsonb_each(target) t WHERE t.value = to_jsonb($2::text))
        OR EXISTS (SELECT 1 FROM jsonb_each(COALESCE(summary, '{}'::jsonb)) s
                    WHERE s.value @> to_jsonb($2::text)))`,
    ];
    const parameters: unknown[] = [query.since ?? null, query.target ?? null, query.limit + 1];
    if (query.after) {
      where.push(`(e.at, e.id) < (CAST($4 AS timestamptz), CAST($5 AS bigint))`);
      parameters.push(query.after.at, query.after.id);
    }
    const rows = await sqlRows<AuditEventEntity & { cursorAt: string }>(
      this.db,
      // e.id, not id: the output column id is text, and would sort 10 before 9.
      `SELECT ${COLUMNS}, ${exactTimestamp('e.at')} AS "cursorAt" FROM audit_events e
        WHERE ${where.join(' AND ')}
        ORDER BY e.at DESC, e.id DESC
        LIMIT $3`,
      parameters,
    );
    const { rows: page, more } = splitPage(rows, query.limit);
    const last = page.at(-1);
    return {
      events: page.map((row) => ({
        id: row.id,
        at: new Date(row.at),
        tokenId: row.tokenId,
        tokenName: row.tokenName,
        role: row.role,
        clientId: row.clientId,
        method: row.method,
        route: row.route,
        path: row.path,
        target: parsedJson(row.target) ?? {},
        summary: parsedJson(row.summary),
        address: row.address,
        status: row.status,
        errorCode: row.errorCode,
        taskId: row.taskId,
        durationMs: row.durationMs,
      })),
      next: more && last ? { at: last.cursorAt, id: last.id } : null,
    };
  }
}

/** jsonb comes back parsed from node-postgres; this holds whichever way a driver hands it over. */
function parsedJson<T>(value: T | string | null): T | null {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
