import type { Principal } from '../auth/auth.service.js';
import type { CompatibilityReport } from '../packages/compatibility.js';
import type { PackagesRepository } from '../packages/packages.repository.js';
import type { PlatformsRepository } from '../platforms/platforms.repository.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import { ServersError } from '../servers/servers.errors.js';
import type { TaskQueue } from '../tasks/task-queue.js';
import type { TaskView } from '../tasks/tasks.service.js';
import { siteCompatibility } from './site-compatibility.js';
import { SitesError, SitesErrorCode } from './sites.errors.js';
import type { SitesRepository } from './sites.repository.js';
import { planDrain, type DrainServer } from './tasks/migrate/plan-drain.js';

/** At most this many site migrates of one drain at once. */
const MAX_CONCURRENCY = 32;

/**
 * Server drain: every site with its platform or its database on a server moves off it, one migrate
 * each (planDrain says where), in one task that bounds how many run at once and sums them up.
 */
export class ServerDrainService {
  constructor(
    private readonly sites: Pick<SitesRepository, 'list'>,
    private readonly platforms: Pick<PlatformsRepository, 'list'>,
    private readonly servers: Pick<ServersRepository, 'findByNameOrId' | 'list'>,
    private readonly packages: Pick<PackagesRepository, 'list'>,
    private readonly queue: Pick<TaskQueue, 'queue'>,
  ) {}

  async drain(
    principal: Principal,
    name: string,
    input: { to?: unknown; concurrency?: unknown; force?: unknown },
  ): Promise<TaskView> {
    const server = await this.server(name);
    if (input.to !== undefined && (typeof input.to !== 'string' || input.to === '')) {
      throw new SitesError(SitesErrorCode.InvalidInput, 'to must be a server name');
    }
    const to = typeof input.to === 'string' ? await this.server(input.to) : null;
    if (to?.id === server.id) {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `a drain moves sites off ${server.name}, not onto it`,
      );
    }
    const concurrency = input.concurrency ?? 2;
    if (
      typeof concurrency !== 'number' ||
      !Number.isInteger(concurrency) ||
      concurrency < 1 ||
      concurrency > MAX_CONCURRENCY
    ) {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}`,
      );
    }
    const force = input.force === true;
    const [sites, platforms, servers] = await Promise.all([
      this.sites.list({}),
      this.platforms.list(),
      this.servers.list(),
    ]);
    const serverOf = new Map(platforms.map((platform) => [platform.id, platform.serverId]));
    const leaving = sites.filter(
      (site) => serverOf.get(site.platformId) === server.id || site.dbServerId === server.id,
    );
    if (leaving.length === 0) {
      throw new SitesError(
        SitesErrorCode.InvalidInput,
        `${server.name} hosts no sites and no site databases`,
      );
    }
    const reports = new Map<string, CompatibilityReport>();
    for (const site of leaving) {
      if (serverOf.get(site.platformId) !== server.id) continue;
      for (const platform of platforms) {
        // Only where planDrain could put it: verified, unlocked, elsewhere (on --to if given).
        if (platform.serverId === server.id || platform.status !== 'verified' || platform.locked) continue;
        if (to && platform.serverId !== to.id) continue;
        reports.set(`${site.id} ${platform.id}`, await siteCompatibility(this.packages, site, platform.id));
      }
    }
    const count = (key: (site: (typeof sites)[number]) => string | undefined) => {
      const counts = new Map<string, number>();
      for (const site of sites) {
        const id = key(site);
        if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    };
    const plan = planDrain({
      server: drainServer(server),
      to: to ? drainServer(to) : null,
      sites: leaving,
      platforms,
      servers: servers.map(drainServer),
      report: (siteId, platformId) => reports.get(`${siteId} ${platformId}`)!,
      force,
      load: {
        sites: count((site) => serverOf.get(site.platformId)),
        databases: count((site) => site.dbServerId),
      },
    });
    return this.queue.queue({
      type: 'server.drain',
      targetId: server.id,
      targetName: server.name,
      lockKey: `server-drain:${server.id}`,
      params: { to: to?.name ?? null, concurrency, force, sites: plan },
      createdBy: principal.name,
    });
  }

  private async server(name: string) {
    const server = await this.servers.findByNameOrId(name);
    if (!server) throw ServersError.notFound(name);
    return server;
  }
}

function drainServer(server: DrainServer): DrainServer {
  return { id: server.id, name: server.name, roles: server.roles, address: server.address };
}
