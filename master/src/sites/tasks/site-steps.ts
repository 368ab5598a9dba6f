import type { SiteStatus } from '../../../../shared/src/site-status.js';
import type { RecordedPackages, SiteOnPlatform, TaskType } from '../../../../shared/src/tasks.js';
import type { PackageRelease, PackageRow } from '../../packages/package-release.js';
import type { TaskContext } from '../../tasks/workflow.js';

/** A platform as the site tasks need it. */
export interface PlatformPlace {
  id: string;
  name: string;
  /** `<root>/platforms/<name>` on its server. */
  path: string;
  serverId: string;
  coreVersion: string | null;
}

/** Where a site lives: the names every step of its tasks needs, as plain data (no secrets). */
export interface SitePlace {
  siteId: string;
  domain: string;
  status: SiteStatus;
  platform: PlatformPlace;
  /** The server that serves it (its platform's). */
  web: string;
  /** The server that holds its database. */
  db: string;
  database: { name: string; user: string; host: string; port: number };
  on: SiteOnPlatform;
}

/** A backup as the site tasks record it (BackupsRepository.recordOnce). */
export interface NewBackup {
  siteId: string;
  domain: string;
  archiveId: string;
  taskId: string;
  reason: string;
  manifest: Record<string, unknown>;
}

export interface RecordedBackup {
  id: string;
  archiveId: string;
  domain: string;
  manifest: Record<string, unknown>;
}

/** What the site tasks read and change in the registry and the backup store. */
export interface SiteTaskDependencies {
  places: {
    /** Where a site lives now; null when it is no longer in the registry. */
    of(siteId: string): Promise<SitePlace | null>;
    platform(platformId: string): Promise<PlatformPlace | null>;
  };
  sites: {
    setStatus(id: string, status: SiteStatus, verified?: boolean): Promise<void>;
    setPlatform(id: string, platformId: string): Promise<void>;
    setDomain(id: string, domain: string): Promise<void>;
    remove(id: string): Promise<void>;
  };
  packages: {
    replace(owner: { siteId: string }, releases: PackageRelease[]): Promise<void>;
    list(owner: { siteId: string }): Promise<PackageRow[]>;
  };
  backups: {
    /** Records a backup of an archive, once: recording the same archive again returns the first. */
    recordOnce(backup: NewBackup): Promise<RecordedBackup>;
    findById(id: string): Promise<RecordedBackup | null>;
    remove(id: string): Promise<void>;
  };
  archives: { remove(archiveId: string): Promise<void> };
}

/** The pieces the site tasks share: where the site is, its settings, its backups, its packages. */
export class SiteSteps {
  constructor(private readonly deps: SiteTaskDependencies) {}

  /**
   * Where a site lives, read once and recorded: a replay after a restart sees the site where it was
   * when the task began, even if the task moved it since.
   */
  place = async (context: TaskContext<TaskType>, siteId: string, name: string): Promise<SitePlace> => {
    const place = await context.record('site.place', () => this.deps.places.of(siteId));
    if (!place) throw new Error(`site ${name} is no longer in the registry`);
    return place;
  };

  /** The host a site's database user may connect from: loopback when web and db share a server. */
  grantHost = (place: SitePlace): string => (place.database.host === '127.0.0.1' ? '127.0.0.1' : '%');

  /** The grant of a site's database and user, as db.create and db.drop take it. */
  database = (place: SitePlace) => ({
    database: place.database.name,
    user: place.database.user,
    host: this.grantHost(place),
  });

  /** What the registry keeps of a site's packages: drush's list with the database's schema versions. */
  recordPackages = async (context: TaskContext<TaskType>, place: SitePlace): Promise<RecordedPackages> => {
    const listed = await context.step(place.web, 'app.packages', place.on);
    const schema = await context.step(place.db, 'db.schema-versions', { database: place.database.name });
    // Drupal names a post-update <module>_post_update_<name>: each one the site ran, by its module.
    const ranBy = (module: string) =>
      schema.postUpdates?.filter((name) => name.startsWith(`${module}_post_update_`)) ?? null;
    await context.record('packages.replace', () =>
      this.deps.packages.replace(
        { siteId: place.siteId },
        listed.packages.map((item) => ({
          name: item.name,
          type: item.type === 'theme' || item.type === 'profile' ? item.type : 'module',
          version: item.version || null,
          schemaVersion: schema.versions[item.name] ?? 0,
          postUpdates: ranBy(item.name),
          path: null,
        })),
      ),
    );
    return { packages: listed.packages.length, schemaVersions: schema.versions };
  };

  writeSettings = (context: TaskContext<TaskType>, place: SitePlace) =>
    context.step(place.web, 'site.write-settings', {
      domain: place.domain,
      platformPath: place.platform.path,
      database: place.database.name,
      user: place.database.user,
      dbHost: place.database.host,
      dbPort: place.database.port,
      trustedHosts: [place.domain],
    });

  /** Archives the site (files and a consistent dump) into the store and records the backup. */
  archive = async (
    context: TaskContext<TaskType>,
    place: SitePlace,
    archiveId: string,
    reason: string,
  ): Promise<RecordedBackup> => {
    const archived = await context.step(place.web, 'site.archive', {
      domain: place.domain,
      archiveId,
      includeDatabase: { database: place.database.name },
    });
    const backup = await context.record('backups.record', async () => {
      const packages = await this.deps.packages.list({ siteId: place.siteId });
      return this.deps.backups.recordOnce({
        siteId: place.siteId,
        domain: place.domain,
        archiveId,
        taskId: context.task.id,
        reason,
        manifest: {
          ...archived.manifest,
          archive: { sha256: archived.sha256, bytes: archived.bytes },
          platform: { name: place.platform.name, coreVersion: place.platform.coreVersion },
          packages: packages.map(({ name, type, version, schemaVersion }) => ({
            name,
            type,
            version,
            schemaVersion,
          })),
        },
      });
    });
    await context.log(`backup ${backup.id}: ${archived.bytes} bytes, sha256 ${archived.sha256}`);
    return backup;
  };
}
