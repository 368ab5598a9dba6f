import type * as api from '../../../shared/src/api.js';
import { validateAbsolutePath, validatePlatformName } from '../../../shared/src/validation.js';
import type { Principal } from '../auth/auth.service.js';
import { isUniqueViolation } from '../infra/db/sql.js';
import type { PackagesRepository } from '../packages/packages.repository.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import { ServersError } from '../servers/servers.errors.js';
import type { ClustersRepository } from '../clusters/clusters.repository.js';
import { ClustersError } from '../clusters/clusters.errors.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import type { TaskView } from '../tasks/tasks.service.js';
import type { PlatformEntity } from './platform.entity.js';
import { PlatformsError, PlatformsErrorCode } from './platforms.errors.js';
import type { PlatformsRepository } from './platforms.repository.js';

export type PlatformView = api.Platform;

/** Platforms: codebases on a server, verified by a static scan into packages and schema versions. */
export class PlatformsService {
  constructor(
    private readonly platforms: PlatformsRepository,
    private readonly packages: PackagesRepository,
    private readonly servers: ServersRepository,
    private readonly queue: TaskQueue,
    private readonly clusters: Pick<ClustersRepository, 'findByNameOrId' | 'heads'>,
  ) {}

  /** Registers a platform and queues its verify. The codebase lives at <root>/platforms/<name> on the server. */
  async add(
    principal: Principal,
    input: { name: unknown; server?: unknown; cluster?: unknown; path?: unknown },
  ): Promise<{ platform: PlatformView; task: TaskView }> {
    const name = validatePlatformName('platform name', input.name);
    if (!name.ok) throw new PlatformsError(PlatformsErrorCode.InvalidInput, name.failure.message);
    const onCluster = input.cluster !== undefined;
    const where = onCluster ? input.cluster : input.server;
    if (typeof where !== 'string' || where === '' || (onCluster && input.server !== undefined)) {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        'server or cluster is required (one of them): the web server that holds it, or the cluster whose every head does',
      );
    }
    let path: string | undefined;
    if (input.path !== undefined) {
      const checked = validateAbsolutePath('path', input.path);
      if (!checked.ok) throw new PlatformsError(PlatformsErrorCode.InvalidInput, checked.failure.message);
      if (!checked.value.endsWith(`/platforms/${name.value}`)) {
        throw new PlatformsError(
          PlatformsErrorCode.InvalidInput,
          `path must be <agent root>/platforms/${name.value}: the agent finds platforms by name under its root`,
        );
      }
      path = checked.value;
    }
    const { serverId, clusterId } = onCluster
      ? await this.clusterPlace(where)
      : await this.serverPlace(where);
    let platform: PlatformEntity;
    try {
      platform = await this.platforms.create({
        name: name.value,
        serverId,
        clusterId,
        // The agent's default root; a server with another --root needs --path.
        path: path ?? `/var/berth/platforms/${name.value}`,
        docroot: 'web',
      });
    } catch (error) {
      if (isUniqueViolation(error, 'uq_platforms_name')) {
        throw new PlatformsError(
          PlatformsErrorCode.NameTaken,
          `a platform named "${name.value}" already exists`,
        );
      }
      throw error;
    }
    const task = await this.queueVerify(principal, platform);
    return { platform: await this.view(platform), task };
  }

  async verify(principal: Principal, nameOrId: string): Promise<TaskView> {
    return this.queueVerify(principal, await this.get(nameOrId));
  }

  async get(nameOrId: string): Promise<PlatformEntity> {
    const platform = await this.platforms.findByNameOrId(nameOrId);
    if (!platform) throw PlatformsError.notFound(nameOrId);
    return platform;
  }

  async list(): Promise<PlatformView[]> {
    return Promise.all((await this.platforms.list()).map((platform) => this.view(platform)));
  }

  async show(nameOrId: string): Promise<PlatformView & { packages: api.Package[] }> {
    const platform = await this.get(nameOrId);
    return {
      ...(await this.view(platform)),
      packages: await this.packages.list({ platformId: platform.id }),
    };
  }

  /**
   * Platform upgrade: queues one task that moves every site of `from` to `to`, each site with its own
   * migrate (rehearsal, short window); at most `concurrency` in flight.
   */
  async migrateSites(
    principal: Principal,
    from: string,
    input: { to: unknown; concurrency?: unknown; force?: unknown },
  ): Promise<TaskView> {
    const source = await this.get(from);
    if (typeof input.to !== 'string' || input.to === '') {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        'to is required: the platform to move the sites to',
      );
    }
    const target = await this.get(input.to);
    if (target.id === source.id) {
      throw new PlatformsError(PlatformsErrorCode.InvalidInput, 'the target platform is the platform itself');
    }
    if (target.status !== 'verified') {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        `platform ${target.name} is ${target.status}, not verified: run \`berth platform verify ${target.name}\``,
      );
    }
    const concurrency = input.concurrency ?? 2;
    if (
      typeof concurrency !== 'number' ||
      !Number.isInteger(concurrency) ||
      concurrency < 1 ||
      concurrency > 32
    ) {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        'concurrency must be a whole number from 1 to 32',
      );
    }
    const sites = await this.platforms.sitesOn(source.id);
    if (sites.length === 0) {
      throw new PlatformsError(PlatformsErrorCode.InvalidInput, `platform ${source.name} hosts no sites`);
    }
    return this.queue.queue({
      type: 'platform.migrate-sites',
      targetId: source.id,
      targetName: source.name,
      lockKey: `platform:${source.id}`,
      params: {
        targetPlatformId: target.id,
        targetPlatform: target.name,
        concurrency,
        force: input.force === true,
        sites,
      },
      createdBy: principal.name,
    });
  }

  /** Locks a platform: it takes no new sites; the sites on it stay where they are. */
  async lock(nameOrId: string): Promise<PlatformView> {
    return this.setLocked(nameOrId, true);
  }

  /** Unlocks a platform: it takes new sites again. */
  async unlock(nameOrId: string): Promise<PlatformView> {
    return this.setLocked(nameOrId, false);
  }

  /**
   * Removes a platform from the registry, with the packages recorded for it, once no site is on it.
   * The codebase on the server is the operator's: Berth never deletes it.
   */
  async delete(principal: Principal, nameOrId: string): Promise<{ deleted: PlatformView; message: string }> {
    const platform = await this.get(nameOrId);
    const view = await this.view(platform);
    const removal = await this.platforms.removeUnused(platform.id);
    if (!removal.removed) {
      if (removal.gone) throw PlatformsError.notFound(nameOrId);
      if (removal.siteDomains.length > 0) {
        const count = removal.siteDomains.length;
        const shown = removal.siteDomains.slice(0, 5).join(', ');
        const more = count > 5 ? ` and ${count - 5} more` : '';
        throw new PlatformsError(
          PlatformsErrorCode.Busy,
          `platform ${platform.name} has ${count} site${count === 1 ? '' : 's'} on it (${shown}${more}): ` +
            'migrate or delete them first',
        );
      }
      throw new PlatformsError(
        PlatformsErrorCode.Busy,
        `platform ${platform.name} has a task queued or running (${removal.activeTasks.join(', ')}): ` +
          'wait for it (`berth task show ID`) and try again',
      );
    }
    return {
      deleted: view,
      message:
        `platform ${platform.name} is no longer in the registry (deleted by ${principal.name}); ` +
        `its codebase is still at ${platform.path} on ${view.serverName}: remove it there if you no longer need it`,
    };
  }

  private async setLocked(nameOrId: string, locked: boolean): Promise<PlatformView> {
    const platform = await this.get(nameOrId);
    const updated = await this.platforms.setLocked(platform.id, locked);
    if (!updated) throw PlatformsError.notFound(nameOrId);
    return this.view(updated);
  }

  private async serverPlace(name: string): Promise<{ serverId: string; clusterId: null }> {
    const server = await this.servers.findByNameOrId(name);
    if (!server) throw ServersError.notFound(name);
    return { serverId: server.id, clusterId: null };
  }

  /** A platform on a cluster: recorded on its first head, and on the cluster. */
  private async clusterPlace(name: string): Promise<{ serverId: string; clusterId: string }> {
    const cluster = await this.clusters.findByNameOrId(name);
    if (!cluster) throw ClustersError.notFound(name);
    const [first] = (await this.clusters.heads(cluster.id)).filter((head) => !head.staleSince);
    if (!first) {
      throw new PlatformsError(
        PlatformsErrorCode.InvalidInput,
        `cluster ${cluster.name} has no heads that are not stale: add one (\`berth cluster add-server ${cluster.name} SERVER\`) or sync one (\`berth cluster sync\`)`,
      );
    }
    return { serverId: first.id, clusterId: cluster.id };
  }

  private async queueVerify(principal: Principal, platform: PlatformEntity): Promise<TaskView> {
    // A stale head is left out: `cluster sync` copies and checks the platforms it lacks.
    const heads = platform.clusterId
      ? (await this.clusters.heads(platform.clusterId)).filter((head) => !head.staleSince)
      : null;
    return this.queue.queue({
      type: 'platform.verify',
      targetId: platform.id,
      targetName: platform.name,
      lockKey: `platform:${platform.id}`,
      params: {
        platform: platform.name,
        serverId: platform.serverId,
        ...(heads ? { heads: heads.map((head) => ({ serverId: head.id, name: head.name })) } : {}),
      },
      createdBy: principal.name,
    });
  }

  private async view(platform: PlatformEntity): Promise<PlatformView> {
    const server = await this.servers.findById(platform.serverId);
    return {
      id: platform.id,
      name: platform.name,
      serverId: platform.serverId,
      serverName: server?.name ?? platform.serverId,
      cluster: platform.clusterId
        ? ((await this.clusters.findByNameOrId(platform.clusterId))?.name ?? platform.clusterId)
        : null,
      path: platform.path,
      docroot: platform.docroot,
      coreVersion: platform.coreVersion,
      status: platform.status,
      locked: platform.locked,
      verifiedAt: platform.verifiedAt?.toISOString() ?? null,
      createdAt: platform.createdAt.toISOString(),
    };
  }
}
