import type { DataSource, EntityManager } from 'typeorm';
import { isUuid } from '../../../shared/src/validation.js';
import { sqlRows } from '../infra/db/sql.js';
import { ServerEntity } from '../servers/server.entity.js';
import { ClusterEntity } from './cluster.entity.js';

/** Clusters and their heads (servers.cluster_id). */
export class ClustersRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Creates the cluster with its heads, in one transaction: null when one of them joined another
   * cluster meanwhile (nothing is written then).
   */
  async create(name: string, serverIds: readonly string[]): Promise<ClusterEntity | null> {
    return this.db
      .transaction(async (manager) => {
        const clusters = manager.getRepository(ClusterEntity);
        const cluster = await clusters.save(clusters.create({ name }));
        for (const serverId of serverIds) {
          if (!(await joinCluster(manager, cluster.id, serverId))) {
            throw new HeadTaken();
          }
        }
        return cluster;
      })
      .catch((error: unknown) => {
        if (error instanceof HeadTaken) return null;
        throw error;
      });
  }

  findByNameOrId(nameOrId: string): Promise<ClusterEntity | null> {
    const repository = this.db.getRepository(ClusterEntity);
    return isUuid(nameOrId)
      ? repository.findOneBy({ id: nameOrId })
      : repository.findOneBy({ name: nameOrId });
  }

  list(): Promise<ClusterEntity[]> {
    return this.db.getRepository(ClusterEntity).find({ order: { name: 'ASC' } });
  }

  /**
   * A server joins the cluster; false when it is in a cluster already. `stale`: it joins stale (the
   * cluster has platforms it lacks), left out of site tasks until `cluster sync` deployed them.
   */
  addHead(clusterId: string, serverId: string, stale = false): Promise<boolean> {
    return joinCluster(this.db.manager, clusterId, serverId, stale);
  }

  /**
   * The server leaves the cluster unless it is the last head while the cluster's platforms have
   * sites; the check and the change under one lock of the cluster row. Says which happened.
   */
  async removeHead(clusterId: string, serverId: string): Promise<'removed' | 'last head with sites'> {
    return this.db.transaction(async (manager) => {
      await sqlRows(manager, `SELECT id FROM clusters WHERE id = $1 FOR UPDATE`, [clusterId]);
      const [counts] = await sqlRows<{ heads: number; sites: number }>(
        manager,
        `SELECT (SELECT count(*)::int FROM servers WHERE cluster_id = $1) AS heads,
                (SELECT count(*)::int FROM sites s JOIN platforms p ON p.id = s.platform_id
                  WHERE p.cluster_id = $1) AS sites`,
        [clusterId],
      );
      if (counts && counts.heads <= 1 && counts.sites > 0) return 'last head with sites';
      await sqlRows(
        manager,
        `UPDATE servers SET cluster_id = NULL, stale_since = NULL WHERE id = $1 AND cluster_id = $2 RETURNING id`,
        [serverId, clusterId],
      );
      return 'removed';
    });
  }

  /** Whether the heads were just seen to share one site directory: when, or null (they do not). */
  async recordSitesShared(clusterId: string, shared: boolean): Promise<void> {
    await this.db
      .getRepository(ClusterEntity)
      .update({ id: clusterId }, { sitesSharedAt: shared ? new Date() : null });
  }

  /** A task went on without these heads: stale from now (kept when they were already). */
  async markStale(serverIds: readonly string[]): Promise<void> {
    if (serverIds.length === 0) return;
    await sqlRows(
      this.db,
      `UPDATE servers SET stale_since = now() WHERE id = ANY($1::uuid[]) AND stale_since IS NULL RETURNING id`,
      [serverIds],
    );
  }

  /** The head is up to date again (cluster sync). */
  async clearStale(serverId: string): Promise<void> {
    await this.db.getRepository(ServerEntity).update({ id: serverId }, { staleSince: null });
  }

  heads(clusterId: string): Promise<ServerEntity[]> {
    return this.db.getRepository(ServerEntity).find({ where: { clusterId }, order: { name: 'ASC' } });
  }

  /** The cluster's platforms by name, and how many sites are on them. */
  async contents(clusterId: string): Promise<{ platforms: string[]; sites: number }> {
    const platforms = await sqlRows<{ name: string; sites: number }>(
      this.db,
      `SELECT p.name, (SELECT count(*)::int FROM sites s WHERE s.platform_id = p.id) AS sites
         FROM platforms p WHERE p.cluster_id = $1 ORDER BY p.name`,
      [clusterId],
    );
    return {
      platforms: platforms.map((row) => row.name),
      sites: platforms.reduce((sum, row) => sum + row.sites, 0),
    };
  }
}

class HeadTaken extends Error {}

async function joinCluster(
  manager: EntityManager,
  clusterId: string,
  serverId: string,
  stale = false,
): Promise<boolean> {
  // Joined and (when it is) stale in one statement: no site task ever sees it half joined.
  const joined = await sqlRows(
    manager,
    `UPDATE servers SET cluster_id = $1, stale_since = CASE WHEN $3::boolean THEN now() ELSE NULL END
      WHERE id = $2 AND cluster_id IS NULL RETURNING id`,
    [clusterId, serverId, stale],
  );
  // A new head has not been seen to share the site directory yet.
  if (joined.length === 1) {
    await sqlRows(manager, `UPDATE clusters SET sites_shared_at = NULL WHERE id = $1 RETURNING id`, [
      clusterId,
    ]);
  }
  return joined.length === 1;
}
