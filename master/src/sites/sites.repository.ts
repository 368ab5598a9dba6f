import { In, LessThanOrEqual, type DataSource, type FindOptionsWhere } from 'typeorm';
import type { DeployHook } from '../../../shared/src/deploy-hooks.js';
import { isUuid } from '../../../shared/src/validation.js';
import { containsPattern } from '../infra/db/keyset.js';
import { CertificateEntity, SiteAliasEntity, SiteEdgeEntity } from './edge/site-edge.entity.js';
import { SiteEntity, type SiteStatus } from './site.entity.js';

/** A page of the site list: filters, and where the previous page ended (by domain, the order). */
export interface SitePageQuery {
  clientId?: string;
  platformId?: string;
  /** On this server: its platform's web server, or its database server. */
  serverId?: string;
  status?: SiteStatus;
  /** A piece of the domain, anywhere in it (case-insensitive). */
  q?: string;
  /** The last domain of the previous page: this page starts after it. */
  after?: string;
  limit: number;
}

export class SitesRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * One page of sites in domain order, filtered in the query. Keyset paging (after the last domain
   * seen, not an offset): a site added or removed between two pages moves no other row across the
   * page boundary, so none is skipped or shown twice. `more` says whether a next page exists.
   */
  async page(query: SitePageQuery): Promise<{ sites: SiteEntity[]; more: boolean }> {
    const builder = this.db.getRepository(SiteEntity).createQueryBuilder('s');
    if (query.clientId !== undefined)
      builder.andWhere('s.client_id = :clientId', { clientId: query.clientId });
    if (query.platformId !== undefined)
      builder.andWhere('s.platform_id = :platformId', { platformId: query.platformId });
    if (query.status !== undefined) builder.andWhere('s.status = :status', { status: query.status });
    if (query.serverId !== undefined) {
      builder.andWhere(
        '(s.db_server_id = :serverId OR s.platform_id IN (SELECT p.id FROM platforms p WHERE p.server_id = :serverId))',
        { serverId: query.serverId },
      );
    }
    if (query.q) {
      builder.andWhere("s.domain ILIKE :pattern ESCAPE '\\'", { pattern: containsPattern(query.q) });
    }
    if (query.after !== undefined) builder.andWhere('s.domain > :after', { after: query.after });
    const rows = await builder
      .orderBy('s.domain', 'ASC')
      .take(query.limit + 1)
      .getMany();
    return { sites: rows.slice(0, query.limit), more: rows.length > query.limit };
  }

  /** A new site; its cron runs hourly unless said otherwise, and its deploy hooks are its platform's. */
  create(
    input: Omit<
      SiteEntity,
      | 'id'
      | 'createdAt'
      | 'updatedAt'
      | 'verifiedAt'
      | 'previousPlatformId'
      | 'releaseOldAfter'
      | 'cronEveryMinutes'
      | 'deployHooks'
      | 'repositoryUrl'
      | 'codeRef'
      | 'codeCommit'
      | 'repositoryKeyEncrypted'
    > & {
      cronEveryMinutes?: number;
      repositoryUrl?: string | null;
      codeRef?: string | null;
      repositoryKeyEncrypted?: string | null;
    },
  ): Promise<SiteEntity> {
    const repository = this.db.getRepository(SiteEntity);
    return repository.save(
      repository.create({
        repositoryUrl: null,
        codeRef: null,
        repositoryKeyEncrypted: null,
        ...input,
        previousPlatformId: null,
        releaseOldAfter: null,
        deployHooks: null,
        codeCommit: null,
      }),
    );
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

  /** The sites of these ids that exist, in one query (a page of projects' environments). */
  findByIds(ids: readonly string[]): Promise<SiteEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.getRepository(SiteEntity).findBy({ id: In([...ids]) });
  }

  list(filter: { clientId?: string; platformId?: string }): Promise<SiteEntity[]> {
    const where: FindOptionsWhere<SiteEntity> = {};
    if (filter.clientId !== undefined) where.clientId = filter.clientId;
    if (filter.platformId !== undefined) where.platformId = filter.platformId;
    return this.db.getRepository(SiteEntity).find({ where, order: { domain: 'ASC' } });
  }

  /** The site whose database is `dbName` on server `dbServerId`, if one is. */
  findByDatabase(dbServerId: string, dbName: string): Promise<SiteEntity | null> {
    return this.db.getRepository(SiteEntity).findOneBy({ dbServerId, dbName });
  }

  async setStatus(id: string, status: SiteStatus, verified = false): Promise<void> {
    await this.db
      .getRepository(SiteEntity)
      .update({ id }, verified ? { status, verifiedAt: new Date() } : { status });
  }

  async setPlatform(id: string, platformId: string): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, { platformId, verifiedAt: new Date() });
  }

  /**
   * A site that moved to a platform on another server: its database host as the new server
   * reaches it, and the previous platform kept until the site is released from its server.
   */
  async setMoved(
    id: string,
    move: { platformId: string; dbHost: string; previousPlatformId: string; releaseOldAfter: Date },
  ): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, { ...move, verifiedAt: new Date() });
  }

  /** The site's database moved to another db server, reached there at `dbHost`. */
  async setDatabase(id: string, database: { dbServerId: string; dbHost: string }): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, database);
  }

  /** The site runs on another database of its db server now (a blue-green migrate's copy). */
  async setDatabaseName(id: string, dbName: string): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, { dbName });
  }

  /** The site no longer has a copy on its previous server. */
  async setReleased(id: string): Promise<void> {
    await this.db
      .getRepository(SiteEntity)
      .update({ id }, { previousPlatformId: null, releaseOldAfter: null });
  }

  /** The sites whose previous server's copy is due to be released, oldest first. */
  dueForRelease(now: Date, limit: number): Promise<SiteEntity[]> {
    return this.db.getRepository(SiteEntity).find({
      where: { releaseOldAfter: LessThanOrEqual(now) },
      order: { releaseOldAfter: 'ASC' },
      take: limit,
    });
  }

  async setCronEvery(id: string, everyMinutes: number): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, { cronEveryMinutes: everyMinutes });
  }

  /** The site's own deploy hooks; null: its platform's. */
  async setDeployHooks(id: string, hooks: DeployHook[] | null): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, { deployHooks: hooks });
  }

  /** The site's own repository is at this ref and commit now (an install with --repo, a deploy). */
  async setCode(id: string, code: { ref: string; commit: string; url?: string }): Promise<void> {
    await this.db
      .getRepository(SiteEntity)
      .update(
        { id },
        { codeRef: code.ref, codeCommit: code.commit, ...(code.url ? { repositoryUrl: code.url } : {}) },
      );
  }

  /** A site under a new name (the end of a rename). */
  async setDomain(id: string, domain: string): Promise<void> {
    await this.db.getRepository(SiteEntity).update({ id }, { domain, verifiedAt: new Date() });
  }

  /** Whether a site has this domain. */
  /** Of these domains, the ones that are sites. */
  async knownDomains(domains: readonly string[]): Promise<string[]> {
    if (domains.length === 0) return [];
    const rows = await this.db
      .getRepository(SiteEntity)
      .find({ where: { domain: In([...domains]) }, select: { domain: true } });
    return rows.map((row) => row.domain);
  }

  /** Whether a site has this domain, or serves or redirects it as another of its names. */
  async hasDomain(domain: string): Promise<boolean> {
    return (
      (await this.db.getRepository(SiteEntity).existsBy({ domain })) ||
      (await this.db.getRepository(SiteAliasEntity).existsBy({ name: domain }))
    );
  }

  /** The site and everything of its edge (its other names, HTTPS settings, certificates). */
  async remove(id: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await manager.getRepository(SiteAliasEntity).delete({ siteId: id });
      await manager.getRepository(SiteEdgeEntity).delete({ siteId: id });
      await manager.getRepository(CertificateEntity).delete({ siteId: id });
      await manager.getRepository(SiteEntity).delete({ id });
    });
  }
}
