import { In, type DataSource } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { sqlOne, sqlRows } from '../infra/db/sql.js';
import type { PlatformSource } from '../../../shared/src/platform-source.js';
import { containsPattern, splitPage } from '../infra/db/keyset.js';
import { PlatformEntity, type PlatformStatus } from './platform.entity.js';
import type { DeployHook } from '../../../shared/src/deploy-hooks.js';

/** A page of the platform list: filters, and where the previous page ended (by name, the order). */
export interface PlatformPageQuery {
  /** Held by this server: recorded on it, or on its cluster (every head of a cluster holds its platforms). */
  server?: { id: string; clusterId: string | null };
  status?: PlatformStatus;
  /** A piece of the name, anywhere in it (case-insensitive). */
  q?: string;
  /** The last name of the previous page: this page starts after it. */
  after?: string;
  limit: number;
}

export class PlatformsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * One page of platforms in name order, filtered in the query. Keyset paging (after the last name
   * seen): a platform added or removed between two pages moves no other one across a page boundary.
   */
  async page(query: PlatformPageQuery): Promise<{ platforms: PlatformEntity[]; more: boolean }> {
    const builder = this.db.getRepository(PlatformEntity).createQueryBuilder('p');
    if (query.server !== undefined) {
      builder.andWhere(
        query.server.clusterId === null
          ? 'p.server_id = :serverId'
          : '(p.server_id = :serverId OR p.cluster_id = :clusterId)',
        { serverId: query.server.id, clusterId: query.server.clusterId },
      );
    }
    if (query.status !== undefined) builder.andWhere('p.status = :status', { status: query.status });
    if (query.q) builder.andWhere("p.name ILIKE :pattern ESCAPE '\\'", { pattern: containsPattern(query.q) });
    if (query.after !== undefined) builder.andWhere('p.name > :after', { after: query.after });
    const rows = await builder
      .orderBy('p.name', 'ASC')
      .limit(query.limit + 1)
      .getMany();
    const { rows: platforms, more } = splitPage(rows, query.limit);
    return { platforms, more };
  }

  create(input: {
    name: string;
    serverId: string;
    clusterId?: string | null;
    path: string;
    docroot: string;
    /** A platform Berth builds: 'building' until its build task verified it. */
    source?: PlatformSource;
    deployKeyEncrypted?: string | null;
    deployHooks?: DeployHook[];
  }): Promise<PlatformEntity> {
    const repository = this.db.getRepository(PlatformEntity);
    return repository.save(
      repository.create({ ...input, status: input.source ? 'building' : 'new', locked: false }),
    );
  }

  /** A build or a pull put the codebase in place: its path on the server, the commit it is at. */
  async recordBuilt(id: string, built: { path: string; commit: string | null }): Promise<void> {
    await this.db.getRepository(PlatformEntity).update({ id }, { path: built.path, commit: built.commit });
  }

  async commitOf(id: string): Promise<string | null> {
    return (await this.db.getRepository(PlatformEntity).findOneBy({ id }))?.commit ?? null;
  }

  async pathOf(id: string): Promise<string | null> {
    return (await this.db.getRepository(PlatformEntity).findOneBy({ id }))?.path ?? null;
  }

  /** A build undone: the platform and its packages, whatever its state (no site can be on it yet). */
  async remove(id: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      await sqlRows(manager, `DELETE FROM package_instances WHERE platform_id = $1 RETURNING id`, [id]);
      await sqlRows(
        manager,
        `DELETE FROM platforms WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM sites WHERE platform_id = $1) RETURNING id`,
        [id],
      );
    });
  }

  findByNameOrId(nameOrId: string): Promise<PlatformEntity | null> {
    const repository = this.db.getRepository(PlatformEntity);
    return isUuid(nameOrId)
      ? repository.findOneBy({ id: nameOrId })
      : repository.findOneBy({ name: nameOrId });
  }

  list(): Promise<PlatformEntity[]> {
    return this.db.getRepository(PlatformEntity).find({ order: { name: 'ASC' } });
  }

  /** The platforms of these ids that exist, in one query. */
  findByIds(ids: readonly string[]): Promise<PlatformEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.getRepository(PlatformEntity).findBy({ id: In([...ids]) });
  }

  async recordVerified(id: string, coreVersion: string | null): Promise<void> {
    await this.db
      .getRepository(PlatformEntity)
      .update({ id }, { status: 'verified', coreVersion, verifiedAt: new Date() });
  }

  /**
   * A verify that failed: a new platform is failed; a verified one stays verified (a scan that could
   * not run says nothing of the code its sites run on), unless `evenIfVerified` (its code is wrong).
   */
  async recordFailed(id: string, evenIfVerified = false): Promise<void> {
    await this.db
      .getRepository(PlatformEntity)
      .update({ id, status: evenIfVerified ? In(['new', 'verified']) : 'new' }, { status: 'failed' });
  }

  /** Sets whether the platform takes new sites; returns it as it is now, or null if it is gone. */
  async setLocked(id: string, locked: boolean): Promise<PlatformEntity | null> {
    const repository = this.db.getRepository(PlatformEntity);
    await repository.update({ id }, { locked });
    return repository.findOneBy({ id });
  }

  async setDeployHooks(id: string, deployHooks: DeployHook[]): Promise<PlatformEntity | null> {
    const repository = this.db.getRepository(PlatformEntity);
    await repository.update({ id }, { deployHooks });
    return repository.findOneBy({ id });
  }

  /** The sites on a platform, by domain (what a platform upgrade moves). */
  sitesOn(id: string): Promise<Array<{ id: string; domain: string }>> {
    return sqlRows(this.db, `SELECT id, domain FROM sites WHERE platform_id = $1 ORDER BY domain`, [id]);
  }

  /**
   * Removes the platform and the packages recorded for it, unless a site is on it or a task of the
   * platform (a verify) is queued or running: then nothing is removed and the obstacles are returned.
   * The platform row is locked for the check, so two deletes cannot interleave.
   */
  removeUnused(id: string, exceptTaskId: string | null = null): Promise<PlatformRemoval> {
    return this.db.transaction(async (manager): Promise<PlatformRemoval> => {
      const locked = await sqlOne<{ id: string }>(
        manager,
        `SELECT id FROM platforms WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!locked) return { removed: false, siteDomains: [], activeTasks: [], gone: true };
      const sites = await sqlRows<{ domain: string }>(
        manager,
        `SELECT domain FROM sites WHERE platform_id = $1 ORDER BY domain`,
        [id],
      );
      const tasks = await sqlRows<{ id: string }>(
        manager,
        `SELECT id FROM tasks
          WHERE (target_id = $1 OR lock_key = $2) AND state IN ('queued', 'running')
            AND ($3::uuid IS NULL OR id <> $3::uuid)
          ORDER BY created_at`,
        [id, `platform:${id}`, exceptTaskId],
      );
      if (sites.length > 0 || tasks.length > 0) {
        return {
          removed: false,
          siteDomains: sites.map((site) => site.domain),
          activeTasks: tasks.map((task) => task.id),
          gone: false,
        };
      }
      await sqlRows(manager, `DELETE FROM package_instances WHERE platform_id = $1 RETURNING id`, [id]);
      await sqlRows(manager, `DELETE FROM platforms WHERE id = $1 RETURNING id`, [id]);
      return { removed: true };
    });
  }
}

export type PlatformRemoval =
  { removed: true } | { removed: false; siteDomains: string[]; activeTasks: string[]; gone: boolean };
