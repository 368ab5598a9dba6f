import { siteActions, statesOffering, type SiteAction } from '../../../../../shared/src/site-actions.js';
import type { ServerRole } from '../../../../../shared/src/server-roles.js';
import type { SiteStatus } from '../../../../../shared/src/site-status.js';
import type { MigrateParams } from '../../../../../shared/src/tasks.js';
import { validateHostname } from '../../../../../shared/src/validation.js';
import type { CompatibilityReport } from '../../../packages/compatibility.js';
import { siteDatabaseNames } from '../../site-names.js';
import { SitesErrorCode } from '../../sites.errors.js';

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
}

/** A site as a migrate is planned for it. */
export interface SiteToMigrate {
  domain: string;
  status: SiteStatus;
  platformId: string;
  /** Set while the server it moved from still keeps its copy. */
  previousPlatformId: string | null;
}

/** The web servers of the site's platform and of the target, as a move needs them. */
export interface MigrateServers {
  from: { id: string; name: string };
  to: { id: string; name: string; roles: readonly ServerRole[]; address: string | null };
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
export function migrateTargetRefusal(site: SiteToMigrate, target: MigrateTarget): Refusal | null {
  if (target.status !== 'verified') {
    return {
      code: SitesErrorCode.PlatformNotReady,
      message: `platform ${target.name} is ${target.status}, not verified: run \`berth platform verify ${target.name}\``,
    };
  }
  if (target.id === site.platformId) {
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
    migrateTargetRefusal(site, target) ??
    stateRefusal(site, 'migrate', 'migrates') ??
    moveRefusal(site, target, request.servers) ??
    incompatibilityRefusal(
      request.report,
      {
        refused: `${site.domain} cannot move to ${target.name}`,
        move: `moving ${site.domain} to ${target.name}`,
      },
      request.force,
    );
  if (refusal) return { ok: false, ...refusal };
  const rehearsalDomain = `rehearsal-${request.random.subarray(0, 4).toString('hex')}.${site.domain}`;
  if (!validateHostname('rehearsal domain', rehearsalDomain).ok) {
    return {
      ok: false,
      code: SitesErrorCode.InvalidInput,
      message: `${site.domain} is too long for a rehearsal copy beside it`,
    };
  }
  const names = siteDatabaseNames(rehearsalDomain, () => request.random);
  return {
    ok: true,
    params: {
      targetPlatformId: target.id,
      targetPlatform: target.name,
      rehearsal: { domain: rehearsalDomain, database: names.database, user: names.user },
      ...(request.servers.from.id !== request.servers.to.id
        ? { releaseOldAfterMs: request.releaseOldAfterMs }
        : {}),
    },
  };
}
