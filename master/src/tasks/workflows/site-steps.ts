import type { BackupsRepository } from '../../backups/backups.repository.js';
import type { PackagesRepository } from '../../packages/packages.repository.js';
import type { PlatformEntity } from '../../platforms/platform.entity.js';
import type { PlatformsRepository } from '../../platforms/platforms.repository.js';
import type { SiteEntity } from '../../sites/site.entity.js';
import type { SitesRepository } from '../../sites/sites.repository.js';
import type { TaskContext } from '../workflow.js';

/** Where a site lives: the names every step of its tasks needs. */
export interface SitePlace {
  site: SiteEntity;
  platform: PlatformEntity;
  web: string;
  db: string;
  on: { domain: string; platform: string };
}

export interface SiteStepsDependencies {
  sites: SitesRepository;
  platforms: PlatformsRepository;
  packages: PackagesRepository;
  backups: BackupsRepository;
}

/** The pieces the site tasks share: finding the site, its settings, its backups, its packages. */
export class SiteSteps {
  constructor(private readonly deps: SiteStepsDependencies) {}

  /** Where the task's target site lives. */
  place = (context: TaskContext): Promise<SitePlace> =>
    this.placeOf(context.task.targetId, context.task.targetName);

  /** Where any site lives (a clone's task targets its source and also works on the new site). */
  placeOf = async (siteId: string, name: string = siteId): Promise<SitePlace> => {
    const site = await this.deps.sites.findById(siteId);
    if (!site) throw new Error(`site ${name} is no longer in the registry`);
    const platform = await this.deps.platforms.findByNameOrId(site.platformId);
    if (!platform) throw new Error(`the platform of ${site.domain} is no longer in the registry`);
    return {
      site,
      platform,
      web: platform.serverId,
      db: site.dbServerId,
      on: { domain: site.domain, platform: platform.name },
    };
  };

  /** The host a site's database user may connect from: loopback when web and db share a server. */
  grantHost = (site: SiteEntity): string => (site.dbHost === '127.0.0.1' ? '127.0.0.1' : '%');

  /** What the registry keeps of a site's packages: drush's list with the database's schema versions. */
  recordPackages = async (context: TaskContext, where: SitePlace) => {
    const listed = await context.step(where.web, 'app.packages', where.on);
    const schema = await context.step(where.db, 'db.schema-versions', { database: where.site.dbName });
    await this.deps.packages.replace(
      { siteId: where.site.id },
      listed.packages.map((item) => ({
        name: item.name,
        type: item.type === 'theme' || item.type === 'profile' ? item.type : 'module',
        version: item.version || null,
        schemaVersion: schema.versions[item.name] ?? 0,
        path: null,
      })),
    );
    return { packages: listed.packages.length, schemaVersions: schema.versions };
  };

  writeSettings = (context: TaskContext, where: SitePlace) =>
    context.step(where.web, 'site.write-settings', {
      domain: where.site.domain,
      platformPath: where.platform.path,
      database: where.site.dbName,
      user: where.site.dbUser,
      dbHost: where.site.dbHost,
      dbPort: where.site.dbPort,
      trustedHosts: [where.site.domain],
    });

  /** Archives the site (files and a consistent dump) into the store and records the backup. */
  archive = async (context: TaskContext, where: SitePlace, archiveId: string, reason: string) => {
    const archived = await context.step(where.web, 'site.archive', {
      domain: where.site.domain,
      archiveId,
      includeDatabase: { database: where.site.dbName },
    });
    const packages = await this.deps.packages.list({ siteId: where.site.id });
    const backup = await this.deps.backups.create({
      siteId: where.site.id,
      domain: where.site.domain,
      archiveId,
      taskId: context.task.id,
      reason,
      manifest: {
        ...archived.manifest,
        archive: { sha256: archived.sha256, bytes: archived.bytes },
        platform: { name: where.platform.name, coreVersion: where.platform.coreVersion },
        packages: packages.map(({ name, type, version, schemaVersion }) => ({
          name,
          type,
          version,
          schemaVersion,
        })),
      },
    });
    await context.log(`backup ${backup.id}: ${archived.bytes} bytes, sha256 ${archived.sha256}`);
    return backup;
  };
}
