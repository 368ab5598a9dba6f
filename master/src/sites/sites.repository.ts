import type { DataSource, FindOptionsWhere } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { sqlRows } from '../infra/db/sql.js';
import { SiteEntity, type SiteStatus } from './site.entity.js';

export class SitesRepository {
  constructor(private readonly db: DataSource) {}

  create(input: Omit<SiteEntity, 'id' | 'createdAt' | 'updatedAt' | 'verifiedAt'>): Promise<SiteEntity> {
    const repository = this.db.getRepository(SiteEntity);
    return repository.save(repository.create(input));
  }

  findByDomainOrId(domainOrId: string): Promise<SiteEntity | null> {
    const repository = this.db.getRepository(SiteEntity);
    return isUuid(domainOrId)
      ? repository.findOneBy({ id: domainOrId })
      : repository.findOneBy({ domain: domainOrId });
  }

  findById(id: string): Promise<SiteEntity | null> {
    return this.db.getRepository(SiteEntity).findOneBy({ id });
  }

  list(filter: { clientId?: string; platformId?: string }): Promise<SiteEntity[]> {
    const where: FindOptionsWhere<SiteEntity> = {};
    if (filter.clientId !== undefined) where.clientId = filter.clientId;
    if (filter.platformId !== undefined) where.platformId = filter.platformId;
    return this.db.getRepository(SiteEntity).find({ where, order: { domain: 'ASC' } });
  }

  async setStatus(id: string, status: SiteStatus, verified = false): Promise<void> {
    await this.db
      .getRepository(SiteEntity)
      .update({ id }, verified ? { status, verifiedAt: new Date() } : { status });
  }

  async setPlatform(id: string, platformId: string): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, { platformId, verifiedAt: new Date() });
  }

  /** A site under a new name (the end of a rename). */
  async setDomain(id: string, domain: string): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, { domain, verifiedAt: new Date() });
  }

  /**
   * Whether a domain is spoken for: a site has it, or a rename not yet finished is taking it (a
   * rename changes the registry only at its end, but its files and vhost use the name before).
   */
  async isDomainClaimed(domain: string): Promise<boolean> {
    const rows = await sqlRows<{ claimed: number }>(
      this.db,
      `SELECT 1 AS claimed FROM sites WHERE domain = $1
       UNION ALL
       SELECT 1 FROM tasks
        WHERE type = 'site.rename' AND state IN ('queued', 'running') AND params->>'domain' = $1
       LIMIT 1`,
      [domain],
    );
    return rows.length > 0;
  }

  async remove(id: string): Promise<void> {
    await this.db.getRepository(SiteEntity).delete({ id });
  }
}
