import type { DataSource } from 'typeorm';
import type { DeliveryState, NotificationEvent, NotificationKind } from '../../../shared/src/api.js';
import { isUuid } from '../../../shared/src/validation.js';
import { exactTimestamp, splitPage, type CreatedKey } from '../infra/db/keyset.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';

export interface TargetRow {
  id: string;
  kind: NotificationKind;
  url: string | null;
  address: string | null;
  clientId: string | null;
  clientName: string | null;
  events: NotificationEvent[] | null;
  secretEncrypted: string | null;
  createdAt: Date;
}

export interface DeliveryRow {
  id: string;
  targetId: string;
  event: NotificationEvent;
  subjectId: string;
  payload: Record<string, unknown>;
  attempts: number;
  state: DeliveryState;
  lastError: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** A claimed delivery with what sending it needs. */
export type ClaimedDelivery = DeliveryRow & Pick<TargetRow, 'kind' | 'url' | 'address' | 'secretEncrypted'>;

/** A failed task as the notifier reads it. */
export interface FailedTaskRow {
  id: string;
  type: string;
  targetKind: string;
  targetName: string;
  error: string | null;
  errorCode: string | null;
  clientId: string | null;
  params: Record<string, unknown>;
  finishedAt: Date;
}

const TARGET_COLUMNS = `t.id, t.kind, t.url, t.address, t.client_id AS "clientId", c.name AS "clientName",
  t.events, t.secret_encrypted AS "secretEncrypted", t.created_at AS "createdAt"`;

const DELIVERY_COLUMNS = `d.id, d.target_id AS "targetId", d.event, d.subject_id AS "subjectId", d.payload,
  d.attempts, d.state, d.last_error AS "lastError", d.next_attempt_at AS "nextAttemptAt",
  d.created_at AS "createdAt", d.delivered_at AS "deliveredAt"`;

/** Notification targets and their deliveries; every claim and settle is one conditional statement. */
export class NotificationsRepository {
  constructor(private readonly db: DataSource) {}

  async createTarget(target: {
    kind: NotificationKind;
    url: string | null;
    address: string | null;
    clientId: string | null;
    events: NotificationEvent[] | null;
    secretEncrypted: string | null;
  }): Promise<TargetRow> {
    const row = await sqlOne<{ id: string }>(
      this.db,
      `INSERT INTO notification_targets (kind, url, address, client_id, events, secret_encrypted)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id`,
      [
        target.kind,
        target.url,
        target.address,
        target.clientId,
        target.events === null ? null : JSON.stringify(target.events),
        target.secretEncrypted,
      ],
    );
    return (await this.findTarget(row!.id))!;
  }

  async findTarget(id: string): Promise<TargetRow | null> {
    if (!isUuid(id)) return null;
    const row = await sqlOne<TargetRow>(
      this.db,
      `SELECT ${TARGET_COLUMNS} FROM notification_targets t LEFT JOIN clients c ON c.id = t.client_id
        WHERE t.id = $1`,
      [id],
    );
    return row ? targetRow(row) : null;
  }

  /** Every target, or a client's only. */
  async listTargets(clientId?: string): Promise<TargetRow[]> {
    const rows = await sqlRows<TargetRow>(
      this.db,
      `SELECT ${TARGET_COLUMNS} FROM notification_targets t LEFT JOIN clients c ON c.id = t.client_id
        WHERE ($1::uuid IS NULL OR t.client_id = $1::uuid) ORDER BY t.created_at, t.id`,
      [clientId ?? null],
    );
    return rows.map(targetRow);
  }

  /** Removes a target and its deliveries (nothing is left to send to it, or to show of it). */
  async removeTarget(id: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await sqlRows(manager, `DELETE FROM notification_deliveries WHERE target_id = $1`, [id]);
      await sqlRows(manager, `DELETE FROM notification_targets WHERE id = $1`, [id]);
    });
  }

  /**
   * A page of the delivery log, newest first by (created_at, id), and the key of its last delivery
   * when more follow; a client's targets' only when `clientId` is given.
   */
  async listDeliveries(query: {
    limit: number;
    clientId?: string;
    after?: CreatedKey;
  }): Promise<{ deliveries: DeliveryRow[]; next: CreatedKey | null }> {
    const where = [`($1::uuid IS NULL OR t.client_id = $1::uuid)`];
    const parameters: unknown[] = [query.clientId ?? null, query.limit + 1];
    if (query.after) {
      where.push(`(d.created_at, d.id) < (CAST($3 AS timestamptz), CAST($4 AS uuid))`);
      parameters.push(query.after.at, query.after.id);
    }
    const rows = await sqlRows<DeliveryRow & { cursorAt: string }>(
      this.db,
      `SELECT ${DELIVERY_COLUMNS}, ${exactTimestamp('d.created_at')} AS "cursorAt"
         FROM notification_deliveries d
         JOIN notification_targets t ON t.id = d.target_id
        WHERE ${where.join(' AND ')}
        ORDER BY d.created_at DESC, d.id DESC LIMIT $2`,
      parameters,
    );
    const { rows: page, more } = splitPage(rows, query.limit);
    const last = page.at(-1);
    return {
      deliveries: page.map(deliveryRow),
      next: more && last ? { at: last.cursorAt, id: last.id } : null,
    };
  }

  /**
   * Makes an event's deliveries: one per target that hears it (the admins', and its client's when it
   * has one) and was there when it happened, once: a second master, or a second look at the same
   * failed task, finds the row made and adds nothing. Returns how many were new.
   */
  async enqueue(event: {
    event: NotificationEvent;
    subjectId: string;
    clientId: string | null;
    occurredAt: Date;
    payload: Record<string, unknown>;
  }): Promise<number> {
    const rows = await sqlRows<{ id: string }>(
      this.db,
      `INSERT INTO notification_deliveries (target_id, event, subject_id, payload, next_attempt_at)
       SELECT t.id, $1::varchar, $2::uuid, $3::jsonb, now() FROM notification_targets t
        WHERE (t.client_id IS NULL OR t.client_id = $4::uuid)
          AND (t.events IS NULL OR t.events @> to_jsonb($1::text))
          -- The event's time comes back from JavaScript at millisecond precision: a target made in
          -- the same millisecond as the event, microseconds before it, is a target of it too.
          AND date_trunc('milliseconds', t.created_at) <= $5::timestamptz
       ON CONFLICT (target_id, event, subject_id) DO NOTHING
       RETURNING id`,
      [event.event, event.subjectId, JSON.stringify(event.payload), event.clientId, event.occurredAt],
    );
    return rows.length;
  }

  /**
   * Claims due deliveries: counts the attempt and moves next_attempt_at on by `leaseMs` in the same
   * statement, so another master's worker neither sees them (SKIP LOCKED, while this one's
   * transaction holds them) nor finds them due afterwards; a master that dies mid-send leaves them
   * to be tried again when the lease is over.
   */
  async claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const rows = await sqlRows<ClaimedDelivery>(
      this.db,
      `WITH due AS (
         SELECT id FROM notification_deliveries
          WHERE state = 'pending' AND next_attempt_at <= now()
          ORDER BY next_attempt_at LIMIT $1
          FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE notification_deliveries d
            SET attempts = d.attempts + 1,
                next_attempt_at = now() + $2::double precision * interval '1 millisecond'
           FROM due WHERE d.id = due.id
         RETURNING d.*
       )
       SELECT ${DELIVERY_COLUMNS}, t.kind, t.url, t.address, t.secret_encrypted AS "secretEncrypted"
         FROM claimed d JOIN notification_targets t ON t.id = d.target_id`,
      [limit, leaseMs],
    );
    return rows.map((row) => ({
      ...deliveryRow(row),
      kind: row.kind,
      url: row.url,
      address: row.address,
      secretEncrypted: row.secretEncrypted,
    }));
  }

  /** Records a sent delivery; only the worker holding this attempt's claim may. */
  async delivered(id: string, attempts: number): Promise<void> {
    await sqlRows(
      this.db,
      `UPDATE notification_deliveries SET state = 'delivered', delivered_at = now(), next_attempt_at = now(),
              last_error = NULL
        WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING id`,
      [id, attempts],
    );
  }

  /** Records a failed attempt: tried again after `retryInMs`, or given up on (null). */
  async attemptFailed(id: string, attempts: number, error: string, retryInMs: number | null): Promise<void> {
    await sqlRows(
      this.db,
      `UPDATE notification_deliveries
          SET last_error = $3,
              state = CASE WHEN $4::double precision IS NULL THEN 'failed' ELSE 'pending' END,
              next_attempt_at = now() + COALESCE($4::double precision, 0) * interval '1 millisecond'
        WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING id`,
      [id, attempts, error.slice(0, 2000), retryInMs],
    );
  }

  /** Tasks that failed after `since`, oldest first. */
  failedTasksSince(since: Date, limit: number): Promise<FailedTaskRow[]> {
    return sqlRows<FailedTaskRow>(
      this.db,
      `SELECT id, type, target_kind AS "targetKind", target_name AS "targetName", error,
              error_code AS "errorCode", client_id AS "clientId", params, finished_at AS "finishedAt"
         FROM tasks WHERE state = 'failed' AND finished_at > $1 ORDER BY finished_at, id LIMIT $2`,
      [since, limit],
    ).then((rows) =>
      rows.map((row) => ({ ...row, finishedAt: new Date(row.finishedAt), params: parsed(row.params) ?? {} })),
    );
  }

  /**
   * Servers whose agent was last heard from before `before` (by any master: last_seen_at is written
   * every 30 s while an agent is connected). Never-connected servers are not silent, only new.
   */
  silentServers(before: Date): Promise<Array<{ id: string; name: string; lastSeenAt: Date }>> {
    return sqlRows<{ id: string; name: string; lastSeenAt: Date }>(
      this.db,
      `SELECT id, name, last_seen_at AS "lastSeenAt" FROM servers
        WHERE last_seen_at IS NOT NULL AND last_seen_at < $1 ORDER BY last_seen_at`,
      [before.toISOString()],
    ).then((rows) => rows.map((row) => ({ ...row, lastSeenAt: new Date(row.lastSeenAt) })));
  }

  /** The site a firing is of (its domain, and the client it belongs to). */
  siteOf(siteId: string): Promise<{ domain: string; clientId: string | null } | undefined> {
    return sqlOne(this.db, `SELECT domain, client_id AS "clientId" FROM sites WHERE id = $1`, [siteId]);
  }
}

/** jsonb comes back parsed from node-postgres, as text from PGlite in some paths: read both. */
function parsed<T>(value: T | string | null): T | null {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

function targetRow(row: TargetRow): TargetRow {
  return { ...row, events: parsed(row.events), createdAt: new Date(row.createdAt) };
}

function deliveryRow(row: DeliveryRow): DeliveryRow {
  return {
    id: row.id,
    targetId: row.targetId,
    event: row.event,
    subjectId: row.subjectId,
    payload: parsed(row.payload) ?? {},
    attempts: row.attempts,
    state: row.state,
    lastError: row.lastError,
    nextAttemptAt: row.nextAttemptAt === null ? null : new Date(row.nextAttemptAt),
    createdAt: new Date(row.createdAt),
    deliveredAt: row.deliveredAt === null ? null : new Date(row.deliveredAt),
  };
}
