import type {
  CompatibilityReport,
  CompatibilityRow,
  CompatibilitySeverity,
  CompatibilityStatus,
  PackageType,
} from '../../../shared/src/api.js';

// The report is an API answer (GET /api/sites/{domain}/migrate-check): its shape lives in shared/src/api.ts.
export type { CompatibilityReport, CompatibilityRow, CompatibilitySeverity, CompatibilityStatus };

/**
 * Aegir's package comparison for a migrate or a clone: can a site move to a target platform, and
 * which of its packages will get database updates there. Pure: the registry rows come in, a report
 * comes out.
 */

/** A package the site has installed, with the schema version its database records. */
export interface SitePackage {
  name: string;
  type: PackageType;
  version: string | null;
  schemaVersion: number;
  /** The post-updates the site ran for it; null (or absent) when the site's database did not say. */
  postUpdates?: readonly string[] | null;
}

/**
 * A package the target platform offers, with the schema version of its code (highest
 * hook_update_N, or its last removed one), that last removed one, and its post-updates.
 */
export interface TargetPackage extends SitePackage {
  lastRemovedSchema?: number;
  removedPostUpdates?: readonly string[];
}

/** The package that stands for Drupal core in platform scans: compared by version, not by schema. */
export const CORE_PACKAGE = 'drupal';

/**
 * Drupal records this schema version for a module without hook_update_N() (its
 * CORE_MINIMUM_SCHEMA_VERSION), while a platform scan reports 0 for that code: both mean "no updates",
 * and without this a site could never move to the very code it runs on.
 */
const NO_UPDATES_SCHEMA = 8000;

/**
 * Compares what a site has installed with what a target platform offers, per package of the site:
 * missing on the target → warning; target schema lower → error; the site's schema below the
 * target's last removed update, or a post-update the target removed that the site never ran →
 * error (Drupal: update to an intermediate version first); equal → no change; higher, or
 * post-updates the site has not run → upgrade.
 * The core package ("drupal") is compared by version instead: an older core is an error. Packages
 * that only the target has do not matter to the site and are not listed.
 */
export function compareForMigration(
  site: readonly SitePackage[],
  target: readonly TargetPackage[],
): CompatibilityReport {
  const rows = site.map((installed) => compareOne(installed, findTarget(installed, target)));
  rows.sort(byImportanceThenName);
  return {
    rows,
    errors: rows.filter((row) => row.severity === 'error').length,
    warnings: rows.filter((row) => row.severity === 'warning').length,
    upgrades: rows.filter((row) => row.status === 'upgrade').length,
  };
}

/**
 * Compares dotted versions numerically, part by part (10.10 > 10.9, 10.3 = 10.3.0); a pre-release
 * (10.3.0-rc1) comes before its release. Returns a negative number, 0 or a positive number.
 */
export function compareVersions(a: string, b: string): number {
  const [left, right] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < Math.max(left.parts.length, right.parts.length); i++) {
    const difference = (left.parts[i] ?? 0) - (right.parts[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  if (left.preRelease === right.preRelease) return 0;
  if (left.preRelease === null) return 1;
  if (right.preRelease === null) return -1;
  return left.preRelease < right.preRelease ? -1 : 1;
}

function parseVersion(version: string): { parts: number[]; preRelease: string | null } {
  const trimmed = version.trim();
  const dash = trimmed.indexOf('-');
  const release = dash === -1 ? trimmed : trimmed.slice(0, dash);
  const preRelease = dash === -1 ? null : trimmed.slice(dash + 1);
  // Non-numeric parts (10.3.x-dev) count as 0: enough to order releases of one branch.
  const parts = release.split('.').map((part) => Number.parseInt(part, 10) || 0);
  return { parts, preRelease };
}

function findTarget(installed: SitePackage, target: readonly TargetPackage[]): TargetPackage | undefined {
  // Extension machine names are unique in a codebase; prefer the same type if a name appears twice.
  return (
    target.find((offered) => offered.name === installed.name && offered.type === installed.type) ??
    target.find((offered) => offered.name === installed.name)
  );
}

function compareOne(installed: SitePackage, offered: TargetPackage | undefined): CompatibilityRow {
  const base = {
    name: installed.name,
    type: installed.type,
    siteVersion: installed.version,
    targetVersion: offered?.version ?? null,
    siteSchema: installed.schemaVersion,
    targetSchema: offered?.schemaVersion ?? null,
    pendingPostUpdates: offered ? pendingPostUpdates(installed, offered) : 0,
  };
  if (!offered) {
    return {
      ...base,
      status: 'missing',
      severity: 'warning',
      message: `the target platform does not have ${installed.name}: Drupal's updates will probably disable it`,
    };
  }
  return installed.name === CORE_PACKAGE
    ? { ...base, ...compareCore(installed.version, offered.version) }
    : { ...base, ...compareSchema(installed, offered, base.pendingPostUpdates) };
}

type Verdict = Pick<CompatibilityRow, 'status' | 'severity' | 'message'>;

function compareCore(siteVersion: string | null, targetVersion: string | null): Verdict {
  if (siteVersion === null || targetVersion === null) {
    const side = siteVersion === null ? "the site's platform" : 'the target platform';
    return {
      status: 'same',
      severity: 'warning',
      message: `the core version of ${side} is unknown: verify it to compare`,
    };
  }
  const order = compareVersions(targetVersion, siteVersion);
  if (order < 0) {
    return {
      status: 'core-too-old',
      severity: 'error',
      message: `core too old: the target has Drupal ${targetVersion}, older than the site's ${siteVersion}`,
    };
  }
  if (order > 0) {
    return { status: 'upgrade', severity: 'ok', message: `Drupal ${siteVersion} → ${targetVersion}` };
  }
  return { status: 'same', severity: 'ok', message: 'no change' };
}

/** How many of the target's post-updates of a package the site has not run (0 when the site did not say). */
function pendingPostUpdates(installed: SitePackage, offered: TargetPackage): number {
  if (!installed.postUpdates) return 0;
  const ran = new Set(installed.postUpdates);
  return (offered.postUpdates ?? []).filter((name) => !ran.has(name)).length;
}

function compareSchema(installed: SitePackage, offered: TargetPackage, pending: number): Verdict {
  const [siteSchema, targetSchema] = [installed.schemaVersion, offered.schemaVersion];
  const lastRemoved = offered.lastRemovedSchema ?? 0;
  // A schema of 0 is one the site's database does not record (a theme): nothing to compare.
  if (lastRemoved > 0 && siteSchema > 0 && effectiveSchema(siteSchema) < lastRemoved) {
    return {
      status: 'too-old',
      severity: 'error',
      message:
        `too old to update: the site's schema is ${siteSchema}, and the target has removed every update ` +
        `up to ${lastRemoved}; update to an intermediate version first (one that still has those updates)`,
    };
  }
  if (installed.postUpdates) {
    const ran = new Set(installed.postUpdates);
    const missing = (offered.removedPostUpdates ?? []).filter((name) => !ran.has(name));
    if (missing.length > 0) {
      const shown =
        missing.slice(0, 3).join(', ') + (missing.length > 3 ? ` and ${missing.length - 3} more` : '');
      return {
        status: 'too-old',
        severity: 'error',
        message:
          `too old to update: the site never ran the post-update${missing.length === 1 ? '' : 's'} ${shown}, ` +
          `which the target has removed; update to an intermediate version first`,
      };
    }
  }
  const postUpdateText = pending === 0 ? '' : `${pending} post-update${pending === 1 ? '' : 's'}`;
  const order = effectiveSchema(targetSchema) - effectiveSchema(siteSchema);
  if (order < 0) {
    return {
      status: 'downgrade',
      severity: 'error',
      message: `schema downgrade: the target's code is at ${targetSchema}, the site's database at ${siteSchema}; a site cannot move to older code`,
    };
  }
  if (order > 0) {
    return {
      status: 'upgrade',
      severity: 'ok',
      message:
        `database updates to run: schema ${siteSchema} → ${targetSchema}` +
        (postUpdateText ? `, and ${postUpdateText}` : ''),
    };
  }
  if (pending > 0) {
    return { status: 'upgrade', severity: 'ok', message: `database updates to run: ${postUpdateText}` };
  }
  const newCode = installed.version !== offered.version && offered.version !== null;
  return {
    status: 'same',
    severity: 'ok',
    message: newCode
      ? `no database updates (code ${installed.version ?? 'unknown'} → ${offered.version})`
      : 'no change',
  };
}

function effectiveSchema(schema: number): number {
  return schema === 0 ? NO_UPDATES_SCHEMA : schema;
}

const SEVERITY_RANK: Record<CompatibilitySeverity, number> = { error: 0, warning: 1, ok: 2 };

function importance(row: CompatibilityRow): number {
  return row.severity === 'ok' && row.status !== 'upgrade'
    ? SEVERITY_RANK.ok + 1
    : SEVERITY_RANK[row.severity];
}

function byImportanceThenName(a: CompatibilityRow, b: CompatibilityRow): number {
  return importance(a) - importance(b) || a.name.localeCompare(b.name) || a.type.localeCompare(b.type);
}
