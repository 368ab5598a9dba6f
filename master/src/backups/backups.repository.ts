import type { DataSource } from 'typeorm';
import { exactTimestamp, splitPage, type CreatedKey } from '../infra/db/keyset.js';
import { sqlOne } from '../infra/db/sql.js';
import { BackupEntity } from './backup.entity.js';

export type NewBackup = Omit<BackupEntity, 'id' | 'createdAt' | 'verifiedAt' | 'verifyFailedAt'>;

/**
 * Whose backups a list shows: a site's (taken of it under any of its names, and those of its domain
 * from before), or, without a site id, a domain's (the last backup of a deleted site).
 */
export interface BackupsOf {
  siteId?: string;
  domain: string;
}

/** What a backup takes in the store: its files archive, and its database archive when it has one (manifest sizes). */
const BACKUP_BYTES = `
  CASE WHEN jsonb_typeof(b.manifest #> '{archive,bytes}') = 'number'
       THEN (b.manifest #>> '{archive,bytes}')::numeric ELSE 0 END
  + CASE WHEN b.database_archive_id IS NOT NULL AND jsonb_typeof(b.manifest #> '{database,bytes}') = 'number'
         THEN (b.manifest #>> '{database,bytes}')::numeric ELSE 0 END`;

export class BackupsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Records the backup of an archive once: recording the same archive again (a task replayed after
   * a restart) returns the backup recorded first (uq_backups_archive).
   */
  async recordOnce(input: NewBackup): Promise<BackupEntity> {
    const inserted = await sqlOne<{ id: string }>(
      this.db,
      `INSERT INTO backups (site_id, domain, archive_id, database_archive_id, task_id, reason, manifest)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (archive_id) DO NOTHING RETURNING id`,
      [
        input.siteId,
        input.domain,
        input.archiveId,
        input.databaseArchiveId,
        input.taskId,
        input.reason,
        JSON.stringify(input.manifest),
      ],
    );
    const repository = this.db.getRepository(BackupEntity);
    const backup = inserted
      ? await repository.findOneBy({ id: inserted.id })
      : await repository.findOneBy({ archiveId: input.archiveId });
    if (!backup) throw new Error(`the backup of archive ${input.archiveId} vanished as it was recorded`);
    return backup;
  }

  findById(id: string): Promise<BackupEntity | null> {
    return this.db.getRepository(BackupEntity).findOneBy({ id });
  }

  /** Every backup of a site (or of a domain), newest first: the whole list, in the order of its pages. */
  listFor(of: BackupsOf): Promise<BackupEntity[]> {
    return this.db.getRepository(BackupEntity).find({
      where: of.siteId !== undefined ? [{ siteId: of.siteId }, { domain: of.domain }] : { domain: of.domain },
      order: { createdAt: 'DESC', id: 'DESC' },
    });
  }

  /**
   * One page of a site's backups, newest first. Keyset paging on (created_at, id), both descending:
   * a backup taken between two pages comes before the first and moves none across a page boundary.
   * `next` is the key of the page's last backup when a next page exists, its time read as text.
   */
  async page(
    of: BackupsOf,
    query: { after?: CreatedKey; limit: number },
  ): Promise<{ backups: BackupEntity[]; next: CreatedKey | null }> {
    const builder = this.db
      .getRepository(BackupEntity)
      .createQueryBuilder('b')
      .addSelect(exactTimestamp('b.created_at'), 'cursor_at');
    if (of.siteId !== undefined)
      builder.andWhere('(b.site_id = :siteId OR b.domain = :domain)', {
        siteId: of.siteId,
        domain: of.domain,
      });
    else builder.andWhere('b.domain = :domain', { domain: of.domain });
    if (query.after !== undefined) {
      builder.andWhere('(b.created_at, b.id) < (CAST(:afterAt AS timestamptz), CAST(:afterId AS uuid))', {
        afterAt: query.after.at,
        afterId: query.after.id,
      });
    }
    const { entities, raw } = await builder
      .orderBy('b.created_at', 'DESC')
      .addOrderBy('b.id', 'DESC')
      .limit(query.limit + 1)
      .getRawAndEntities<{ cursor_at: string }>();
    const { rows: backups, more } = splitPage(entities, query.limit);
    const last = backups.at(-1);
    // Without joins, the raw rows and the entities are the same rows in the same order.
    return { backups, next: more && last ? { at: raw[backups.length - 1]!.cursor_at, id: last.id } : null };
  }

  /**
   * How many backups a site has and the bytes they take in the store, in one aggregate query (the
   * sizes its backups' views show, summed: SitesService's backupBytes reads the same manifest fields).
   */
  async total(of: BackupsOf): Promise<{ count: number; bytes: number }> {
    const row = await sqlOne<{ count: number; bytes: string }>(
      this.db,
      `SELECT count(*)::int AS count, COALESCE(sum(${BACKUP_BYTES}), 0)::text AS bytes
         FROM backups b
        WHERE ${of.siteId !== undefined ? '(b.site_id = $2 OR b.domain = $1)' : 'b.domain = $1'}`,
      of.siteId !== undefined ? [of.domain, of.siteId] : [of.domain],
    );
    return { count: row?.count ?? 0, bytes: Number(row?.bytes ?? 0) };
  }

  /** A restore test's outcome on the backup; returns when it was recorded (ISO), or null if the backup is gone. */
  async setVerification(id: string, passed: boolean): Promise<string | null> {
    const column = passed ? 'verified_at' : 'verify_failed_at';
    const row = await sqlOne<{ at: Date }>(
      this.db,
      `UPDATE backups SET ${column} = now() WHERE id = $1 RETURNING ${column} AS at`,
      [id],
    );
    return row ? new Date(row.at).toISOString() : null;
  }

  /** The site's newest backup (what a scheduled restore test verifies). */
  newestOf(siteId: string): Promise<BackupEntity | null> {
    return this.db.getRepository(BackupEntity).findOne({ where: { siteId }, order: { createdAt: 'DESC' } });
  }

  async remove(id: string): Promise<void> {
    await this.db.getRepository(BackupEntity).delete({ id });
  }
}
