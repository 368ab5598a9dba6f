import type { DataSource } from 'typeorm';
import { sqlOne, sqlRows, type SqlExecutor } from '../infra/db/sql.js';
import type { FiringKind, FiringState } from './schedule-firing.entity.js';

/** The target of the store's own schedules (its garbage collector): the nil uuid. */
export const STORE_TARGET_ID = '00000000-0000-0000-0000-000000000000';

/** An enabled site as its schedule needs it: its owner, its servers, its web server's time zone. */
export interface SiteScheduleRow {
  siteId: string;
  domain: string;
  clientId: string | null;
  createdAt: Date;
  webServerId: string;
  dbServerId: string;
  timeZone: string;
  /** Drupal's cron every this many minutes (0: off). */
  cronEveryMinutes: number;
}

export interface NewFiring {
  kind: FiringKind;
  targetId: string;
  policyId: string | null;
  dueAt: Date;
  opensAt: Date;
  expiresAt: Date;
}

/** A firing whose window is open now, with the servers its task will use. */
export interface OpenFiring {
  id: string;
  kind: FiringKind;
  targetId: string;
  dueAt: Date;
  serverIds: string[];
}

export interface FiringRow {
  id: string;
  kind: FiringKind;
  targetId: string;
  dueAt: Date;
  opensAt: Date;
  expiresAt: Date;
  state: FiringState;
  taskId: string | null;
}

const SITE_SCHEDULE = `SELECT s.id AS "siteId", s.domain, s.client_id AS "clientId", s.created_at AS "createdAt",
         p.server_id AS "webServerId", s.db_server_id AS "dbServerId", COALESCE(w.time_zone, 'UTC') AS "timeZone",
         s.cron_every_minutes AS "cronEveryMinutes"
    FROM sites s JOIN platforms p ON p.id = s.platform_id JOIN servers w ON w.id = p.server_id`;

const FIRING_COLUMNS = `id, kind, target_id AS "targetId", due_at AS "dueAt", opens_at AS "opensAt",
  expires_at AS "expiresAt", state, task_id AS "taskId"`;

/**
 * The firings of schedules: one row per target and due time, made once whichever master sees it
 * first (uq_schedule_firings_due), started once (a conditional UPDATE in the same transaction as
 * the task's INSERT), missed when its window closes first. Every rule is one statement here, so it
 * holds with several masters on one database.
 */
export class FiringsRepository {
  constructor(private readonly db: DataSource) {}

  /** Every enabled site with what its schedule is read against, in one query. */
  siteSchedules(): Promise<SiteScheduleRow[]> {
    return sqlRows<SiteScheduleRow>(this.db, `${SITE_SCHEDULE} WHERE s.status = 'enabled'`);
  }

  /** One site's, whatever its state. */
  async siteSchedule(siteId: string): Promise<SiteScheduleRow | undefined> {
    return sqlOne<SiteScheduleRow>(this.db, `${SITE_SCHEDULE} WHERE s.id = $1`, [siteId]);
  }

  /**
   * Records firings that are not recorded yet (another master, or this one before a restart, may
   * have); one already past its window is recorded as missed. Returns how many were new.
   */
  async record(firings: readonly NewFiring[], now: Date): Promise<{ waiting: number; missed: FiringRow[] }> {
    if (firings.length === 0) return { waiting: 0, missed: [] };
    const rows = await sqlRows<FiringRow>(
      this.db,
      `INSERT INTO schedule_firings (kind, target_id, policy_id, due_at, opens_at, expires_at, state, settled_at)
       SELECT f.kind, f.target_id, f.policy_id, f.due_at, f.opens_at, f.expires_at,
              CASE WHEN f.expires_at <= $7 THEN 'missed' ELSE 'waiting' END,
              CASE WHEN f.expires_at <= $7 THEN $7::timestamptz END
         FROM unnest($1::varchar[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
              AS f(kind, target_id, policy_id, due_at, opens_at, expires_at)
       ON CONFLICT (kind, target_id, due_at) DO NOTHING
       RETURNING ${FIRING_COLUMNS}`,
      [
        firings.map((firing) => firing.kind),
        firings.map((firing) => firing.targetId),
        firings.map((firing) => firing.policyId),
        firings.map((firing) => firing.dueAt.toISOString()),
        firings.map((firing) => firing.opensAt.toISOString()),
        firings.map((firing) => firing.expiresAt.toISOString()),
        now.toISOString(),
      ],
    );
    return {
      waiting: rows.filter((row) => row.state === 'waiting').length,
      missed: rows.filter((row) => row.state === 'missed'),
    };
  }

  /** Firings still waiting when their window closed: missed, returned once (to report them). */
  expire(now: Date): Promise<FiringRow[]> {
    return sqlRows<FiringRow>(
      this.db,
      `UPDATE schedule_firings SET state = 'missed', settled_at = $1
        WHERE state = 'waiting' AND expires_at <= $1
        RETURNING ${FIRING_COLUMNS}`,
      [now.toISOString()],
    );
  }

  /**
   * Waiting firings whose window is open, oldest due first, then in a stable order per target
   * (so a server with many due at once takes them in the same order every night); at most
   * `perServer` per web server, so that one server's backlog does not fill the batch and leave the
   * other servers' firings waiting until their windows close.
   */
  open(now: Date, limit: number, perServer: number): Promise<OpenFiring[]> {
    return sqlRows<OpenFiring>(
      this.db,
      `SELECT id, kind, "targetId", "dueAt", "serverIds" FROM (
         SELECT f.id, f.kind, f.target_id AS "targetId", f.due_at AS "dueAt",
                CASE WHEN s.id IS NULL THEN ARRAY[]::uuid[]
                     ELSE ARRAY[p.server_id, s.db_server_id] END AS "serverIds",
                md5(f.target_id::text) AS "order",
                row_number() OVER (PARTITION BY COALESCE(p.server_id, f.target_id)
                                   ORDER BY f.due_at, md5(f.target_id::text)) AS "rank"
           FROM schedule_firings f
           LEFT JOIN sites s ON f.kind IN ('backup', 'verify', 'cron') AND s.id = f.target_id
           LEFT JOIN platforms p ON p.id = s.platform_id
          WHERE f.state = 'waiting' AND f.opens_at <= $1 AND f.expires_at > $1) open
        WHERE "rank" <= $3
        ORDER BY "dueAt", "order"
        LIMIT $2`,
      [now.toISOString(), limit, perServer],
    );
  }

  /** Per server, how many scheduled tasks (priority above a person's) are queued or running on it. */
  async scheduledLoad(): Promise<Map<string, number>> {
    const rows = await sqlRows<{ serverId: string; busy: number }>(
      this.db,
      `SELECT v.server_id AS "serverId", count(DISTINCT t.id)::int AS busy
         FROM tasks t
         JOIN sites s ON t.target_kind = 'site' AND s.id = t.target_id
         JOIN platforms p ON p.id = s.platform_id
         CROSS JOIN LATERAL (VALUES (p.server_id), (s.db_server_id)) AS v(server_id)
        WHERE t.priority > 0 AND t.state IN ('queued', 'running')
        GROUP BY v.server_id`,
    );
    return new Map(rows.map((row) => [row.serverId, row.busy]));
  }

  /**
   * Starts a waiting firing: claims it and inserts its task in one transaction, so a firing gives
   * one task whichever masters try at once (the second finds it started). Null when it was not
   * waiting any more, or `insert` decided there is nothing to start (then the firing is missed).
   */
  async start(
    firingId: string,
    insert: (executor: SqlExecutor) => Promise<{ id: string } | null>,
  ): Promise<string | null> {
    return this.db.transaction(async (manager) => {
      const claimed = await sqlOne<{ id: string }>(
        manager,
        `UPDATE schedule_firings SET state = 'started', settled_at = now()
          WHERE id = $1 AND state = 'waiting' RETURNING id`,
        [firingId],
      );
      if (!claimed) return null;
      const task = await insert(manager);
      await sqlRows(
        manager,
        `UPDATE schedule_firings SET task_id = $2, state = CASE WHEN $2::uuid IS NULL THEN 'missed' ELSE state END
          WHERE id = $1 RETURNING id`,
        [firingId, task?.id ?? null],
      );
      return task?.id ?? null;
    });
  }

  /** The latest firing of each of these targets for a kind. */
  async latest(kind: FiringKind, targetIds: readonly string[]): Promise<Map<string, FiringRow>> {
    if (targetIds.length === 0) return new Map();
    const rows = await sqlRows<FiringRow>(
      this.db,
      `SELECT DISTINCT ON (target_id) ${FIRING_COLUMNS} FROM schedule_firings
        WHERE kind = $1 AND target_id = ANY($2::uuid[])
        ORDER BY target_id, due_at DESC`,
      [kind, targetIds],
    );
    return new Map(rows.map((row) => [row.targetId, row]));
  }

  /** Firings of a kind, newest due first (tests, the API). */
  list(kind: FiringKind, targetId: string, limit = 50): Promise<FiringRow[]> {
    return sqlRows<FiringRow>(
      this.db,
      `SELECT ${FIRING_COLUMNS} FROM schedule_firings WHERE kind = $1 AND target_id = $2
        ORDER BY due_at DESC LIMIT $3`,
      [kind, targetId, limit],
    );
  }

  /**
   * Forgets settled firings due before `before` (the garbage collector), but never a target's
   * latest of a kind: a scheduler that finds no row for the latest due time records it again (a
   * monthly backup would run twice, a closed window would be reported missed again).
   */
  async prune(before: Date): Promise<number> {
    const rows = await sqlRows<{ id: string }>(
      this.db,
      `DELETE FROM schedule_firings f
        WHERE f.state <> 'waiting' AND f.due_at < $1
          AND EXISTS (SELECT 1 FROM schedule_firings later
                       WHERE later.kind = f.kind AND later.target_id = f.target_id AND later.due_at > f.due_at)
        RETURNING f.id`,
      [before.toISOString()],
    );
    return rows.length;
  }
}
