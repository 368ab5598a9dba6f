import type { SiteEdgesRepository } from './edge/site-edges.repository.js';
import type { ClustersRepository } from '../clusters/clusters.repository.js';
import type { PlatformEntity } from '../platforms/platform.entity.js';
import type { PlatformsRepository } from '../platforms/platforms.repository.js';
import type { ServerEntity } from '../servers/server.entity.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import type { SitesRepository } from './sites.repository.js';
import type { HeadPlace, PlatformPlace, SitePlace } from './tasks/site-steps.js';

/** Where sites and platforms are, as the site tasks record it (SiteTaskDependencies.places). */
export class SitePlaces {
  constructor(
    private readonly sites: Pick<SitesRepository, 'findById' | 'list'>,
    private readonly platforms: Pick<PlatformsRepository, 'findByNameOrId' | 'list'>,
    private readonly servers: Pick<ServersRepository, 'findById'>,
    private readonly clusters: Pick<ClustersRepository, 'heads'>,
    private readonly edges: Pick<SiteEdgesRepository, 'edgeOf'>,
  ) {}

  async of(siteId: string): Promise<SitePlace | null> {
    const site = await this.sites.findById(siteId);
    if (!site) return null;
    const platform = await this.platform(site.platformId);
    if (!platform) throw new Error(`the platform of ${site.domain} is no longer in the registry`);
    const db = await this.servers.findById(site.dbServerId);
    const previous = site.previousPlatformId ? await this.platform(site.previousPlatformId) : null;
    return {
      siteId: site.id,
      domain: site.domain,
      status: site.status,
      platform,
      web: platform.serverId,
      webAddress: platform.serverAddress,
      webName: platform.serverName,
      db: site.dbServerId,
      dbName: db?.name ?? site.dbServerId,
      dbAddress: db?.address ?? null,
      previous,
      database: { name: site.dbName, user: site.dbUser, host: site.dbHost, port: site.dbPort },
      on: { domain: site.domain, platform: platform.name },
      edge: await this.edges.edgeOf(site.id),
    };
  }

  /** Every platform of a cluster, and every site on them that is installed (enabled or disabled). */
  async ofCluster(clusterId: string): Promise<{ platforms: PlatformPlace[]; sites: SitePlace[] }> {
    const platforms: PlatformPlace[] = [];
    const sites: SitePlace[] = [];
    for (const platform of (await this.platforms.list()).filter((item) => item.clusterId === clusterId)) {
      platforms.push((await this.platform(platform.id))!);
      for (const site of await this.sites.list({ platformId: platform.id })) {
        if (site.status !== 'enabled' && site.status !== 'disabled') continue;
        const place = await this.of(site.id);
        if (place) sites.push(place);
      }
    }
    return { platforms, sites };
  }

  /** A server as a head: its name and address. */
  async head(serverId: string): Promise<HeadPlace | null> {
    const server = await this.servers.findById(serverId);
    return server ? headPlace(server) : null;
  }

  async platform(platformId: string): Promise<PlatformPlace | null> {
    const platform = await this.platforms.findByNameOrId(platformId);
    if (!platform) return null;
    const server = await this.servers.findById(platform.serverId);
    if (!platform.clusterId) return platformPlace(platform, server);
    // A stale head (a task went on without it) takes no part until `cluster sync` caught it up.
    const all = await this.clusters.heads(platform.clusterId);
    const heads = all.filter((head) => !head.staleSince).map(headPlace);
    if (heads.length === 0)
      throw new Error(
        all.length === 0
          ? `the cluster of platform ${platform.name} has no heads`
          : `every head of the cluster of platform ${platform.name} is stale: sync one (berth cluster sync)`,
      );
    // The app steps run on the first head by name: the same one for every platform of the cluster,
    // so that a migrate between two of them is not a move between servers.
    const app = heads[0]!;
    return {
      ...platformPlace(platform, { name: app.name, address: app.address }),
      serverId: app.id,
      heads,
    };
  }
}

function headPlace(server: Pick<ServerEntity, 'id' | 'name' | 'address'>): HeadPlace {
  return { id: server.id, name: server.name, address: server.address };
}

function platformPlace(
  platform: PlatformEntity,
  server: Pick<ServerEntity, 'name' | 'address'> | null,
): PlatformPlace {
  return {
    id: platform.id,
    name: platform.name,
    path: platform.path,
    serverId: platform.serverId,
    serverName: server?.name ?? platform.serverId,
    serverAddress: server?.address ?? null,
    coreVersion: platform.coreVersion,
  };
}
