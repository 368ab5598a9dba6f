import type { DataSource } from 'typeorm';
import type { TaskState } from '../../../shared/src/tasks.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import { TaskEntity } from '../tasks/task.entity.js';

/** Whose the counts are: every row for an admin, one client's sites and tasks for a client's token. */
export interface OverviewScope {
  clientId?: string;
}

/**
 * The dashboard's counts, each one query over the registry (COUNT, or GROUP BY for sites by status),
 * and the few rows of its attention lists (LIMIT): none of them returns a row per site or per task,
 * so the overview costs the same with ten sites as with ten thousand.
 */
export class OverviewRepository {
  constructor(private readonly db: DataSource) {}

  /** How many sites are in each status (statuses with none are left out). */
  async sitesByStatus(scope: OverviewScope): Promise<Record<string, number>> {
    const rows = await sqlRows<{ status: string; count: number }>(
      this.db,
      `SELECT status, count(*)::int AS count FROM sites
        WHERE ($1::uuid IS NULL OR client_id = $1::uuid) GROUP BY status ORDER BY status`,
      [scope.clientId ?? null],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.count]));
  }

  async countPlatforms(): Promise<number> {
    return this.count(`SELECT count(*)::int AS count FROM platforms`);
  }

  async countClients(): Promise<number> {
    return this.count(`SELECT count(*)::int AS count FROM clients`);
  }

  /** Every server, and those whose id is among `connectedIds` (the agents connected now). */
  async countServers(connectedIds: readonly string[]): Promise<{ total: number; connected: number }> {
    const row = await sqlOne<{ total: number; connected: number }>(
      this.db,
      `SELECT count(*)::int AS total, (count(*) FILTER (WHERE id = ANY($1::uuid[])))::int AS connected
         FROM servers`,
      [[...connectedIds]],
    );
    return { total: row?.total ?? 0, connected: row?.connected ?? 0 };
  }

  /**
   * The servers whose id is not among `connectedIds`: how many, and the first `limit` of them, the
   * longest unheard of first (never heard of before all).
   */
  async disconnectedServers(
    connectedIds: readonly string[],
    limit: number,
  ): Promise<{ count: number; items: Array<{ name: string; lastSeenAt: Date | null }> }> {
    const ids = [[...connectedIds]];
    const count = await this.count(
      `SELECT count(*)::int AS count FROM servers WHERE NOT (id = ANY($1::uuid[]))`,
      ids,
    );
    const items =
      count === 0
        ? []
        : await sqlRows<{ name: string; lastSeenAt: Date | null }>(
            this.db,
            `SELECT name, last_seen_at AS "lastSeenAt" FROM servers WHERE NOT (id = ANY($1::uuid[]))
              ORDER BY last_seen_at ASC NULLS FIRST, name LIMIT $2`,
            [...ids, limit],
          );
    return { count, items };
  }

  /** Tasks in a state, created within the last `withinMs` when given. */
  async countTasks(scope: OverviewScope, state: TaskState, withinMs?: number): Promise<number> {
    return this.count(
      `SELECT count(*)::int AS count FROM tasks
        WHERE state = $1 AND ($2::uuid IS NULL OR client_id = $2::uuid)
          AND ($3::text IS NULL OR created_at >= now() - ($3::text || ' milliseconds')::interval)`,
      [state, scope.clientId ?? null, withinMs === undefined ? null : String(withinMs)],
    );
  }

  /** The newest `limit` failed tasks created within the last `withinMs`, newest first (as the task list). */
  failedTasks(scope: OverviewScope, withinMs: number, limit: number): Promise<TaskEntity[]> {
    const builder = this.db
      .getRepository(TaskEntity)
      .createQueryBuilder('t')
      .where(`t.state = 'failed'`)
      .andWhere(`t.created_at >= now() - (CAST(:withinMs AS text) || ' milliseconds')::interval`, {
        withinMs: String(withinMs),
      });
    if (scope.clientId !== undefined)
      builder.andWhere('t.client_id = :clientId', { clientId: scope.clientId });
    return builder.orderBy('t.created_at', 'DESC').addOrderBy('t.id', 'DESC').limit(limit).getMany();
  }

  /**
   * Enabled sites not verified within the last `withinMs` (or never): how many, and the first `limit`
   * of them, the longest unverified first (never verified before all).
   */
  async unverifiedSites(
    scope: OverviewScope,
    withinMs: number,
    limit: number,
  ): Promise<{ count: number; items: Array<{ domain: string; verifiedAt: Date | null }> }> {
    const where = `status = 'enabled' AND ($1::uuid IS NULL OR client_id = $1::uuid)
        AND (verified_at IS NULL OR verified_at < now() - ($2::text || ' milliseconds')::interval)`;
    const params = [scope.clientId ?? null, String(withinMs)];
    const count = await this.count(`SELECT count(*)::int AS count FROM sites WHERE ${where}`, params);
    const items =
      count === 0
        ? []
        : await sqlRows<{ domain: string; verifiedAt: Date | null }>(
            this.db,
            `SELECT domain, verified_at AS "verifiedAt" FROM sites WHERE ${where}
              ORDER BY verified_at ASC NULLS FIRST, domain LIMIT $3`,
            [...params, limit],
          );
    return { count, items };
  }

  private async count(text: string, params: unknown[] = []): Promise<number> {
    return (await sqlOne<{ count: number }>(this.db, text, params))?.count ?? 0;
  }
}
