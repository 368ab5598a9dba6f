import type { DataSource } from 'typeorm';
import { BackupEntity } from './backup.entity.js';

export class BackupsRepository {
  constructor(private readonly db: DataSource) {}

  create(input: Omit<BackupEntity, 'id' | 'createdAt'>): Promise<BackupEntity> {
    const repository = this.db.getRepository(BackupEntity);
    return repository.save(repository.create(input));
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

  async remove(id: string): Promise<void> {
    await this.db.getRepository(BackupEntity).delete({ id });
  }
}
