import { compareForMigration, type CompatibilityReport } from '../packages/compatibility.js';
import type { PackagesRepository } from '../packages/packages.repository.js';

/**
 * Aegir's comparison of a site's packages (and its platform's core) with a target platform's: what
 * a migrate checks first, and what a drain chooses each site's platform by.
 */
export async function siteCompatibility(
  packages: Pick<PackagesRepository, 'list'>,
  site: { id: string; platformId: string },
  targetPlatformId: string,
): Promise<CompatibilityReport> {
  const current = await packages.list({ platformId: site.platformId });
  const installed = await packages.list({ siteId: site.id });
  const core = current.filter((row) => row.type === 'core');
  return compareForMigration([...core, ...installed], await packages.list({ platformId: targetPlatformId }));
}
