import type { PlatformEntity } from '../platforms/platform.entity.js';
import type { PlatformsRepository } from '../platforms/platforms.repository.js';
import type { ServerEntity } from '../servers/server.entity.js';
import type { ServersRepository } from '../servers/servers.repository.js';
import type { SitesRepository } from './sites.repository.js';
import type { PlatformPlace, SitePlace } from './tasks/site-steps.js';

/** Where sites and platforms are, as the site tasks record it (SiteTaskDependencies.places). */
export class SitePlaces {
  constructor(
    private readonly sites: Pick<SitesRepository, 'findById'>,
    private readonly platforms: Pick<PlatformsRepository, 'findByNameOrId'>,
    private readonly servers: Pick<ServersRepository, 'findById'>,
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
    return platformPlace(platform, server);
  }
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
