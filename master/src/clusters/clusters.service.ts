import type * as api from '../../../shared/src/api.js';
import { validateName } from '../../../shared/src/validation.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/auth.service.js';
import type { ServerEntity } from '../servers/server.entity.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import type { TaskView } from '../tasks/tasks.service.js';
import type { ClusterEntity } from './cluster.entity.js';
import { ClustersError, ClustersErrorCode } from './clusters.errors.js';
import type { ClustersRepository } from './clusters.repository.js';

export type ClusterView = api.Cluster;

/**
 * Web clusters: web servers (heads) that serve the same platforms behind a load balancer. A server
 * is a head of one cluster at most, and offers http.
 */
export class ClustersService {
  constructor(
    private readonly clusters: ClustersRepository,
    /** The servers feature (ServersService): a server by name, and whose agents are connected. */
    private readonly servers: {
      get(nameOrId: string): Promise<ServerEntity>;
      list(): Promise<Array<{ id: string; connected: boolean }>>;
    },
    private readonly queue: Pick<TaskQueue, 'queue'>,
  ) {}

  /** Queues the check that every head sees one shared site directory (cluster.verify). */
  async verify(principal: Principal, nameOrId: string): Promise<TaskView> {
    const cluster = await this.get(nameOrId);
    const heads = await this.clusters.heads(cluster.id);
    if (heads.length === 0) {
      throw new ClustersError(ClustersErrorCode.InvalidInput, `${cluster.name} has no heads to verify`);
    }
    return this.queue.queue({
      type: 'cluster.verify',
      targetId: cluster.id,
      targetName: cluster.name,
      lockKey: `cluster:${cluster.id}`,
      params: {
        heads: heads.map((head) => ({ serverId: head.id, name: head.name })),
        marker: `.berth-marker-${randomBytes(8).toString('hex')}`,
        token: randomBytes(16).toString('hex'),
      },
      createdBy: principal.name,
    });
  }

  /** Adds the cluster and queues its verify (do the heads share one site directory?). */
  async add(
    principal: Principal,
    input: { name: unknown; servers: unknown },
  ): Promise<{ cluster: ClusterView; task: TaskView }> {
    const name = validateName('cluster name', input.name);
    if (!name.ok) throw new ClustersError(ClustersErrorCode.InvalidInput, name.failure.message);
    if (
      !Array.isArray(input.servers) ||
      input.servers.length === 0 ||
      input.servers.some((server) => typeof server !== 'string' || server === '')
    ) {
      throw new ClustersError(
        ClustersErrorCode.InvalidInput,
        'servers is required: the names of the web servers that are its heads',
      );
    }
    const names = input.servers as string[];
    if (new Set(names).size !== names.length) {
      throw new ClustersError(ClustersErrorCode.InvalidInput, 'servers names a server twice');
    }
    const heads: ServerEntity[] = [];
    for (const server of names) heads.push(await this.head(server));
    let created: ClusterEntity | null;
    try {
      created = await this.clusters.create(
        name.value,
        heads.map((head) => head.id),
      );
    } catch (error) {
      if (isUniqueViolation(error, 'uq_clusters_name')) {
        throw new ClustersError(
          ClustersErrorCode.NameTaken,
          `a cluster named "${name.value}" already exists`,
        );
      }
      throw error;
    }
    if (!created) {
      throw new ClustersError(
        ClustersErrorCode.Refused,
        'one of the servers joined another cluster meanwhile',
      );
    }
    return { cluster: await this.view(created), task: await this.verify(principal, created.id) };
  }

  async list(): Promise<ClusterView[]> {
    const [clusters, connected] = await Promise.all([this.clusters.list(), this.connected()]);
    return Promise.all(clusters.map((cluster) => this.view(cluster, connected)));
  }

  async show(nameOrId: string): Promise<ClusterView> {
    return this.view(await this.get(nameOrId));
  }

  /**
   * A server becomes a head. When the cluster has platforms it joins stale: site tasks leave it out
   * until `cluster sync` copied the platforms to it and wrote its sites (it takes no sites before).
   */
  async addServer(nameOrId: string, serverName: unknown): Promise<ClusterView> {
    const cluster = await this.get(nameOrId);
    const server = await this.head(requireServerName(serverName));
    const { platforms } = await this.clusters.contents(cluster.id);
    if (!(await this.clusters.addHead(cluster.id, server.id, platforms.length > 0))) {
      throw new ClustersError(ClustersErrorCode.Refused, `${server.name} joined another cluster meanwhile`);
    }
    return this.view(cluster);
  }

  /** A head leaves; refused when it is the last one and the cluster's platforms have sites. */
  async removeServer(nameOrId: string, serverName: unknown): Promise<ClusterView> {
    const cluster = await this.get(nameOrId);
    const server = await this.servers.get(requireServerName(serverName));
    if (server.clusterId !== cluster.id) {
      throw new ClustersError(
        ClustersErrorCode.InvalidInput,
        `${server.name} is not a head of ${cluster.name}`,
      );
    }
    if ((await this.clusters.removeHead(cluster.id, server.id)) === 'last head with sites') {
      throw new ClustersError(
        ClustersErrorCode.Refused,
        `${server.name} is the last head of ${cluster.name}, whose platforms have sites: they would have no ` +
          'web server left (migrate them first)',
      );
    }
    return this.view(cluster);
  }

  private async get(nameOrId: string): Promise<ClusterEntity> {
    const cluster = await this.clusters.findByNameOrId(nameOrId);
    if (!cluster) throw ClustersError.notFound(nameOrId);
    return cluster;
  }

  /** A server that can become a head: it offers http and is in no cluster. */
  private async head(name: string): Promise<ServerEntity> {
    const server = await this.servers.get(name);
    if (!server.roles.includes('http')) {
      throw new ClustersError(
        ClustersErrorCode.InvalidInput,
        `${server.name} offers no web server (${server.roles.join(', ') || 'nothing yet'}): a head serves sites`,
      );
    }
    if (server.clusterId) {
      throw new ClustersError(
        ClustersErrorCode.Refused,
        `${server.name} is a head of another cluster already`,
      );
    }
    return server;
  }

  /** Whose agents are connected, by server id. */
  private async connected(): Promise<Map<string, boolean>> {
    return new Map((await this.servers.list()).map((server) => [server.id, server.connected]));
  }

  private async view(cluster: ClusterEntity, connected?: Map<string, boolean>): Promise<ClusterView> {
    const [heads, contents, agents] = await Promise.all([
      this.clusters.heads(cluster.id),
      this.clusters.contents(cluster.id),
      connected ?? this.connected(),
    ]);
    return {
      id: cluster.id,
      name: cluster.name,
      heads: heads.map((head) => ({
        name: head.name,
        address: head.address,
        connected: agents.get(head.id) ?? false,
        roles: head.roles,
        staleSince: head.staleSince?.toISOString() ?? null,
      })),
      platforms: contents.platforms,
      sites: contents.sites,
      sitesSharedAt: cluster.sitesSharedAt?.toISOString() ?? null,
      createdAt: cluster.createdAt.toISOString(),
    };
  }
}

function requireServerName(input: unknown): string {
  if (typeof input !== 'string' || input === '') {
    throw new ClustersError(ClustersErrorCode.InvalidInput, 'server is required: a server name');
  }
  return input;
}
