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
    private readonly sites: Pick<SitesRepository, 'findById'>,
    private readonly platforms: Pick<PlatformsRepository, 'findByNameOrId'>,
    private readonly servers: Pick<ServersRepository, 'findById'>,
    private readonly clusters: Pick<ClustersRepository, 'heads'>,
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
    };
  }

  async platform(platformId: string): Promise<PlatformPlace | null> {
    const platform = await this.platforms.findByNameOrId(platformId);
    if (!platform) return null;
    const server = await this.servers.findById(platform.serverId);
    if (!platform.clusterId) return platformPlace(platform, server);
    const heads = (await this.clusters.heads(platform.clusterId)).map(headPlace);
    if (heads.length === 0) throw new Error(`the cluster of platform ${platform.name} has no heads`);
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
