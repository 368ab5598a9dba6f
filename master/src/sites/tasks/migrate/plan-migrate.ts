import type { DeployHook } from '../../../../../shared/src/deploy-hooks.js';
import { siteActions, statesOffering, type SiteAction } from '../../../../../shared/src/site-actions.js';
import type { ServerRole } from '../../../../../shared/src/server-roles.js';
import type { SiteStatus } from '../../../../../shared/src/site-status.js';
import type { MigrateParams, MigrateStrategy } from '../../../../../shared/src/tasks.js';
import { siteDatabaseNames } from '../../site-names.js';
import type { CompatibilityReport } from '../../../packages/compatibility.js';
import { placeDatabase } from '../../database-placement.js';
import { SitesErrorCode } from '../../sites.errors.js';
import { scratchSiteNames } from '../scratch-site.js';

/** Why a site task is refused before anything is written: its API error. */
export interface Refusal {
  code: SitesErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export interface MigrateTarget {
  id: string;
  name: string;
  status: string;
  /** The platform's deploy hooks, run after the updates on a site that comes onto it. */
  deployHooks?: DeployHook[];
}

/** A site as a migrate is planned for it. */
export interface SiteToMigrate {
  domain: string;
  status: SiteStatus;
  platformId: string;
  /** Set while the server it moved from still keeps its copy. */
  previousPlatformId: string | null;
  dbServerId: string;
  dbName: string;
  /** The site's own deploy hooks; null: its target platform's. */
  deployHooks?: DeployHook[] | null;
}

/** The web servers of the site's platform and of the target, as a move needs them. */
export interface MigrateServers {
  from: { id: string; name: string };
  to: { id: string; name: string; roles: readonly ServerRole[]; address: string | null };
}

/** The db server a migrate moves the database to (--db-server), as the planner needs it. */
export interface MigrateDbTarget {
  id: string;
  name: string;
  roles: readonly ServerRole[];
  address: string | null;
  /** Whether a site in the registry already has a database of this site's name there. */
  nameTaken: boolean;
}

/** What a migrate is decided from: all read before, nothing read or written here. */
export interface MigrateRequest {
  site: SiteToMigrate;
  target: MigrateTarget;
  /** Aegir's comparison of the site's packages with the target's (compareForMigration). */
  report: CompatibilityReport;
  force: boolean;
  /** Random bytes (at least 4) that name the rehearsal copy and its database. */
  random: Buffer;
  servers: MigrateServers;
  /** How long the old server keeps the copy of a site moved off it. */
  releaseOldAfterMs: number;
  /** The db server the database moves to; absent: it stays where it is. */
  db?: MigrateDbTarget;
  /** How the site switches (MigrateParams.strategy); absent: in place. */
  strategy?: MigrateStrategy;
}

/**
 * Blue-green switches one web server's vhost to a copy on the same db server: a move to another web
 * server or db server is refused (their windows are in place), as is a migrate that keeps the platform.
 */
export function blueGreenRefusal(request: MigrateRequest): Refusal | null {
  if (request.strategy !== 'blue-green') return null;
  const { site } = request;
  const why =
    request.db !== undefined
      ? 'it keeps the database on its db server (--db-server moves it in place)'
      : request.servers.from.id !== request.servers.to.id
        ? 'it switches on the web server the site is on (a move to another server is in place)'
        : request.target.id === site.platformId
          ? 'it switches to another platform'
          : null;
  return why
    ? {
        code: SitesErrorCode.InvalidInput,
        message: `a blue-green migrate of ${site.domain} is refused: ${why}`,
      }
    : null;
}

/**
 * Whether the site's database can move to `db`: a db server, other than its own, whose address the
 * web server can be given (unless it is the web server itself), with no database of that name.
 */
export function dbMoveRefusal(site: SiteToMigrate, db: MigrateDbTarget, webServerId: string): Refusal | null {
  if (db.id === site.dbServerId) {
    return {
      code: SitesErrorCode.InvalidInput,
      message: `the database of ${site.domain} is already on ${db.name}`,
    };
  }
  const placed = placeDatabase({ id: webServerId, name: '', roles: [], address: null }, db);
  if (!placed.ok) return { code: SitesErrorCode.InvalidInput, message: placed.message };
  if (db.nameTaken) {
    return {
      code: SitesErrorCode.WrongState,
      message: `${db.name} already holds a database named ${site.dbName} (another site's)`,
    };
  }
  return null;
}

/** Whether the site can move to the target's server, when that is another one. */
export function moveRefusal(
  site: SiteToMigrate,
  target: MigrateTarget,
  servers: MigrateServers,
): Refusal | null {
  const { from, to } = servers;
  if (from.id === to.id) return null;
  if (!to.roles.includes('http')) {
    return {
      code: SitesErrorCode.InvalidInput,
      message: `platform ${target.name} is on ${to.name}, which has no web server (it offers ${to.roles.join(', ') || 'nothing'})`,
    };
  }
  if (!to.address) {
    return {
      code: SitesErrorCode.InvalidInput,
      message: `the address of ${to.name} is not known yet: its agent reports it when it connects`,
    };
  }
  if (site.previousPlatformId) {
    return {
      code: SitesErrorCode.WrongState,
      message:
        `${site.domain} still has its copy on the server it moved from: release it first ` +
        `(\`berth site release-old ${site.domain}\`)`,
    };
  }
  return null;
}

/** Whether a platform can be a site's migrate target at all (also what migrate-check asks first). */
export function migrateTargetRefusal(
  site: SiteToMigrate,
  target: MigrateTarget,
  /** A migrate that moves the database may keep the platform. */
  movesDatabase = false,
): Refusal | null {
  if (target.status !== 'verified') {
    return {
      code: SitesErrorCode.PlatformNotReady,
      message: `platform ${target.name} is ${target.status}, not verified: run \`berth platform verify ${target.name}\``,
    };
  }
  if (target.id === site.platformId && !movesDatabase) {
    return { code: SitesErrorCode.InvalidInput, message: `${site.domain} is already on ${target.name}` };
  }
  return null;
}

/** Errors always refuse a move to another platform; warnings refuse unless forced. */
export function incompatibilityRefusal(
  report: CompatibilityReport,
  wording: { refused: string; move: string },
  force: boolean,
): Refusal | null {
  const listed = (severity: string) =>
    report.rows
      .filter((row) => row.severity === severity)
      .map((row) => row.message)
      .join('; ');
  if (report.errors > 0) {
    return {
      code: SitesErrorCode.Incompatible,
      message: `${wording.refused}: ${listed('error')}`,
      details: { report },
    };
  }
  if (report.warnings > 0 && !force) {
    return {
      code: SitesErrorCode.Incompatible,
      message: `${wording.move} has warnings (${listed('warning')}); use force to go ahead`,
      details: { report },
    };
  }
  return null;
}

/** A task the site does not offer in its state, with the state it needs. */
export function stateRefusal(
  site: { domain: string; status: SiteStatus },
  action: SiteAction,
  does: string,
): Refusal | null {
  if (siteActions(site.status).includes(action)) return null;
  const states = statesOffering(action);
  const article = states[0] === 'enabled' ? 'an' : 'a';
  return {
    code: SitesErrorCode.WrongState,
    message: `${site.domain} is ${site.status}; only ${article} ${states.join(' or ')} site ${does}`,
  };
}

/**
 * Decides a migrate before it is queued (DESIGN.md "Migrate", compatibility first): the target can
 * take the site, the site offers a migrate, the packages allow it, and the rehearsal copy gets its
 * names — `rehearsal-<hex>.<domain>` beside the site, with a database and user of its own. Pure.
 * The archives are reserved by the caller, once this says yes.
 */
export function planMigrate(
  request: MigrateRequest,
):
  | { ok: true; params: Omit<MigrateParams, 'backupArchiveId' | 'rollbackArchiveId'> }
  | ({ ok: false } & Refusal) {
  const { site, target } = request;
  const refusal =
    migrateTargetRefusal(site, target, request.db !== undefined) ??
    stateRefusal(site, 'migrate', 'migrates') ??
    moveRefusal(site, target, request.servers) ??
    (request.db ? dbMoveRefusal(site, request.db, request.servers.to.id) : null) ??
    blueGreenRefusal(request) ??
    incompatibilityRefusal(
      request.report,
      {
        refused: `${site.domain} cannot move to ${target.name}`,
        move: `moving ${site.domain} to ${target.name}`,
      },
      request.force,
    );
  if (refusal) return { ok: false, ...refusal };
  const named = scratchSiteNames('rehearsal', site.domain, request.random);
  if (!named.ok) return { ok: false, code: SitesErrorCode.InvalidInput, message: named.message };
  const twin =
    request.strategy === 'blue-green' ? scratchSiteNames('green', site.domain, request.random) : null;
  if (twin && !twin.ok) return { ok: false, code: SitesErrorCode.InvalidInput, message: twin.message };
  return {
    ok: true,
    params: {
      targetPlatformId: target.id,
      targetPlatform: target.name,
      rehearsal: named.scratch,
      ...deployHooksOf(site, target),
      ...(twin?.ok
        ? {
            strategy: 'blue-green' as const,
            // The copy is the site's database from now on: named as the site's are, anew.
            blueGreen: {
              domain: twin.scratch.domain,
              database: siteDatabaseNames(site.domain, () => request.random).database,
            },
          }
        : {}),
      ...(request.servers.from.id !== request.servers.to.id
        ? { releaseOldAfterMs: request.releaseOldAfterMs }
        : {}),
      ...(request.db
        ? {
            targetDb: {
              serverId: request.db.id,
              name: request.db.name,
              address: request.db.id === request.servers.to.id ? null : request.db.address,
            },
          }
        : {}),
    },
  };
}

/**
 * The hooks a migrate runs after the updates, fixed when it is queued (a replay runs the same): the
 * site's own list when it has one, else the target platform's; none when the platform stays (the
 * code does not change, and neither do the updates).
 */
function deployHooksOf(site: SiteToMigrate, target: MigrateTarget): { hooks?: DeployHook[] } {
  if (target.id === site.platformId) return {};
  const hooks = site.deployHooks ?? target.deployHooks ?? [];
  return hooks.length > 0 ? { hooks } : {};
}
