import type { ServerRole } from '../../../../../shared/src/server-roles.js';
import type { ServerDrainParams } from '../../../../../shared/src/tasks.js';
import { compareVersions, type CompatibilityReport } from '../../../packages/compatibility.js';

/** A server as a drain weighs it. */
export interface DrainServer {
  id: string;
  name: string;
  roles: readonly ServerRole[];
  /** What the other servers reach it at; null until its agent said. */
  address: string | null;
}

/** A platform a drained site could go to. */
export interface DrainPlatform {
  id: string;
  name: string;
  serverId: string;
  status: string;
  locked: boolean;
  coreVersion: string | null;
}

/** A site with its platform or its database on the drained server. */
export interface DrainSite {
  id: string;
  domain: string;
  platformId: string;
  dbServerId: string;
  /** Set while the server it moved from still keeps its copy (it cannot move again until released). */
  previousPlatformId: string | null;
}

export interface DrainRequest {
  server: DrainServer;
  /** Where every site goes (--to), or null: the other servers, each site where it fits best. */
  to: DrainServer | null;
  sites: readonly DrainSite[];
  platforms: readonly DrainPlatform[];
  servers: readonly DrainServer[];
  /** Aegir's comparison of a site's packages with a platform's (compareForMigration). */
  report(siteId: string, platformId: string): CompatibilityReport;
  force: boolean;
  /** How many sites and databases each server holds now: a drain fills the emptiest first. */
  load: { sites: ReadonlyMap<string, number>; databases: ReadonlyMap<string, number> };
}

export type DrainPlan = ServerDrainParams['sites'];

/**
 * Where each site of a drained server goes, before anything is queued. A site whose platform is on
 * the server goes to a verified, unlocked platform on another web server (on `to` if given) that
 * takes its packages without errors (nor warnings, unless forced): the same core version first,
 * else the closest newer one, then the emptiest server. A site whose database is on the server
 * gets another db server: its new web server itself when that has MariaDB and is the emptiest,
 * else the emptiest db server. A site with nowhere to go is listed with the reason (its migrate is
 * then not queued); the summary shows it as failed. Pure.
 */
export function planDrain(request: DrainRequest): DrainPlan {
  const servers = new Map(request.servers.map((server) => [server.id, server]));
  const platforms = new Map(request.platforms.map((platform) => [platform.id, platform]));
  const sites = new Map(request.load.sites);
  const databases = new Map(request.load.databases);
  const allowed = (server: DrainServer | undefined, role: ServerRole): server is DrainServer =>
    server !== undefined &&
    server.id !== request.server.id &&
    server.roles.includes(role) &&
    server.address !== null &&
    (request.to === null || request.to.id === server.id);

  return request.sites.map((site) => {
    const entry = { id: site.id, domain: site.domain, platform: null, dbServer: null };
    const current = platforms.get(site.platformId);
    const movesWeb = current?.serverId === request.server.id;
    let webServerId = current?.serverId ?? '';
    let platform: string | null = null;
    if (movesWeb) {
      if (site.previousPlatformId) {
        return {
          ...entry,
          refused: `it still has its copy on the server it moved from: release it first (\`berth site release-old ${site.domain}\`)`,
        };
      }
      const chosen = choosePlatform(request, site, current, (id) => allowed(servers.get(id), 'http'), sites);
      if (typeof chosen === 'string') return { ...entry, refused: chosen };
      platform = chosen.name;
      webServerId = chosen.serverId;
      sites.set(webServerId, (sites.get(webServerId) ?? 0) + 1);
    }
    let dbServer: string | null = null;
    if (site.dbServerId === request.server.id) {
      const candidates = request.servers.filter(
        (server) =>
          server.id !== request.server.id &&
          server.roles.includes('db') &&
          (server.id === webServerId || server.address !== null) &&
          (request.to === null || request.to.id === server.id),
      );
      const emptiest = [...candidates].sort(
        (a, b) =>
          (databases.get(a.id) ?? 0) - (databases.get(b.id) ?? 0) ||
          Number(b.id === webServerId) - Number(a.id === webServerId) ||
          a.name.localeCompare(b.name),
      )[0];
      if (!emptiest) {
        return {
          ...entry,
          refused: `no other db server${request.to ? ` (${request.to.name} has no MariaDB)` : ''} can take its database`,
        };
      }
      dbServer = emptiest.name;
      databases.set(emptiest.id, (databases.get(emptiest.id) ?? 0) + 1);
    }
    return { ...entry, platform, dbServer };
  });
}

function choosePlatform(
  request: DrainRequest,
  site: DrainSite,
  current: DrainPlatform | undefined,
  serverAllowed: (serverId: string) => boolean,
  load: ReadonlyMap<string, number>,
): DrainPlatform | string {
  const version = current?.coreVersion ?? null;
  const rejected: string[] = [];
  const fitting = request.platforms.filter((platform) => {
    if (platform.status !== 'verified' || platform.locked || !serverAllowed(platform.serverId)) return false;
    if (version && platform.coreVersion && compareVersions(platform.coreVersion, version) < 0) return false;
    const report = request.report(site.id, platform.id);
    if (report.errors > 0 || (report.warnings > 0 && !request.force)) {
      rejected.push(`${platform.name} (${report.errors} errors, ${report.warnings} warnings)`);
      return false;
    }
    return true;
  });
  const distance = (platform: DrainPlatform) => (platform.coreVersion === version ? 0 : 1);
  const best = fitting.sort(
    (a, b) =>
      distance(a) - distance(b) ||
      compareVersions(a.coreVersion ?? '0', b.coreVersion ?? '0') ||
      (load.get(a.serverId) ?? 0) - (load.get(b.serverId) ?? 0) ||
      a.name.localeCompare(b.name),
  )[0];
  if (best) return best;
  const where = request.to ? `on ${request.to.name}` : 'on another web server';
  return rejected.length > 0
    ? `no platform ${where} takes its packages: ${rejected.join(', ')}`
    : `no verified, unlocked platform ${where} of core ${version ?? '?'} or newer`;
}
