import { createHash } from 'node:crypto';
import type { SiteStatus } from '../../../../../shared/src/site-status.js';
import type { PackageRelease, PackageRow } from '../../../packages/package-release.js';
import type {
  NewBackup,
  PlatformPlace,
  RecordedBackup,
  SitePlace,
  SiteTaskDependencies,
} from '../site-steps.js';

/**
 * The registry and the backup store as the site workflows see them, in memory, for unit tests:
 * every write is also listed in `writes`, in order, so a test can tell how often each happened.
 */
export class MemorySiteRegistry implements SiteTaskDependencies {
  readonly siteRows = new Map<string, SitePlace>();
  readonly platformRows = new Map<string, PlatformPlace>();
  readonly sitePackages = new Map<string, PackageRelease[]>();
  readonly backupRows: RecordedBackup[] = [];
  readonly removedArchives: string[] = [];
  readonly writes: string[] = [];

  constructor(input: { platforms: PlatformPlace[]; sites: SitePlace[]; backups?: RecordedBackup[] }) {
    for (const platform of input.platforms) this.platformRows.set(platform.id, platform);
    for (const site of input.sites) this.siteRows.set(site.siteId, site);
    this.backupRows.push(...(input.backups ?? []));
  }

  places: SiteTaskDependencies['places'] = {
    of: (siteId) => Promise.resolve(structuredClone(this.siteRows.get(siteId) ?? null)),
    platform: (platformId) => Promise.resolve(structuredClone(this.platformRows.get(platformId) ?? null)),
    ofCluster: () => {
      const platforms = [...this.platformRows.values()].filter((platform) => platform.heads);
      const sites = [...this.siteRows.values()].filter(
        (site) => site.platform.heads && (site.status === 'enabled' || site.status === 'disabled'),
      );
      return Promise.resolve(structuredClone({ platforms, sites }));
    },
    head: (serverId) => Promise.resolve({ id: serverId, name: serverId, address: addressOf(serverId) }),
  };

  sites: SiteTaskDependencies['sites'] = {
    knownDomains: (domains) =>
      Promise.resolve(
        domains.filter((domain) => [...this.siteRows.values()].some((site) => site.domain === domain)),
      ),
    setStatus: (id: string, status: SiteStatus) => {
      this.write(`sites.setStatus ${id} ${status}`);
      this.update(id, (site) => ({ ...site, status }));
      return Promise.resolve();
    },
    setPlatform: (id: string, platformId: string) => {
      this.write(`sites.setPlatform ${id} ${platformId}`);
      const platform = this.platformRows.get(platformId)!;
      this.update(id, (site) => ({
        ...site,
        platform,
        web: platform.serverId,
        on: { domain: site.domain, platform: platform.name },
      }));
      return Promise.resolve();
    },
    setCode: (id, code) => {
      this.write(`sites.setCode ${id} ${code.ref} ${code.commit}`);
      return Promise.resolve();
    },
    setMoved: (id, move) => {
      this.write(`sites.setMoved ${id} ${move.platformId} ${move.dbHost} from ${move.previousPlatformId}`);
      const platform = this.platformRows.get(move.platformId)!;
      const previous = this.platformRows.get(move.previousPlatformId)!;
      this.update(id, (site) => ({
        ...site,
        platform,
        web: platform.serverId,
        webName: platform.serverName,
        webAddress: platform.serverAddress,
        database: { ...site.database, host: move.dbHost },
        on: { domain: site.domain, platform: platform.name },
        previous,
      }));
      return Promise.resolve();
    },
    setDatabase: (id, database) => {
      this.write(`sites.setDatabase ${id} ${database.dbServerId} ${database.dbHost}`);
      this.update(id, (site) => ({
        ...site,
        db: database.dbServerId,
        dbName: database.dbServerId,
        dbAddress: addressOf(database.dbServerId),
        database: { ...site.database, host: database.dbHost },
      }));
      return Promise.resolve();
    },
    setDatabaseName: (id, dbName) => {
      this.write(`sites.setDatabaseName ${id} ${dbName}`);
      this.update(id, (site) => ({ ...site, database: { ...site.database, name: dbName } }));
      return Promise.resolve();
    },
    setReleased: (id) => {
      this.write(`sites.setReleased ${id}`);
      this.update(id, (site) => ({ ...site, previous: null }));
      return Promise.resolve();
    },
    setDomain: (id: string, domain: string) => {
      this.write(`sites.setDomain ${id} ${domain}`);
      this.update(id, (site) => ({ ...site, domain, on: { ...site.on, domain } }));
      return Promise.resolve();
    },
    remove: (id: string) => {
      this.write(`sites.remove ${id}`);
      this.siteRows.delete(id);
      return Promise.resolve();
    },
  };

  packages: SiteTaskDependencies['packages'] = {
    replace: (owner, releases) => {
      this.write(`packages.replace ${owner.siteId} ${releases.length}`);
      this.sitePackages.set(owner.siteId, structuredClone(releases));
      return Promise.resolve();
    },
    list: (owner) =>
      Promise.resolve(
        (this.sitePackages.get(owner.siteId) ?? []).map((release): PackageRow => ({
          ...release,
          title: null,
          lastRemovedSchema: release.lastRemovedSchema ?? 0,
          postUpdates: release.postUpdates ?? null,
          removedPostUpdates: release.removedPostUpdates ?? [],
        })),
      ),
  };

  backups: SiteTaskDependencies['backups'] = {
    recordOnce: (backup: NewBackup) => {
      this.write(`backups.recordOnce ${backup.archiveId} ${backup.reason}`);
      const existing = this.backupRows.find((row) => row.archiveId === backup.archiveId);
      if (existing) return Promise.resolve(existing);
      const row: RecordedBackup = {
        id: `backup-${this.backupRows.length + 1}`,
        archiveId: backup.archiveId,
        databaseArchiveId: backup.databaseArchiveId,
        domain: backup.domain,
        manifest: backup.manifest,
      };
      this.backupRows.push(row);
      return Promise.resolve(row);
    },
    findById: (id) => Promise.resolve(this.backupRows.find((row) => row.id === id) ?? null),
    remove: (id) => {
      this.write(`backups.remove ${id}`);
      const index = this.backupRows.findIndex((row) => row.id === id);
      if (index >= 0) this.backupRows.splice(index, 1);
      return Promise.resolve();
    },
    setVerification: (id, passed) => {
      this.write(`backups.setVerification ${id} ${passed ? 'passed' : 'failed'}`);
      const known = this.backupRows.some((row) => row.id === id);
      return Promise.resolve(known ? '2026-12-06T04:00:00.000Z' : null);
    },
  };

  /** Archives a test damaged or lost: what `archives.check` finds of them (else they are whole). */
  readonly archiveFaults = new Map<string, 'mismatch' | 'missing'>();
  /** Archives with an off-site copy in this target: `archives.putBack` mends their fault from it. */
  readonly offsiteCopies = new Map<string, string>();

  archives: SiteTaskDependencies['archives'] = {
    reserve: (serverId, purpose) => {
      const archiveId = `${purpose}-on-${serverId}-${this.count('archives.reserve') + 1}`;
      this.write(`archives.reserve ${archiveId}`);
      return Promise.resolve(archiveId);
    },
    remove: (archiveId) => {
      this.write(`archives.remove ${archiveId}`);
      this.removedArchives.push(archiveId);
      return Promise.resolve();
    },
    putBack: (archiveId) => {
      this.write(`archives.putBack ${archiveId}`);
      const target = this.offsiteCopies.get(archiveId);
      if (!target) return Promise.resolve({ failed: 'it has no off-site copy' });
      this.archiveFaults.delete(archiveId);
      return Promise.resolve({ from: target });
    },
    check: (archiveId) => {
      const stored = { sha256: sha256Of(archiveId), bytes: 100 };
      const fault = this.archiveFaults.get(archiveId);
      return Promise.resolve({
        archiveId,
        state: fault ?? 'ok',
        expected: stored,
        found: fault === 'missing' ? null : fault ? { sha256: 'f'.repeat(64), bytes: 100 } : stored,
      });
    },
  };

  /** The servers whose agent a test took down (the rest are connected). */
  readonly downServers = new Set<string>();

  agents: SiteTaskDependencies['agents'] = {
    disconnected: (serverIds) => Promise.resolve(serverIds.filter((id) => this.downServers.has(id))),
  };

  edges: SiteTaskDependencies['edges'] = {
    setEdge: (id, edge) => {
      this.write(
        `edges.setEdge ${id} ${[...edge.aliases, ...edge.redirects.map((name) => `${name}>`)].join(',')}`,
      );
      this.update(id, (site) => ({ ...site, edge: structuredClone(edge) }));
      return Promise.resolve();
    },
    queueCertificate: (id) => {
      this.write(`edges.queueCertificate ${id}`);
      return Promise.resolve();
    },
    nextPoolUid: () => {
      this.poolUids += 1;
      return Promise.resolve(200_000 + this.poolUids);
    },
  };
  private poolUids = 0;

  heads: SiteTaskDependencies['heads'] = {
    markStale: (serverIds) => {
      this.write(`heads.markStale ${serverIds.join(',')}`);
      return Promise.resolve();
    },
    clearStale: (serverId) => {
      this.write(`heads.clearStale ${serverId}`);
      return Promise.resolve();
    },
  };

  /** How many times a write was made (by its first words). */
  count(prefix: string): number {
    return this.writes.filter((write) => write.startsWith(prefix)).length;
  }

  private write(description: string): void {
    this.writes.push(description);
  }

  private update(id: string, change: (site: SitePlace) => SitePlace): void {
    const site = this.siteRows.get(id);
    if (site) this.siteRows.set(id, change(site));
  }
}

/** The sha256 a memory registry's archive was stored with (its manifest lists the same). */
export function sha256Of(archiveId: string): string {
  return createHash('sha256').update(archiveId).digest('hex');
}

/** The address of a test server: web<N> at 10.0.0.N, db<N> at 10.0.1.N. */
export function addressOf(serverId: string): string {
  return `10.0.${serverId.startsWith('db') ? 1 : 0}.${serverId.replace(/\D/g, '') || '1'}`;
}

/**
 * Two platforms on web1 (10.2 and 10.3), and a 10.3 on web2, for the site workflows' tests.
 */
export const PLATFORMS: Record<'current' | 'target' | 'elsewhere', PlatformPlace> = {
  current: {
    id: 'platform-102',
    name: 'd102',
    path: '/var/berth/platforms/d102',
    serverId: 'web1',
    serverName: 'web1',
    serverAddress: addressOf('web1'),
    coreVersion: '10.2.0',
  },
  target: {
    id: 'platform-103',
    name: 'd103',
    path: '/var/berth/platforms/d103',
    serverId: 'web1',
    serverName: 'web1',
    serverAddress: addressOf('web1'),
    coreVersion: '10.3.0',
  },
  elsewhere: {
    id: 'platform-103-web2',
    name: 'd103-web2',
    path: '/var/berth/platforms/d103-web2',
    serverId: 'web2',
    serverName: 'web2',
    serverAddress: addressOf('web2'),
    coreVersion: '10.3.0',
  },
};

/** A site on a platform, its database on `db` (beside it on loopback when that is its web server). */
export function sitePlace(
  overrides: Partial<Pick<SitePlace, 'siteId' | 'domain' | 'status' | 'db'>> & {
    platform?: PlatformPlace;
  } = {},
): SitePlace {
  const domain = overrides.domain ?? 'a.example';
  const platform = overrides.platform ?? PLATFORMS.current;
  const db = overrides.db ?? platform.serverId;
  const base = domain.replace(/\W+/g, '_');
  return {
    siteId: overrides.siteId ?? `site-${base}`,
    domain,
    status: overrides.status ?? 'enabled',
    platform,
    web: platform.serverId,
    webName: platform.serverName,
    webAddress: platform.serverAddress,
    db,
    dbName: db,
    dbAddress: addressOf(db),
    previous: null,
    database: {
      name: `${base}_0001`,
      user: `${base}_0001`,
      host: db === platform.serverId ? '127.0.0.1' : addressOf(db),
      port: 3306,
    },
    on: { domain, platform: platform.name },
  };
}
