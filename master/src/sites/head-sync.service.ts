import type { Principal } from '../auth/auth.service.js';
import { ClustersError } from '../clusters/clusters.errors.js';
import type { ClustersRepository } from '../clusters/clusters.repository.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { SitesError, SitesErrorCode } from './sites.errors.js';

/**
 * Syncing a head of a cluster (`berth cluster sync NAME SERVER`): the sites feature owns what a
 * head holds of the sites (settings, links, vhosts, grants), so it owns bringing one up to date.
 */
export class HeadSyncService {
  constructor(
    private readonly clusters: Pick<ClustersRepository, 'findByNameOrId' | 'heads'>,
    private readonly agents: { isConnected(serverId: string): Promise<boolean> },
    private readonly queue: Pick<TaskQueue, 'queue'>,
  ) {}

  async sync(principal: Principal, clusterName: string, input: { server?: unknown }): Promise<TaskView> {
    const cluster = await this.clusters.findByNameOrId(clusterName);
    if (!cluster) throw ClustersError.notFound(clusterName);
    if (typeof input.server !== 'string' || input.server === '')
      throw new SitesError(SitesErrorCode.InvalidInput, 'server is required: the head to sync');
    const heads = await this.clusters.heads(cluster.id);
    const head = heads.find((server) => server.name === input.server || server.id === input.server);
    if (!head)
      throw new SitesError(SitesErrorCode.InvalidInput, `${input.server} is not a head of ${cluster.name}`);
    if (!(await this.agents.isConnected(head.id)))
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `${head.name}'s agent is not connected: start it, then sync ${head.name}`,
      );
    if (heads.every((other) => other.id === head.id || other.staleSince))
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `${head.name} is the only head of ${cluster.name} that is not stale: nothing to compare it with`,
      );
    return this.queue.queue({
      type: 'cluster.sync-head',
      targetId: cluster.id,
      targetName: cluster.name,
      lockKey: `head-sync:${head.id}`,
      params: { serverId: head.id, serverName: head.name },
      createdBy: principal.name,
    });
  }
}
