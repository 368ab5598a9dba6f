import type { DataSource } from 'typeorm';
import { sqlOne } from '../infra/db/sql.js';
import { BackupEntity } from './backup.entity.js';

export type NewBackup = Omit<BackupEntity, 'id' | 'createdAt' | 'verifiedAt' | 'verifyFailedAt'>;

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

  /** The site's backups, newest first (kept after the site is deleted: its last backup). */
  listForDomain(domain: string): Promise<BackupEntity[]> {
    return this.db.getRepository(BackupEntity).find({ where: { domain }, order: { createdAt: 'DESC' } });
  }

  /**
   * A site's backups, newest first: those taken of it under any of its names (a rename keeps them),
   * and those of its domain from before (the last backup of a deleted site that had it).
   */
  listForSite(site: { id: string; domain: string }): Promise<BackupEntity[]> {
    return this.db.getRepository(BackupEntity).find({
      where: [{ siteId: site.id }, { domain: site.domain }],
      order: { createdAt: 'DESC' },
    });
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
