import { siteActions, statesOffering, type SiteAction } from '../../../../../shared/src/site-actions.js';
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
    },
  };
}
