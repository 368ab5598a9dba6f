import type { DataSource } from 'typeorm';
import { sqlRows } from '../infra/db/sql.js';

/** A backup retention may remove: not a person's, of a site still in the registry. */
export interface RetentionCandidate {
  id: string;
  siteId: string;
  clientId: string | null;
  domain: string;
  createdAt: Date;
  timeZone: string;
  archiveIds: string[];
}

/** A backup with the state of its archives in the registry. */
export interface BackupArchives {
  id: string;
  domain: string;
  /** `offsite`: a copy of it in an off-site target was read back whole (a restore can put it back). */
  archives: Array<{ id: string; state: string; offsite: boolean }>;
}

export interface ArchiveRow {
  id: string;
  state: string;
  /** Decimal string (bigint); null while reserved. */
  sizeBytes: string | null;
}

const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** What the store's garbage collector and its usage report read and remove in the registry. */
export class StoreRepository {
  constructor(private readonly db: DataSource) {}

  /** Every automatic backup (scheduled, pre-migrate, pre-restore ...) of every site there is. */
  retentionCandidates(): Promise<RetentionCandidate[]> {
    return sqlRows<RetentionCandidate>(
      this.db,
      `SELECT b.id, b.site_id AS "siteId", s.client_id AS "clientId", b.domain, b.created_at AS "createdAt",
              COALESCE(w.time_zone, 'UTC') AS "timeZone",
              array_remove(ARRAY[b.archive_id, b.database_archive_id], NULL) AS "archiveIds"
         FROM backups b
         JOIN sites s ON s.id = b.site_id AND s.status <> 'deleted'
         JOIN platforms p ON p.id = s.platform_id
         JOIN servers w ON w.id = p.server_id
        WHERE b.reason <> 'manual'`,
    );
  }

  /**
   * Every id a queued or running task names (its params, its steps' params, what it recorded):
   * what such a task may still read or upload is never collected.
   */
  async namedByUnfinishedTasks(): Promise<Set<string>> {
    const rows = await sqlRows<{ text: string }>(
      this.db,
      `SELECT t.params::text AS text FROM tasks t WHERE t.state IN ('queued', 'running')
       UNION ALL
       SELECT s.params::text FROM task_steps s JOIN tasks t ON t.id = s.task_id
        WHERE t.state IN ('queued', 'running')
       UNION ALL
       SELECT r.output::text FROM task_records r JOIN tasks t ON t.id = r.task_id
        WHERE t.state IN ('queued', 'running') AND r.output IS NOT NULL`,
    );
    const ids = new Set<string>();
    for (const row of rows) for (const id of row.text.toLowerCase().match(UUID_IN_TEXT) ?? []) ids.add(id);
    return ids;
  }

  /**
   * Archives no backup names, made before `before`, not yet deleted. Two NOT EXISTS, not one with an
   * OR: PostgreSQL anti-joins each on its own (an OR made it compare every archive with every backup:
   * 390 s at 100,000 archives, against 0.1 s, bench/schedules.bench-spec.ts).
   */
  unreferencedArchives(before: Date): Promise<ArchiveRow[]> {
    return sqlRows<ArchiveRow>(
      this.db,
      `SELECT a.id, a.state, a.size_bytes::text AS "sizeBytes" FROM archives a
        WHERE a.state <> 'deleted' AND a.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.archive_id = a.id)
          AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.database_archive_id = a.id)`,
      [before.toISOString()],
    );
  }

  /** The ids of archives that may have a file in the store (reserved ones may be uploading). */
  async liveArchiveIds(): Promise<Set<string>> {
    const rows = await sqlRows<{ id: string }>(this.db, `SELECT id FROM archives WHERE state <> 'deleted'`);
    return new Set(rows.map((row) => row.id));
  }

  /** Every backup with its archives' states. */
  backupArchives(): Promise<BackupArchives[]> {
    return sqlRows<BackupArchives>(
      this.db,
      `SELECT b.id, b.domain,
              json_agg(json_build_object(
                'id', x.archive_id, 'state', COALESCE(a.state, 'deleted'),
                'offsite', EXISTS (SELECT 1 FROM offsite_copies c
                                    WHERE c.archive_id = x.archive_id AND c.state = 'copied'))) AS archives
         FROM backups b
         CROSS JOIN LATERAL unnest(array_remove(ARRAY[b.archive_id, b.database_archive_id], NULL)) AS x(archive_id)
         LEFT JOIN archives a ON a.id = x.archive_id
        GROUP BY b.id, b.domain`,
    );
  }

  async sizes(archiveIds: readonly string[]): Promise<Map<string, number>> {
    if (archiveIds.length === 0) return new Map();
    const rows = await sqlRows<{ id: string; bytes: string | null }>(
      this.db,
      `SELECT id, size_bytes::text AS bytes FROM archives WHERE id = ANY($1::uuid[]) AND state = 'stored'`,
      [archiveIds],
    );
    return new Map(rows.map((row) => [row.id, Number(row.bytes ?? 0)]));
  }

  async removeBackups(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await sqlRows(this.db, `DELETE FROM backups WHERE id = ANY($1::uuid[]) RETURNING id`, [ids]);
  }

  /** Stored archives: their bytes and how many (backups' and the rest alike). */
  async totals(): Promise<{ bytes: string; archives: number }> {
    const [row] = await sqlRows<{ bytes: string; archives: number }>(
      this.db,
      `SELECT COALESCE(sum(size_bytes), 0)::text AS bytes, count(*)::int AS archives
         FROM archives WHERE state = 'stored'`,
    );
    return row!;
  }

  /** Backups and their bytes per client (null: sites without one, or gone). */
  byClient(): Promise<Array<{ client: string | null; backups: number; bytes: string }>> {
    return sqlRows(
      this.db,
      `SELECT c.name AS client, count(*)::int AS backups, sum(x.bytes)::text AS bytes
         FROM (${PER_BACKUP}) x LEFT JOIN sites s ON s.id = x.site_id LEFT JOIN clients c ON c.id = s.client_id
        GROUP BY c.name ORDER BY sum(x.bytes) DESC`,
    );
  }

  /** The sites whose backups take the most, largest first. */
  topSites(
    limit: number,
  ): Promise<Array<{ domain: string; client: string | null; backups: number; bytes: string }>> {
    return sqlRows(
      this.db,
      `SELECT COALESCE(s.domain, min(x.domain)) AS domain, c.name AS client, count(*)::int AS backups,
              sum(x.bytes)::text AS bytes
         FROM (${PER_BACKUP}) x LEFT JOIN sites s ON s.id = x.site_id LEFT JOIN clients c ON c.id = s.client_id
        GROUP BY x.site_id, s.domain, c.name ORDER BY sum(x.bytes) DESC LIMIT $1`,
      [limit],
    );
  }
}

/** Each backup with the bytes of its stored archives (files and dump). */
const PER_BACKUP = `
  SELECT b.id, b.site_id, b.domain,
         COALESCE((SELECT sum(a.size_bytes) FROM archives a
                    WHERE a.state = 'stored' AND a.id IN (b.archive_id, b.database_archive_id)), 0) AS bytes
    FROM backups b`;
